"""Cancelling a wait at the moment its answer arrives cancels it (the answer is not taken).

Python 3.11's ``asyncio.wait_for`` returns the answer and drops the cancellation when both
land in the same loop step; the library waits with ``asyncio.timeout`` so that they do not.
``make_call`` met this race for real: the phone rang before the originate request's answer
was read, and the test cancelling the call waited 30 s for a "no answer" instead.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from asteramisk.asterisk.ami import AMIClient
from asteramisk.asterisk.ari import ARIClient
from asteramisk.ui.text import TextUI


async def test_an_ari_request_cancelled_as_its_answer_arrives_raises_cancelled() -> None:
    answer: asyncio.Future[dict[str, str]] = asyncio.get_running_loop().create_future()

    class Channels:
        async def originate(self, **params: Any) -> dict[str, str]:
            return await answer

    class Client:
        channels = Channels()

    ari = ARIClient("127.0.0.1", 8088, "user", "secret")
    ari._client = Client()
    request = asyncio.create_task(ari.request("channels", "originate", endpoint="PJSIP/1"))
    await asyncio.sleep(0)
    answer.set_result({"id": "channel-1"})
    request.cancel()
    with pytest.raises(asyncio.CancelledError):
        await request


async def _fake_ami(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """Logs anyone in; answers ``Action: Ping`` and sends an event in the same packet."""
    writer.write(b"Asterisk Call Manager/9.0.0\r\n")
    while True:
        block = await reader.readuntil(b"\r\n\r\n")
        headers = dict(
            line.split(": ", 1) for line in block.decode().strip().split("\r\n") if ": " in line
        )
        action_id = headers.get("ActionID", "")
        reply = f"Response: Success\r\nActionID: {action_id}\r\n"
        if headers.get("Action") == "Login":
            writer.write(f"{reply}Message: Authentication accepted\r\n\r\n".encode())
            writer.write(b"Event: FullyBooted\r\nStatus: Fully Booted\r\n\r\n")
        else:
            writer.write(f"{reply}Ping: Pong\r\n\r\nEvent: CancelNow\r\n\r\n".encode())
        await writer.drain()


async def test_an_ami_action_cancelled_as_its_answer_arrives_raises_cancelled(
    unused_tcp_port: int,
) -> None:
    server = await asyncio.start_server(_fake_ami, "127.0.0.1", unused_tcp_port)
    async with server, AMIClient("127.0.0.1", unused_tcp_port, "user", "secret") as ami:
        # The event's callback runs in the same data_received as the answer to the Ping.
        ping = asyncio.create_task(ami.action({"Action": "Ping"}))
        ami.on_event("CancelNow", lambda event: ping.cancel())
        with pytest.raises(asyncio.CancelledError):
            await ping
        # and the connection still answers
        assert (await ami.action({"Action": "Ping"})).success


async def test_a_prompt_cancelled_as_the_reply_arrives_leaves_the_reply_for_the_next() -> None:
    async def send(to: str, sender: str, body: str) -> None:
        pass

    ui = TextUI(send, remote_number="5550100", local_number="3000")
    asking = asyncio.create_task(ui.prompt("Your name?"))
    for _ in range(5):
        await asyncio.sleep(0)
    ui.deliver("Ann")
    asking.cancel()
    with pytest.raises(asyncio.CancelledError):
        await asking
    assert await ui.prompt("Your name?") == "Ann"
