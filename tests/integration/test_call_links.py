"""Hold with music, bridges and warm transfers, heard by VirtualPhones on the sandbox.

The sandbox has Debian's music on hold (asterisk-moh-opsound-gsm) as its ``default`` class.
Music is checked as a phone hears it: sound in a quarter of the frames at least while on hold
(the tracks have quiet passages; silence has none), none after.
"""

from __future__ import annotations

import asyncio
import math
import struct
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from asteramisk.asterisk.ari import ARIClient
from asteramisk.exceptions import CallFailedException, HangupException, PlaybackError
from asteramisk.media.format import write_wav
from asteramisk.server import Server
from asteramisk.testing import SandboxSettings
from asteramisk.testing.phone import PhoneCall, VirtualPhone
from asteramisk.ui import VoiceUI

from .test_server_calls import hear_until

CALLER, TARGET = "5550161", "5550162"
PHRASES = ["hello world", "thank you for calling", "forty two", "twenty"]


@pytest.fixture(params=["ari", "agi"])
def transport(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
async def server(asterisk: SandboxSettings) -> AsyncIterator[Server]:
    async with Server(port=0) as server:
        yield server


@pytest.fixture
async def caller(asterisk: SandboxSettings) -> AsyncIterator[VirtualPhone]:
    async with VirtualPhone(CALLER, vocabulary=PHRASES) as phone:
        yield phone


@pytest.fixture
async def target(asterisk: SandboxSettings) -> AsyncIterator[VirtualPhone]:
    async with VirtualPhone(TARGET, vocabulary=PHRASES) as phone:
        yield phone


def sound_share(call: PhoneCall, start: float, end: float) -> float:
    """The share of 20 ms frames between ``start`` and ``end`` (loop time) in which the
    phone heard sound."""
    frames = sum(1 for at in call.heard_at if start <= at < end)
    return frames / ((end - start) / 0.02)


async def music_heard(call: PhoneCall, seconds: float = 2.0) -> float:
    """Listen for ``seconds`` from now: the share of them with sound."""
    start = asyncio.get_running_loop().time()
    await asyncio.sleep(seconds)
    return sound_share(call, start, start + seconds)


async def hears_goodbye(call: PhoneCall) -> None:
    """The app says "Thank you for calling." and its handler ends: the call is hung up."""
    assert "thank you for calling" in await hear_until(call, "calling")
    await call.wait_hangup(15)


async def no_channels_left(settings: SandboxSettings, timeout: float = 10.0) -> None:
    """Wait until Asterisk has no SIP channel up (nothing left behind by a test)."""
    async with ARIClient(app="asteramisk-leftovers") as ari:
        deadline = time.monotonic() + timeout
        while True:
            names = [c.json["name"] for c in await ari.request("channels", "list")]
            left = [name for name in names if name.startswith(("PJSIP/", "Snoop/", "Audio"))]
            if not left:
                return
            assert time.monotonic() < deadline, f"left up in Asterisk: {left}"
            await asyncio.sleep(0.1)


async def no_tasks_left(before: set[asyncio.Task[object]], timeout: float = 5.0) -> None:
    """Wait until the tasks running now are those of ``before`` (and this one): nothing the
    calls started is left in the app."""
    deadline = time.monotonic() + timeout
    while True:
        left = [
            task
            for task in asyncio.all_tasks() - before
            if task is not asyncio.current_task() and not task.done()
        ]
        if not left:
            return
        assert time.monotonic() < deadline, f"tasks left in the app: {left}"
        await asyncio.sleep(0.05)


async def test_hold_plays_music_until_unhold(
    server: Server, caller: VirtualPhone, transport: str
) -> None:
    loop = asyncio.get_running_loop()
    held: asyncio.Future[None] = loop.create_future()
    unheld: asyncio.Future[float] = loop.create_future()
    release = asyncio.Event()

    async def handler(ui: VoiceUI) -> None:
        await ui.answer()
        await ui.hold()
        held.set_result(None)
        await release.wait()
        await ui.unhold()
        unheld.set_result(loop.time())
        await asyncio.sleep(1.5)
        await ui.say("Thank you for calling.")

    await server.register_extension("2301", call_handler=handler, transport=transport)
    call = await caller.call("2301")
    await asyncio.wait_for(held, 15)
    await asyncio.sleep(1)
    assert await music_heard(call) > 0.25  # music, not silence
    release.set()
    stopped = await asyncio.wait_for(unheld, 10)
    await asyncio.sleep(1.4)
    assert sound_share(call, stopped + 0.3, stopped + 1.3) < 0.05  # and it stopped
    await hears_goodbye(call)


async def test_a_music_class_asterisk_lacks_raises_and_the_call_goes_on(
    server: Server, caller: VirtualPhone, transport: str
) -> None:
    """Never silent: Asterisk would accept the class and play nothing."""
    failed: asyncio.Future[PlaybackError | None] = asyncio.get_running_loop().create_future()

    async def handler(ui: VoiceUI) -> None:
        await ui.answer()
        try:
            await ui.hold("no-such-class")
        except PlaybackError as exc:
            failed.set_result(exc)
        else:
            failed.set_result(None)
        await ui.say("Thank you for calling.")

    await server.register_extension("2302", call_handler=handler, transport=transport)
    call = await caller.call("2302")
    error = await asyncio.wait_for(failed, 15)
    assert error is not None and "'no-such-class'" in str(error) and "default" in str(error)
    await hears_goodbye(call)


async def test_hold_music_of_the_apps_own_files_loops(
    server: Server, caller: VirtualPhone, transport: str, tmp_path: Path
) -> None:
    tune = b"".join(
        struct.pack("<h", int(6000 * math.sin(2 * math.pi * 440 * n / 8000))) for n in range(8000)
    )
    write_wav(tmp_path / "tune.wav", tune)  # 1 s: heard for longer only if it loops
    loop = asyncio.get_running_loop()
    held: asyncio.Future[Exception | None] = loop.create_future()
    release = asyncio.Event()

    async def handler(ui: VoiceUI) -> None:
        await ui.answer()
        try:
            await ui.hold(music=[str(tmp_path / "tune.wav")])
        except NotImplementedError as exc:
            held.set_result(exc)
            return
        held.set_result(None)
        await release.wait()
        await ui.say("Thank you for calling.")  # ends the hold first

    await server.register_extension("2303", call_handler=handler, transport=transport)
    call = await caller.call("2303")
    error = await asyncio.wait_for(held, 15)
    if transport == "agi":
        assert error is not None and "ARI" in str(error)
        await call.wait_hangup(15)
        return
    await asyncio.sleep(1.5)
    assert await music_heard(call, 2.5) > 0.8  # the 1 s tune, looping
    release.set()
    await hears_goodbye(call)


async def test_bridge_connects_two_calls_until_one_hangs_up(
    asterisk: SandboxSettings,
    server: Server,
    caller: VirtualPhone,
    target: VirtualPhone,
    transport: str,
) -> None:
    waiting: asyncio.Queue[VoiceUI] = asyncio.Queue()
    bridged: asyncio.Future[str] = asyncio.get_running_loop().create_future()
    first_done = asyncio.Event()

    async def first(ui: VoiceUI) -> None:
        await ui.answer()
        await ui.hold()
        waiting.put_nowait(ui)
        await first_done.wait()

    async def agent(ui: VoiceUI) -> None:
        await ui.answer()
        other = await asyncio.wait_for(waiting.get(), 15)
        await ui.bridge(other)  # takes it off hold
        bridged.set_result("returned")
        await ui.say("Thank you for calling.")  # the agent's call is the app's again

    await server.register_extension("2304", call_handler=first, transport=transport)
    await server.register_extension("2305", call_handler=agent, transport=transport)
    waiting_call = await caller.call("2304")
    await asyncio.sleep(1)
    agent_call = await target.call("2305")
    await asyncio.sleep(1.5)
    await waiting_call.say("Forty two.")
    assert "forty two" in await hear_until(agent_call, "forty two")
    await agent_call.say("Twenty.")
    assert "twenty" in await hear_until(waiting_call, "twenty")
    await waiting_call.hangup()  # the caller leaves: the bridge ends, the agent stays
    assert await asyncio.wait_for(bridged, 10) == "returned"
    assert "thank you for calling" in await hear_until(agent_call, "calling")
    await agent_call.wait_hangup(15)
    first_done.set()
    await no_channels_left(asterisk)


async def test_warm_transfer_announces_then_connects_and_leaves_nothing_behind(
    asterisk: SandboxSettings,
    server: Server,
    caller: VirtualPhone,
    target: VirtualPhone,
    transport: str,
) -> None:
    handed: asyncio.Future[None] = asyncio.get_running_loop().create_future()
    before = asyncio.all_tasks()

    async def front_desk(ui: VoiceUI) -> None:
        await ui.answer()
        supervisor = await ui.start_transfer(TARGET)  # the caller hears music meanwhile
        await supervisor.say("Hello world.")  # announce the caller
        await ui.complete_transfer(supervisor)
        handed.set_result(None)  # and the handler ends; the two stay connected

    await server.register_extension("2306", call_handler=front_desk, transport=transport)
    call = await caller.call("2306")
    ringing = await target.incoming_call()
    assert ringing.caller_number == "2306"  # the transfer comes from the number called
    await asyncio.sleep(1)
    assert await music_heard(call) > 0.25  # the caller waits with music
    supervisor = await ringing.answer()
    assert "hello world" in await hear_until(supervisor, "hello world")
    await asyncio.wait_for(handed, 10)
    await asyncio.sleep(1)
    await call.say("Forty two.")
    assert "forty two" in await hear_until(supervisor, "forty two")
    assert server.active_calls == 1  # connected, with no handler running
    await supervisor.hangup()  # one side leaves: the server hangs up the other
    await call.wait_hangup(10)
    deadline = time.monotonic() + 5
    while server.active_calls and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
    assert not server.active_calls
    await no_channels_left(asterisk)
    await no_tasks_left(before)


async def test_cancel_transfer_hangs_up_the_target_and_takes_the_caller_off_hold(
    asterisk: SandboxSettings,
    server: Server,
    caller: VirtualPhone,
    target: VirtualPhone,
    transport: str,
) -> None:
    async def front_desk(ui: VoiceUI) -> None:
        await ui.answer()
        supervisor = await ui.start_transfer(TARGET)
        await supervisor.say("Hello world.")
        await ui.cancel_transfer(supervisor)
        await ui.say("Thank you for calling.")

    await server.register_extension("2307", call_handler=front_desk, transport=transport)
    call = await caller.call("2307")
    supervisor = await (await target.incoming_call()).answer()
    assert "hello world" in await hear_until(supervisor, "hello world")
    await supervisor.wait_hangup(10)  # the app hung the target up
    await hears_goodbye(call)
    await no_channels_left(asterisk)


async def test_a_target_that_fails_raises_and_the_caller_is_taken_off_hold(
    server: Server, caller: VirtualPhone, transport: str
) -> None:
    failed: asyncio.Future[int | None] = asyncio.get_running_loop().create_future()

    async def front_desk(ui: VoiceUI) -> None:
        await ui.answer()
        try:
            await ui.start_transfer("2399")  # served by nobody: the PSTN rejects it
        except CallFailedException as exc:
            failed.set_result(exc.cause)
        else:
            failed.set_result(None)
        assert not ui.held
        await ui.say("Thank you for calling.")

    await server.register_extension("2308", call_handler=front_desk, transport=transport)
    call = await caller.call("2308")
    assert await asyncio.wait_for(failed, 30) == 1
    await hears_goodbye(call)


async def test_a_target_that_never_answers_times_out_and_stops_ringing(
    asterisk: SandboxSettings,
    server: Server,
    caller: VirtualPhone,
    target: VirtualPhone,
    transport: str,
) -> None:
    failed: asyncio.Future[int | None] = asyncio.get_running_loop().create_future()

    async def front_desk(ui: VoiceUI) -> None:
        await ui.answer()
        try:
            await ui.start_transfer(TARGET, timeout=3)
        except CallFailedException as exc:
            failed.set_result(exc.cause)
        else:
            failed.set_result(None)
        await ui.say("Thank you for calling.")

    await server.register_extension("2312", call_handler=front_desk, transport=transport)
    call = await caller.call("2312")
    ringing = await target.incoming_call()  # rings; nobody answers
    started = time.monotonic()
    assert await asyncio.wait_for(failed, 20) == 19  # no answer
    assert time.monotonic() - started < 8
    await asyncio.wait_for(ringing.ended.wait(), 10)  # and it stopped ringing
    await hears_goodbye(call)
    await no_channels_left(asterisk)


async def test_the_caller_hanging_up_while_the_target_rings_hangs_the_target_up(
    asterisk: SandboxSettings,
    server: Server,
    caller: VirtualPhone,
    target: VirtualPhone,
    transport: str,
) -> None:
    outcome: asyncio.Future[str] = asyncio.get_running_loop().create_future()

    async def front_desk(ui: VoiceUI) -> None:
        await ui.answer()
        try:
            await ui.start_transfer(TARGET)
        except HangupException:
            outcome.set_result("hung up")
            raise
        outcome.set_result("answered")

    await server.register_extension("2309", call_handler=front_desk, transport=transport)
    call = await caller.call("2309")
    ringing = await target.incoming_call()  # rings; nobody answers
    await call.hangup()
    assert await asyncio.wait_for(outcome, 10) == "hung up"
    await asyncio.wait_for(ringing.ended.wait(), 10)  # the target stops ringing
    await no_channels_left(asterisk)


async def test_an_agent_transfers_warmly_with_transfer_call(
    asterisk: SandboxSettings, server: Server, caller: VirtualPhone, target: VirtualPhone
) -> None:
    from agents import Agent, RunConfig
    from agents.testing import ScriptedModel, assistant_message, function_call

    from asteramisk.agent import AgentSession, transfer_call

    model = ScriptedModel(
        [
            [
                function_call(
                    "transfer_call",
                    {"destination": TARGET, "announcement": "Hello world."},
                    call_id="t1",
                )
            ],
            [assistant_message("Thank you for calling.")],
        ]
    )
    sessions: asyncio.Queue[AgentSession] = asyncio.Queue()

    async def handler(ui: VoiceUI) -> None:
        await ui.answer()
        agent = Agent(name="Front desk", model=model, tools=[transfer_call])
        # Free transcription: whatever the caller says is a turn (the model is scripted);
        # a pause in the caller's sentence must not cut the reply that asks for the transfer.
        ui.barge_in = False
        session = await ui.connect_openai_agent(agent, run_config=RunConfig(tracing_disabled=True))
        assert ui.handed_off
        sessions.put_nowait(session)

    await server.register_extension("2311", call_handler=handler, transport="ari")
    call = await caller.call("2311")
    await asyncio.sleep(1)
    await call.say("Put me through to a supervisor please.")
    await call.wait_for_speech()  # the agent's reply (then music: no pause to hear it by)
    ringing = await target.incoming_call()
    assert await music_heard(call) > 0.25  # the caller holds with music
    supervisor = await ringing.answer()
    assert "hello world" in await hear_until(supervisor, "hello world")
    session = await asyncio.wait_for(sessions.get(), 10)
    assert session.ended_by == "agent"
    await asyncio.sleep(1)
    await call.say("Forty two.")
    assert "forty two" in await hear_until(supervisor, "forty two")
    await call.hangup()  # the caller leaves: the server hangs up the supervisor
    await supervisor.wait_hangup(10)
    await no_channels_left(asterisk)
