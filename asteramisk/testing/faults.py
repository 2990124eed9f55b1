"""A loopback TCP proxy that a test can cut, stall or slow down: faults on a real connection.

Put it between the app and Asterisk (AMI, ARI's http and websocket) or between Asterisk and
the app (FastAGI, AudioSocket, media http), point the app's configuration at it, and break
the link on purpose::

    async with FaultProxy("127.0.0.1", settings.ari_port) as proxy:
        config.ASTERISK_ARI_PORT = proxy.port
        ...
        proxy.down()          # an outage: open connections cut, new ones refused
        await asyncio.sleep(8)
        proxy.up()            # back: the app reconnects by itself

``stall()`` holds every byte without closing anything (a hung peer), ``delay`` adds latency
to each chunk, and ``cut_after(n)`` cuts each connection after ``n`` more bytes, mid-frame.
It listens on loopback only and ends every connection when closed.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

from asteramisk.lifecycle import AsyncResource

__all__ = ["FaultProxy"]

_CHUNK = 65536


class FaultProxy(AsyncResource):
    """Forwards ``127.0.0.1:port`` to ``target_host:target_port`` (see the module)."""

    def __init__(self, target_host: str, target_port: int, *, port: int = 0) -> None:
        self.target = (target_host, int(target_port))
        self.port = port
        self.delay = 0.0
        """Seconds added before each chunk is passed on."""
        self.connections = 0
        """Connections accepted and passed on so far."""
        self._server: asyncio.Server | None = None
        self._links: set[asyncio.Task[Any]] = set()
        self._writers: set[asyncio.StreamWriter] = set()
        self._flowing = asyncio.Event()
        self._flowing.set()
        self._refusing = False
        self._budget: int | None = None

    def __repr__(self) -> str:
        state = "down" if self._refusing else ("stalled" if not self._flowing.is_set() else "up")
        return f"<FaultProxy :{self.port} -> {self.target[0]}:{self.target[1]} {state}>"

    async def _open(self) -> None:
        await self.start()

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", self.port)
        self.port = self._server.sockets[0].getsockname()[1]

    # -- faults ------------------------------------------------------------------------------

    def cut(self) -> None:
        """Close every open connection now, both ways (new ones are still accepted)."""
        for writer in list(self._writers):
            writer.close()

    def down(self) -> None:
        """An outage: cut what is open and refuse new connections until :meth:`up`."""
        self._refusing = True
        self.cut()

    def up(self) -> None:
        """End an outage or a stall."""
        self._refusing = False
        self._flowing.set()

    def stall(self) -> None:
        """Hold every byte, both ways, without closing anything, until :meth:`up`."""
        self._flowing.clear()

    def cut_after(self, count: int) -> None:
        """Cut every connection once ``count`` more bytes have passed (mid-frame)."""
        self._budget = count

    # -- forwarding --------------------------------------------------------------------------

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self._refusing:
            writer.close()
            return
        self._writers.add(writer)  # a cut from now on closes it
        try:
            up_reader, up_writer = await asyncio.open_connection(*self.target)
        except OSError:
            writer.close()
            self._writers.discard(writer)
            return
        if self._refusing or writer.is_closing():  # cut while it connected
            for end in (writer, up_writer):
                end.close()
            self._writers.discard(writer)
            return
        self.connections += 1
        self._writers.add(up_writer)
        link = asyncio.current_task()
        assert link is not None
        self._links.add(link)
        try:
            await asyncio.gather(
                self._pump(reader, up_writer), self._pump(up_reader, writer), return_exceptions=True
            )
        finally:
            for end in (writer, up_writer):
                end.close()
                self._writers.discard(end)
            self._links.discard(link)

    async def _pump(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while data := await reader.read(_CHUNK):
                await self._flowing.wait()
                if self.delay:
                    await asyncio.sleep(self.delay)
                if self._budget is not None:
                    if len(data) >= self._budget:
                        writer.write(data[: self._budget])
                        self._budget = None
                        self.cut()
                        return
                    self._budget -= len(data)
                writer.write(data)
                await writer.drain()
        except (ConnectionError, OSError):
            pass
        finally:
            with contextlib.suppress(OSError, RuntimeError):
                writer.close()

    async def close(self) -> None:
        """Stop listening and end every connection."""
        if self._server is not None:
            self._server.close()
        self.cut()
        if self._links:  # each ends once both its ends are closed
            await asyncio.wait(list(self._links), timeout=2)
        if self._server is not None:
            await self._server.wait_closed()
            self._server = None
