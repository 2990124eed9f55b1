"""An asyncio FastAGI server: every AGI call from Asterisk runs a handler coroutine.

::

    from asteramisk.agi import FastAGIServer, core

    async def handler(agi):
        await agi.execute(core.Answer())
        digits, timed_out = await agi.execute(core.GetData("beep", timeout=3000, max_digits=4))

    server = FastAGIServer(host="127.0.0.1", port=4573)
    server.add_route("menu", handler)        # AGI(agi://127.0.0.1:4573/menu) in the dialplan
    async with server:
        await server.serve_forever()

Each call gets its own task. ``agi.env`` holds the ``agi_*`` variables, ``agi.args`` the
``agi_arg_N`` arguments and ``agi.query`` the URL's query (``agi://host/menu?lang=fr``).
When the handler returns, the connection is closed and the dialplan goes on. An unknown route or
a handler that raises is logged and its connection closed; the other calls are untouched. When
the caller hangs up, the next ``execute`` raises :class:`~asteramisk.agi.core.AGIHangup`
(a :class:`~asteramisk.exceptions.HangupException`).

The server binds 127.0.0.1 unless told otherwise, and its :meth:`~FastAGIServer.url` names
``advertise_host`` (default: the bind address); ``allowed_clients`` limits which addresses
may connect. ``backlog`` is how many calls the kernel holds while the server is busy
(:data:`~asteramisk.lifecycle.LISTEN_BACKLOG`, 1024, unless told otherwise). A connection
that sends no AGI environment within ``environment_timeout`` seconds (Asterisk sends it at
once) is closed, so idle connections cannot pile up.

The protocol work is done by the sans-I/O :mod:`asteramisk.agi.protocol`, in an
``asyncio.Protocol`` with no stream layer between: a command costs one write and one wake-up.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import urllib.parse
from collections import deque
from collections.abc import Awaitable, Callable, Iterable
from typing import Any, TypeVar, cast

from asteramisk.agi import core
from asteramisk.agi.protocol import (
    AGIParser,
    Environment,
    HangupNotice,
    ProtocolError,
    Response,
)
from asteramisk.lifecycle import LISTEN_BACKLOG, AsyncResource

__all__ = ["AGI", "FastAGIServer", "Handler"]

log = logging.getLogger(__name__)

T = TypeVar("T")
Handler = Callable[["AGI"], Awaitable[object]]


class _Stop(core.GetFullVariable):
    """Sent to stop an interruptible command; Asterisk answers ``200 result=1 (TOKEN)``."""

    TOKEN = "asteramisk-stop"
    __slots__ = ()

    def __init__(self) -> None:
        super().__init__(self.TOKEN)


class AGI(asyncio.Protocol):
    """One AGI session (one call). Handlers receive it and ``await agi.execute(command)``."""

    def __init__(self, server: FastAGIServer) -> None:
        self._server = server
        self._parser = AGIParser()
        self._transport: asyncio.Transport | None = None
        # Sent and not yet answered: the command Asterisk runs, and after one stopped on
        # purpose, the command that stopped it. Then, in order, those not yet sent.
        self._waiting: deque[tuple[asyncio.Future[Any], core.Action[Any]]] = deque()
        self._queued: deque[tuple[asyncio.Future[Any], core.Action[Any]]] = deque()
        self._task: asyncio.Future[object] | None = None
        self._loop = asyncio.get_running_loop()
        self.env: dict[str, str] = {}
        self.args: list[str] = []
        self.query: dict[str, str] = {}
        self.route = ""
        self.peer = ""
        self.hung_up = False
        self.closed = False
        self._hello: asyncio.TimerHandle | None = None

    def __repr__(self) -> str:
        state = "closed" if self.closed else ("hung up" if self.hung_up else "open")
        channel = self.env.get("agi_channel", "?")
        return f"<AGI {channel} route={self.route!r} {state}>"

    # -- asyncio.Protocol --------------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports are not asyncio.Transport subclasses, only alike.
        transport = cast(asyncio.Transport, transport)
        self._transport = transport
        peer = transport.get_extra_info("peername")
        self.peer = str(peer[0]) if peer else ""
        if not self._server._allowed(self.peer):
            log.warning("FastAGI connection from %s refused: not in allowed_clients", self.peer)
            self.closed = True
            transport.close()
            return
        self._server._sessions.add(self)
        # Asterisk sends a call's environment as soon as it connects: a connection that
        # sends none is not Asterisk's, and is not held.
        self._hello = self._loop.call_later(self._server.environment_timeout, self._no_hello)

    def _no_hello(self) -> None:
        if not self.env and not self.closed:
            log.warning("FastAGI %s sent no AGI environment in time; closing it", self.peer)
            self._server.idle_closed += 1
            self.close()

    def data_received(self, data: bytes) -> None:
        response = self._parser.feed_answer(data)
        if response is not None:
            result = response.result
            if result and result != "-1" and self._waiting:
                # The common case in full, with no call of our own: a 200 answer with a result
                # other than -1 (what it means is the command's to say), for the oldest
                # command waiting. Anything else goes the general way, _answer.
                future, action = self._waiting.popleft()
                if not future.done():
                    try:
                        value = action.process_response(response)
                    except Exception as exc:
                        future.set_exception(exc)
                    else:
                        future.set_result(value)
                else:
                    self._dropped(response)
                if self._queued:
                    self._send_next()
                return
            self._answer(response)
            return
        try:
            events = self._parser.feed(data)
        except ProtocolError as exc:
            log.warning("FastAGI %s: %s; closing the connection", self.peer, exc)
            self._fail(core.AGISIGPIPEHangup(f"protocol error: {exc}"))
            self.close()
            return
        if len(events) > 1 and any(type(event) is HangupNotice for event in events):
            self.hung_up = True  # before the answers it came with: a -1 among them is a hangup
        for event in events:
            if type(event) is Response:
                self._answer(event)
            elif type(event) is HangupNotice:
                self.hung_up = True
            elif type(event) is Environment:
                self._start(event.variables)

    def _answer(self, response: Response) -> None:
        """Turn the answer into the value (or error) of the oldest command waiting for one."""
        if response.code < 200:
            return  # provisional ("100 result=0 Trying..." of GOSUB): wait on
        if not self._waiting:
            log.warning("FastAGI %s: unexpected response %r", self.peer, response.line)
            return
        future, action = self._waiting.popleft()
        if future.done():
            self._dropped(response)
        else:
            try:
                value = self._result(action, response)
            except Exception as exc:
                future.set_exception(exc)
            else:
                future.set_result(value)
        if self._queued:
            self._send_next()

    def _dropped(self, response: Response) -> None:
        """The answer to a command whose task stopped waiting: dropped.

        If the command was stopped on purpose, and this is the answer to the command that
        stopped it, the stopped command sent none: both are done.
        """
        if (
            self._waiting
            and type(self._waiting[0][1]) is _Stop
            and response.result == "1"
            and response.data == _Stop.TOKEN
        ):
            self._waiting.popleft()

    def _send_next(self) -> None:
        """Send the oldest command still wanted, once Asterisk has answered the one before."""
        while self._queued and not self._waiting:
            future, action = self._queued.popleft()
            if future.done():
                continue  # cancelled before it was sent: never sent
            if self.closed or self._transport is None:
                future.set_exception(core.AGISIGPIPEHangup("the connection to Asterisk is closed"))
            elif self.hung_up:
                future.set_exception(core.AGIResultHangup("the caller hung up"))
            else:
                self._waiting.append((future, action))
                self._transport.write(action.command)

    def _stop_if_cancelled(self, future: asyncio.Future[Any]) -> None:
        """An interruptible command's task stopped waiting: if Asterisk runs the command,
        send a command that stops it (see :attr:`~asteramisk.agi.core.Action.interruptible`)."""
        if not future.cancelled() or self.closed or self.hung_up or self._transport is None:
            return  # after a hangup the command ends by itself, answering -1
        if len(self._waiting) == 1 and self._waiting[0][0] is future:
            done: asyncio.Future[Any] = self._loop.create_future()
            done.cancel()  # nobody waits for its value: its answer is dropped
            stop = _Stop()
            self._waiting.append((done, stop))
            self._transport.write(stop.command)

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        if self._hello is not None:
            self._hello.cancel()
        self._fail(core.AGISIGPIPEHangup("the connection to Asterisk closed"))
        self._server._sessions.discard(self)

    def _fail(self, exc: BaseException) -> None:
        for waiting in (self._waiting, self._queued):
            while waiting:
                future, _action = waiting.popleft()
                if not future.done():
                    future.set_exception(exc)

    def _start(self, env: dict[str, str]) -> None:
        if self._hello is not None:
            self._hello.cancel()
        self.env = env
        script = env.get("agi_network_script", "")
        path, _, query = script.partition("?")
        self.route = path.strip("/")
        self.query = dict(urllib.parse.parse_qsl(query))
        self.args = []
        while (arg := env.get(f"agi_arg_{len(self.args) + 1}")) is not None:
            self.args.append(arg)  # Asterisk numbers them from 1, with no gap
        handler = self._server._routes.get(self.route, self._server._default)
        if handler is None:
            log.warning("FastAGI %s: no route %r; closing", self.peer, self.route)
            self.close()
            return
        try:
            # The handler's coroutine is the task itself, with no wrapper coroutine around
            # it: every command's wake-up then resumes one coroutine, not two.
            self._task = asyncio.ensure_future(handler(self), loop=self._loop)
        except Exception:
            log.exception("FastAGI handler for route %r did not start", self.route)
            self.close()
            return
        self._server._tasks.add(self._task)
        self._task.add_done_callback(self._finished)

    def _finished(self, task: asyncio.Future[object]) -> None:
        """The handler returned, raised or was cancelled: log what it left and close."""
        self._server._tasks.discard(task)
        self.close()
        if task.cancelled():
            return
        exc = task.exception()
        if exc is None:
            return
        if isinstance(exc, core.AGIHangup):
            log.debug("FastAGI %s: caller hung up", self.env.get("agi_channel"))
        else:
            log.error(
                "FastAGI handler for route %r raised on channel %s",
                self.route,
                self.env.get("agi_channel"),
                exc_info=exc,
            )

    # -- the handler's API --------------------------------------------------------------------

    def execute(self, action: core.Action[T]) -> asyncio.Future[T]:
        """Send ``action`` to Asterisk; ``await`` the result for its value.

        The command is sent at once, or once Asterisk has answered the call's command before
        it (Asterisk runs one at a time). Cancelling the wait for a command Asterisk runs
        leaves it to finish, except for the
        :attr:`~asteramisk.agi.core.Action.interruptible` ones (``STREAM FILE``, ``GET
        OPTION``, ``GET DATA``, ``WAIT FOR DIGIT``), which the server stops at once; its
        answer is never taken for another command's. The returned future gets the value of
        :meth:`~asteramisk.agi.core.Action.process_response` or one of the ``AGI*`` errors of
        :mod:`~asteramisk.agi.core`. After the caller hung up, or once the connection is closed,
        it raises :class:`~asteramisk.agi.core.AGIHangup` right away.
        """
        if self.hung_up:
            raise core.AGIResultHangup("the caller hung up")
        if self.closed or self._transport is None:
            raise core.AGISIGPIPEHangup("the connection to Asterisk is closed")
        line = action.command  # encoded (and refused if it holds CR/LF) before anything is sent
        # Asterisk runs one command at a time, and a command line that arrives while STREAM
        # FILE, GET OPTION, GET DATA or WAIT FOR DIGIT runs stops that command. So commands
        # from several tasks are sent one at a time, in the order given: the next one when
        # Asterisk has answered the one before. The answer is turned into a value as it
        # arrives (in data_received): awaiting costs the handler one wake-up per command and
        # no coroutine of its own.
        future: asyncio.Future[T] = self._loop.create_future()
        if self._waiting:
            self._queued.append((future, action))
        else:
            self._waiting.append((future, action))
            self._transport.write(line)
        if action._interrupts:
            future.add_done_callback(self._stop_if_cancelled)
        return future

    def _result(self, action: core.Action[T], response: Response) -> T:
        code = response.code
        if code == 200:
            if response.result is None:
                raise core.AGINoResultError(f"no result in {response.line!r}", response)
            if response.result == "-1" and self.hung_up:
                raise core.AGIResultHangup("the caller hung up", response)
            return action.process_response(response)
        if code == 511:
            if self.hung_up:
                raise core.AGIResultHangup("the caller hung up", response)
            raise core.AGIDeadChannelError(response.line, response)
        if code == 510:
            raise core.AGIInvalidCommandError(f"{action.name}: {response.line}", response)
        if code == 520:
            raise core.AGIUsageError(response.usage or response.line, response)
        raise core.AGIUnknownError(f"unknown response code: {response.line!r}", response)

    @property
    def channel(self) -> str:
        """The channel name (``agi_channel``)."""
        return self.env.get("agi_channel", "")

    def close(self) -> None:
        """Close the connection; Asterisk continues the dialplan after the AGI() call."""
        if self._transport is not None and not self._transport.is_closing():
            self._transport.close()
        self.closed = True


class FastAGIServer(AsyncResource):
    """A FastAGI server (see the module docstring)."""

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 4573,
        *,
        allowed_clients: Iterable[str] | None = None,
        advertise_host: str = "",
        default_handler: Handler | None = None,
        backlog: int = LISTEN_BACKLOG,
        environment_timeout: float = 5.0,
    ) -> None:
        self.host, self.port, self.advertise_host = host, port, advertise_host or host
        self.backlog = backlog
        self.environment_timeout = environment_timeout
        """Seconds a connection may take to send its AGI environment before it is closed."""
        self.idle_closed = 0
        """Connections closed because they sent no environment in time."""
        self._routes: dict[str, Handler] = {}
        self._default = default_handler
        self._networks = (
            [ipaddress.ip_network(client, strict=False) for client in allowed_clients]
            if allowed_clients is not None
            else None
        )
        self._server: asyncio.Server | None = None
        self._sessions: set[AGI] = set()
        self._tasks: set[asyncio.Future[object]] = set()

    def __repr__(self) -> str:
        state = "serving" if self._server is not None else "stopped"
        return f"<FastAGIServer {self.host}:{self.port} {state} calls={len(self._tasks)}>"

    def url(self, route: str, *args: str) -> str:
        """The ``AGI()`` argument that reaches ``route`` here, with ``args`` for the handler."""
        return f"agi://{self.advertise_host}:{self.port}/{','.join((route, *args))}"

    def add_route(self, path: str, handler: Handler) -> None:
        """Serve ``agi://host:port/<path>`` with ``handler(agi)``."""
        self._routes[path.strip("/")] = handler

    def remove_route(self, path: str) -> None:
        self._routes.pop(path.strip("/"), None)

    def _allowed(self, peer: str) -> bool:
        if self._networks is None:
            return True
        try:
            address = ipaddress.ip_address(peer)
        except ValueError:
            return False
        return any(address in network for network in self._networks)

    @property
    def calls(self) -> int:
        """How many handlers are running."""
        return len(self._tasks)

    async def start(self) -> None:
        """Start listening (port 0 picks a free port, then found in ``port``)."""
        if self._server is not None:
            return
        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(
            lambda: AGI(self), self.host, self.port, reuse_address=True, backlog=self.backlog
        )
        self.port = self._server.sockets[0].getsockname()[1]
        log.info("FastAGI server listening on %s:%s", self.host, self.port)

    async def serve_forever(self) -> None:
        """Serve until cancelled (raises ``CancelledError``) or closed (returns)."""
        await self.start()
        assert self._server is not None
        try:
            await self._server.serve_forever()
        except asyncio.CancelledError:
            task = asyncio.current_task()
            closed = self._server is None or not self._server.is_serving()
            if not closed or (task is not None and task.cancelling()):
                raise  # the caller cancelled us: the cancellation goes on

    async def close(self, grace: float = 5.0) -> None:
        """Stop accepting calls, give running handlers ``grace`` seconds, cancel the rest."""
        server, self._server = self._server, None
        if server is not None:
            server.close()
        tasks = set(self._tasks)
        if tasks:
            _done, pending = await asyncio.wait(tasks, timeout=grace)
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)
        for session in list(self._sessions):
            session.close()
        if server is not None:
            await server.wait_closed()

    async def _open(self) -> None:
        await self.start()
