"""AMI login answers from a scripted AMI server on loopback: what each refusal raises."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from asteramisk.asterisk.ami import AMIClient
from asteramisk.exceptions import AsteriskConnectionError, AuthenticationError


async def _serve(refusal: str) -> asyncio.Server:
    async def session(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(b"Asterisk Call Manager/11.0.0\r\n")
        request = (await reader.readuntil(b"\r\n\r\n")).decode()
        headers = dict(line.split(": ", 1) for line in request.split("\r\n") if ": " in line)
        writer.write(
            f"Response: Error\r\nActionID: {headers.get('ActionID', '')}\r\n"
            f"Message: {refusal}\r\n\r\n".encode()
        )
        await writer.drain()
        await reader.read()
        writer.close()

    return await asyncio.start_server(session, "127.0.0.1", 0)


@pytest.fixture
async def shutting_down() -> AsyncIterator[int]:
    server = await _serve("Asterisk is shutting down")
    yield server.sockets[0].getsockname()[1]
    server.close()


@pytest.fixture
async def wrong_secret() -> AsyncIterator[int]:
    server = await _serve("Authentication failed")
    yield server.sockets[0].getsockname()[1]
    server.close()


async def test_a_login_refused_while_asterisk_shuts_down_is_no_credentials_error(
    shutting_down: int,
) -> None:
    """During a restart Asterisk refuses logins with "Asterisk is shutting down": that says
    nothing about the credentials, and the message must not send the user to check them."""
    client = AMIClient("127.0.0.1", shutting_down, "app", "placeholder-secret")
    with pytest.raises(AsteriskConnectionError, match="shutting down") as raised:
        await asyncio.wait_for(client.connect(), 5)
    assert not isinstance(raised.value, AuthenticationError)
    assert "ASTERISK_AMI_PASS" not in str(raised.value)
    await client.close()


async def test_wrong_credentials_still_name_the_settings(wrong_secret: int) -> None:
    client = AMIClient("127.0.0.1", wrong_secret, "app", "placeholder-secret")
    with pytest.raises(AuthenticationError, match="ASTERISK_AMI_PASS"):
        await asyncio.wait_for(client.connect(), 5)
    await client.close()
