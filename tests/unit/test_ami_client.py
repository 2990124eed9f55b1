"""AMIClient against a scripted AMI server on loopback: what a refused login raises, and
that an action the connection lost before Asterisk answered is never sent again."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from asteramisk.asterisk.ami import AMIClient
from asteramisk.exceptions import AsteriskConnectionError, AuthenticationError


class ScriptedAMI:
    """Answers Login with ``login_reply`` (then FullyBooted); every other action is
    recorded, and the first ``Originate`` of a connection cuts it without an answer."""

    def __init__(self, login_reply: str = "Success") -> None:
        self.login_reply = login_reply
        self.actions: list[str] = []
        self.connections = 0
        self._server: asyncio.Server | None = None

    @property
    def port(self) -> int:
        assert self._server is not None
        return int(self._server.sockets[0].getsockname()[1])

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._session, "127.0.0.1", 0)

    def close(self) -> None:
        if self._server is not None:
            self._server.close()

    async def _session(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        writer.write(b"Asterisk Call Manager/11.0.0\r\n")
        try:
            while True:
                request = (await reader.readuntil(b"\r\n\r\n")).decode()
                headers = dict(
                    line.split(": ", 1) for line in request.split("\r\n") if ": " in line
                )
                action, action_id = headers.get("Action", ""), headers.get("ActionID", "")
                if action == "Login":
                    if self.login_reply != "Success":
                        writer.write(
                            f"Response: Error\r\nActionID: {action_id}\r\n"
                            f"Message: {self.login_reply}\r\n\r\n".encode()
                        )
                        continue
                    writer.write(
                        f"Response: Success\r\nActionID: {action_id}\r\n"
                        "Message: Authentication accepted\r\n\r\n"
                        "Event: FullyBooted\r\nStatus: Fully Booted\r\n\r\n".encode()
                    )
                    continue
                self.actions.append(action)
                if action == "Originate":
                    writer.close()  # lost before the answer
                    return
                writer.write(
                    f"Response: Success\r\nActionID: {action_id}\r\nMessage: ok\r\n\r\n".encode()
                )
        except (asyncio.IncompleteReadError, ConnectionError):
            writer.close()


@pytest.fixture
async def scripted() -> AsyncIterator[ScriptedAMI]:
    server = ScriptedAMI()
    await server.start()
    yield server
    server.close()


async def test_an_action_lost_with_the_connection_fails_and_is_never_sent_again(
    scripted: ScriptedAMI,
) -> None:
    """panoramisk re-sends the actions a dropped connection left unanswered once the next
    one is up: an Originate would place a second call (and a restart restart twice)."""
    client = AMIClient("127.0.0.1", scripted.port, "app", "placeholder-secret")
    await asyncio.wait_for(client.connect(), 5)
    with pytest.raises(AsteriskConnectionError, match="not sent again"):
        await client.action({"Action": "Originate", "Channel": "Local/1@x"}, timeout=5)
    await client.wait_connected(10)  # the client reconnected by itself
    assert scripted.connections == 2
    await client.action({"Action": "Ping"})
    await asyncio.sleep(0.3)
    assert scripted.actions == ["Originate", "Ping"]
    await client.close()


async def _refusing(reply: str) -> ScriptedAMI:
    server = ScriptedAMI(login_reply=reply)
    await server.start()
    return server


async def test_a_login_refused_while_asterisk_shuts_down_is_no_credentials_error() -> None:
    """During a restart Asterisk refuses logins with "Asterisk is shutting down": that says
    nothing about the credentials, and the message must not send the user to check them."""
    server = await _refusing("Asterisk is shutting down")
    client = AMIClient("127.0.0.1", server.port, "app", "placeholder-secret")
    with pytest.raises(AsteriskConnectionError, match="shutting down") as raised:
        await asyncio.wait_for(client.connect(), 5)
    assert not isinstance(raised.value, AuthenticationError)
    assert "ASTERISK_AMI_PASS" not in str(raised.value)
    await client.close()
    server.close()


async def test_wrong_credentials_still_name_the_settings() -> None:
    server = await _refusing("Authentication failed")
    client = AMIClient("127.0.0.1", server.port, "app", "placeholder-secret")
    with pytest.raises(AuthenticationError, match="ASTERISK_AMI_PASS"):
        await asyncio.wait_for(client.connect(), 5)
    await client.close()
    server.close()
