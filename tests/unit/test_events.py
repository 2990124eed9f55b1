"""Call events without Asterisk: the stream's bounds, and what a served call publishes."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import Any, cast

import pytest

from asteramisk.calls import speech_timings
from asteramisk.events import (
    CallAnswered,
    CallEnded,
    CallStarted,
    Event,
    EventStream,
    HandlerFailed,
    SpeechDone,
    TextSent,
    VerbDone,
)
from asteramisk.logs import FORMAT, CallIdFilter
from asteramisk.testing.fakes import fake_call
from asteramisk.ui import VoiceUI
from tests.unit.served import serve_fake


async def test_a_slow_subscriber_loses_the_oldest_events_and_counts_them() -> None:
    stream = EventStream(buffer=3)
    slow, other = stream.subscribe(), stream.subscribe()
    for n in range(5):
        stream.publish(TextSent(from_number="1", to_number="2", body=str(n)))
    stream.close()
    assert [cast(TextSent, e).body async for e in slow] == ["2", "3", "4"]
    assert slow.dropped == 2 and other.dropped == 2 and stream.dropped == 4
    assert [e async for e in stream.subscribe()] == []  # subscribed after close: nothing


async def test_a_subscriber_waits_for_the_next_event() -> None:
    stream = EventStream()
    subscription = stream.subscribe()
    waiting = asyncio.ensure_future(anext(subscription))
    await asyncio.sleep(0.01)
    assert not waiting.done()
    sent = TextSent(from_number="1", to_number="2", body="hi")
    stream.publish(sent)
    assert await asyncio.wait_for(waiting, 1) is sent
    subscription.close()
    assert [e async for e in subscription] == []
    stream.publish(sent)  # nobody listens: nothing kept
    assert stream.dropped == 0


def test_an_observer_that_fails_is_logged_and_others_still_run(
    caplog: pytest.LogCaptureFixture,
) -> None:
    stream = EventStream()
    seen: list[Event] = []

    def broken(event: Event) -> None:
        raise RuntimeError("observer bug")

    stream.observe(broken)
    stop = stream.observe(seen.append)
    with caplog.at_level(logging.ERROR):
        stream.publish(TextSent(from_number="1", to_number="2", body="x"))
    assert len(seen) == 1 and "observer failed" in caplog.text
    stop()
    stream.publish(TextSent(from_number="1", to_number="2", body="y"))
    assert len(seen) == 1
    with pytest.raises(ValueError, match="at least 1"):
        EventStream(buffer=0)


async def serve(tmp_path: Path, handler: Any, *, hang_up_after: float | None = None) -> list[Event]:
    """Serve one fake call with ``handler``; the events published, in order (but its verbs'
    VerbDone: tested on their own below)."""
    call = fake_call(tmp_path)
    call.control.call_id = "1733400000.42"
    stream = EventStream()
    events: list[Event] = []
    stream.observe(events.append)
    if hang_up_after is not None:
        asyncio.get_running_loop().call_later(hang_up_after, call.control.hang_up_caller)
    dispatch = await serve_fake(call, handler, stream)
    assert dispatch.active == set() and dispatch.calls_served == 1
    return [event for event in events if not isinstance(event, VerbDone)]


async def test_a_call_that_ends_by_itself_is_started_answered_and_ended_by_the_app(
    tmp_path: Path,
) -> None:
    async def handler(ui: VoiceUI) -> None:
        await ui.answer()
        await ui.say("Hello")

    events = await serve(tmp_path, handler)
    assert [type(e) for e in events] == [CallStarted, CallAnswered, CallEnded]
    started, answered, ended = cast(tuple[CallStarted, CallAnswered, CallEnded], tuple(events))
    assert (started.call_id, started.direction, started.transport) == (
        "1733400000.42",
        "inbound",
        "ari",
    )
    assert (started.from_number, started.to_number) == ("5550100", "5551234")
    assert answered.call_id == ended.call_id == "1733400000.42"
    assert ended.answered and ended.hung_up_by == "app" and ended.outcome == "completed"
    assert ended.record.transcript == [("say", "Hello")]
    assert ended.record.answered_at is not None
    assert started.at <= ended.record.answered_at <= ended.at
    assert ended.record.ended_at is not None
    assert ended.duration == pytest.approx(ended.record.ended_at - ended.record.started_at)


async def test_a_caller_who_hangs_up_is_who_ended_the_call(tmp_path: Path) -> None:
    async def handler(ui: VoiceUI) -> None:
        await ui.answer()
        while True:
            await ui.gather("Pick a number", timeout=0.05)

    events = await serve(tmp_path, handler, hang_up_after=0.2)
    ended = events[-1]
    assert isinstance(ended, CallEnded)
    assert ended.hung_up_by == "caller" and ended.outcome == "hung up"


async def test_a_failed_handler_is_an_event_before_the_end(tmp_path: Path) -> None:
    async def handler(ui: VoiceUI) -> None:
        raise KeyError("no such customer")

    events = await serve(tmp_path, handler)
    assert [type(e) for e in events] == [CallStarted, HandlerFailed, CallEnded]
    failed, ended = cast(tuple[HandlerFailed, CallEnded], tuple(events[1:]))
    assert isinstance(failed.error, KeyError) and failed.call_id == ended.call_id
    assert not ended.answered and ended.outcome == "failed" and ended.hung_up_by == "app"


async def test_an_app_that_hangs_up_itself_ended_the_call(tmp_path: Path) -> None:
    async def handler(ui: VoiceUI) -> None:
        await ui.answer()
        await ui.hangup()
        await ui.say("nobody hears this")  # raises HangupException: the call is over

    ended = (await serve(tmp_path, handler))[-1]
    assert isinstance(ended, CallEnded)
    assert ended.hung_up_by == "app" and ended.outcome == "hung up"


async def test_each_verb_the_handler_calls_is_timed_once(tmp_path: Path) -> None:
    """A gather that says its prompt is one gather; a verb cut short by a hangup is not ok."""
    call = fake_call(tmp_path)
    call.control.play_seconds = 0.05
    asyncio.get_running_loop().call_later(0.2, call.control.press, "4")  # during the gather

    async def handler(ui: VoiceUI) -> None:
        await ui.answer()
        await ui.say("Hello")
        assert await ui.gather("Pick one", timeout=1) == "4"
        call.control.hang_up_caller()
        await ui.play("beep")

    stream = EventStream()
    events: list[Event] = []
    stream.observe(events.append)
    await serve_fake(call, handler, stream)
    done = [e for e in events if isinstance(e, VerbDone)]
    assert [(e.verb, e.ok) for e in done] == [("say", True), ("gather", True), ("play", False)]
    assert done[0].seconds >= 0.05  # the playback lasted that long
    ended = events[-1]
    assert isinstance(ended, CallEnded)
    assert [verb for verb, _ in ended.record.verbs] == ["say", "gather", "play"]


async def test_log_lines_of_a_call_carry_its_id(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    async def handler(ui: VoiceUI) -> None:
        logging.getLogger("app").info("in the handler")
        await asyncio.create_task(helper())  # a task the handler starts: the same call

    async def helper() -> None:
        logging.getLogger("app").info("in a task of the handler")

    caplog.handler.addFilter(CallIdFilter())
    with caplog.at_level(logging.INFO, logger="app"):
        await serve(tmp_path, handler)
        logging.getLogger("app").info("outside any call")
    ids = {r.getMessage(): getattr(r, "call_id", None) for r in caplog.records if r.name == "app"}
    assert ids == {
        "in the handler": "1733400000.42",
        "in a task of the handler": "1733400000.42",
        "outside any call": "-",
    }
    line = logging.Formatter(FORMAT).format(caplog.records[0])
    assert "[1733400000.42] in the handler" in line


async def test_speech_says_how_long_synthesis_and_recognition_took(tmp_path: Path) -> None:
    call = fake_call(tmp_path, answers=["yes"])
    stream = EventStream()
    events: list[Event] = []
    stream.observe(events.append)
    call.speech.on_timing = speech_timings(stream)
    await call.speech.file("Hello there")  # made
    await call.speech.file("Hello there")  # from the disk
    assert await call.speech.transcribe(bytes(1600)) == "yes"
    done = [e for e in events if isinstance(e, SpeechDone)]
    assert [(e.kind, e.cached) for e in done] == [("tts", False), ("tts", True), ("stt", False)]
    assert call.tts.texts == ["Hello there"]  # synthesised once: the second came from disk
    assert all(e.seconds > 0 for e in done)
    assert {e.call_id for e in done} == {"-"}  # outside a call


async def test_an_outgoing_call_is_initiated_before_it_rings_whatever_comes_first() -> None:
    """Asterisk's ``Ringing`` event may come over the websocket before its answer to the
    originate request over http (a clean-clone CI run saw ringing, initiated, answered)."""
    from asteramisk.events import CallRecord, CallStatus
    from asteramisk.lifecycle import TaskSet
    from asteramisk.outgoing import OutgoingCall

    stream = EventStream()
    seen = stream.subscribe()
    told: list[str] = []
    record = CallRecord(
        call_id="c1", direction="outbound", transport="ari", from_number="1", to_number="2"
    )
    call = OutgoingCall(record, stream, TaskSet(logging.getLogger("t"), "status"), told.append)
    call.on_event({"type": "ChannelStateChange", "channel": {"state": "Ringing"}})
    call.set_status("initiated")  # the originate request's answer, late
    call.on_event({"type": "StasisStart"})
    call.on_event({"type": "ChannelDestroyed", "cause": 16, "cause_txt": "Normal Clearing"})
    stream.close()
    statuses = [e.status async for e in seen if isinstance(e, CallStatus)]
    assert told == statuses == ["initiated", "ringing", "answered", "completed"]


async def test_the_speech_of_a_call_whose_verbs_run_in_the_apps_task_is_that_calls(
    tmp_path: Path,
) -> None:
    """An outgoing call's verbs run in the app's own task, where no call is being served:
    while a verb runs, its speech (and what it logs) belongs to its call, not to "-"."""
    from asteramisk.events import CallRecord

    call = fake_call(tmp_path, answers=["yes"])
    stream = EventStream()
    events: list[Event] = []
    stream.observe(events.append)
    call.speech.on_timing = speech_timings(stream)
    record = CallRecord(
        call_id="out-1", direction="outbound", transport="ari", from_number="1", to_number="2"
    )
    ui = VoiceUI(call.control, speech=call.speech, remote_number="2", record=record)
    await ui.say("Your table is booked.")
    await call.speech.file("Not in a verb.")
    done = [(e.kind, e.call_id) for e in events if isinstance(e, SpeechDone)]
    assert done == [("tts", "out-1"), ("tts", "-")]
