"""Conferences and queues, with VirtualPhones on the sandbox, on both transports."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import pytest

from asteramisk.exceptions import HangupException
from asteramisk.server import Server
from asteramisk.testing import SandboxSettings
from asteramisk.testing.phone import VirtualPhone
from asteramisk.ui import VoiceUI

from .test_call_links import PHRASES, music_heard, no_channels_left, no_tasks_left, sound_share
from .test_server_calls import hear_until


@pytest.fixture(params=["ari", "agi"])
def transport(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
async def server(asterisk: SandboxSettings) -> AsyncIterator[Server]:
    async with Server(port=0) as server:
        yield server


@pytest.fixture
async def phones(asterisk: SandboxSettings) -> AsyncIterator[list[VirtualPhone]]:
    async with (
        VirtualPhone("5550171", vocabulary=PHRASES) as a,
        VirtualPhone("5550172", vocabulary=PHRASES) as b,
        VirtualPhone("5550173", vocabulary=PHRASES) as c,
    ):
        yield [a, b, c]


async def until(condition: object, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():  # type: ignore[operator]
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.05)


async def test_a_conference_its_members_say_mute_and_end(
    asterisk: SandboxSettings, server: Server, phones: list[VirtualPhone], transport: str
) -> None:
    room = server.conference("team")
    assert server.conference("team") is room
    outcomes: dict[str, str] = {}

    async def member(ui: VoiceUI) -> None:
        await ui.answer()
        try:
            await ui.join(room, muted=ui.remote_number.endswith("3"))
        except HangupException:
            outcomes[ui.remote_number] = "hung up"
            raise
        outcomes[ui.remote_number] = "returned"
        await ui.say("Thank you for calling.")  # the call is the app's again

    await server.register_extension("2401", call_handler=member, transport=transport)
    a, b, c = [await phone.call("2401") for phone in phones]
    await until(lambda: len(room.members) == 3)
    await asyncio.sleep(1)
    await a.say("Forty two.")
    assert "forty two" in await hear_until(b, "forty two")
    await room.say("Hello world.")  # to everyone
    for call in (a, b, c):
        assert "hello world" in await hear_until(call, "hello world")
    # (members are in the order they joined, which two callers' handlers may swap)
    by_number = {ui.remote_number: ui for ui in room.members}
    muted = by_number["5550173"]  # joined muted
    assert room.is_muted(muted)
    loop = asyncio.get_running_loop()
    started = loop.time()
    await c.say("Twenty.")
    await asyncio.sleep(0.5)
    assert sound_share(a, started, loop.time()) < 0.02  # nobody heard the muted member
    await room.unmute(muted)
    await c.say("Twenty.")
    for call in (a, b):  # (what b heard is read too: the next hear is of what comes next)
        assert "twenty" in await hear_until(call, "twenty")
    await room.mute(by_number["5550172"])
    assert room.is_muted(by_number["5550172"])
    await a.hangup()  # one leaves: its join raises HangupException, the others stay
    await until(lambda: len(room.members) == 2)
    await room.end()  # the others' joins return
    assert room.ended and not room.members
    heard = await asyncio.gather(*(hear_until(call, "calling") for call in (b, c)))
    assert all("thank you for calling" in text for text in heard)
    for call in (b, c):
        await call.wait_hangup(15)
    assert sorted(outcomes.values()) == ["hung up", "returned", "returned"]
    assert server.conference("team") is not room  # a new room of the same name
    await no_channels_left(asterisk)


async def test_a_queue_holds_callers_in_order_until_an_agent_takes_one(
    asterisk: SandboxSettings, server: Server, phones: list[VirtualPhone], transport: str
) -> None:
    queue = server.queue("support", announce_every=2)
    before = asyncio.all_tasks()
    waiting: dict[str, VoiceUI] = {}
    outcomes: dict[str, str] = {}

    async def caller(ui: VoiceUI) -> None:
        await ui.answer()
        waiting[ui.remote_number] = ui
        try:
            await ui.enqueue(queue)
        except HangupException:
            outcomes[ui.remote_number] = "hung up"
            raise
        outcomes[ui.remote_number] = "returned"
        await ui.say("Thank you for calling.")  # the agent left; the caller is still ours

    async def agent(ui: VoiceUI) -> None:
        await ui.answer()
        taken = await queue.next(timeout=10)
        assert taken is not None
        await ui.bridge(taken)

    await server.register_extension("2402", call_handler=caller, transport=transport)
    await server.register_extension("2403", call_handler=agent, transport=transport)
    first = await phones[0].call("2402")
    await until(lambda: len(queue) == 1)
    second = await phones[1].call("2402")
    await until(lambda: len(queue) == 2)
    one, two = waiting["5550171"], waiting["5550172"]
    assert queue.waiting == [one, two] and queue.position(two) == 2
    assert await music_heard(first) > 0.25  # on hold with music
    await until(lambda: ("say", "You are number 2 in line. Please hold.") in two.transcript)
    assert ("say", "You are number 1 in line. Please hold.") in one.transcript
    await second.hangup()  # a caller who hangs up leaves the line
    await until(lambda: len(queue) == 1)
    await until(lambda: outcomes.get("5550172") == "hung up")
    agent_call = await phones[2].call("2403")
    await until(lambda: len(queue) == 0)
    await asyncio.sleep(3)  # an announcement that had begun is said to its end first
    await first.say("Forty two.")
    assert "forty two" in await hear_until(agent_call, "forty two")
    await agent_call.say("Twenty.")
    assert "twenty" in await hear_until(first, "twenty")
    await agent_call.hangup()  # the agent leaves: the caller's enqueue returns
    assert "thank you for calling" in await hear_until(first, "calling")
    await first.wait_hangup(15)
    assert outcomes["5550171"] == "returned"
    assert await queue.next(timeout=0.2) is None
    await no_channels_left(asterisk)
    await no_tasks_left(before)
