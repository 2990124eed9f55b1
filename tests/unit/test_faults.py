"""The fault proxy on a loopback echo server."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from asteramisk.testing.faults import FaultProxy


async def _echo(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    while data := await reader.read(4096):
        writer.write(data)
        await writer.drain()
    writer.close()


@pytest.fixture
async def proxy() -> AsyncIterator[FaultProxy]:
    server = await asyncio.start_server(_echo, "127.0.0.1", 0)
    async with FaultProxy("127.0.0.1", server.sockets[0].getsockname()[1]) as proxy:
        yield proxy
    server.close()


async def _connect(proxy: FaultProxy) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    return await asyncio.open_connection("127.0.0.1", proxy.port)


async def test_it_passes_bytes_and_cuts_them_off(proxy: FaultProxy) -> None:
    reader, writer = await _connect(proxy)
    writer.write(b"hello")
    assert await asyncio.wait_for(reader.readexactly(5), 2) == b"hello"
    proxy.cut_after(3)
    writer.write(b"abcdef")
    rest = await asyncio.wait_for(reader.read(), 2)  # cut mid-frame: at most 3 bytes passed
    assert len(rest) <= 3 and b"abcdef".startswith(rest)
    writer.close()


async def test_stall_holds_and_up_releases(proxy: FaultProxy) -> None:
    reader, writer = await _connect(proxy)
    proxy.stall()
    writer.write(b"held")
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(reader.readexactly(4), 0.3)
    proxy.up()
    assert await asyncio.wait_for(reader.readexactly(4), 2) == b"held"
    writer.close()


async def test_down_cuts_and_refuses_until_up(proxy: FaultProxy) -> None:
    reader, writer = await _connect(proxy)
    proxy.down()
    assert await asyncio.wait_for(reader.read(), 2) == b""
    refused, _ = await _connect(proxy)
    assert await asyncio.wait_for(refused.read(), 2) == b""
    proxy.up()
    reader, writer = await _connect(proxy)
    writer.write(b"back")
    assert await asyncio.wait_for(reader.readexactly(4), 2) == b"back"
    writer.close()
