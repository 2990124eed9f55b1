"""Events and Prometheus metrics of real calls and texts (the sandbox's Asterisk)."""

from __future__ import annotations

import asyncio
import re
import urllib.request
from collections.abc import AsyncIterator

import pytest

from asteramisk.events import (
    CallAnswered,
    CallEnded,
    CallStarted,
    Event,
    HandlerFailed,
    SpeechDone,
    TextReceived,
    TextSent,
    VerbDone,
)
from asteramisk.server import Server
from asteramisk.testing import SandboxSettings
from asteramisk.testing.phone import VirtualPhone
from asteramisk.ui import TextUI, VoiceUI


@pytest.fixture
async def phone(asterisk: SandboxSettings) -> AsyncIterator[VirtualPhone]:
    async with VirtualPhone("5550160", vocabulary="thank you for calling".split()) as p:
        yield p


def scrape(port: int) -> dict[str, float]:
    """The samples of ``/metrics``: ``name{label="value",...}`` (labels sorted) -> value."""
    body = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5).read()
    samples = {}
    for line in body.decode().splitlines():
        match = re.fullmatch(r"(asteramisk_\w+)(?:\{(.*)\})? ([0-9.e+-]+)", line)
        if match:
            labels = ",".join(sorted(re.findall(r'\w+="[^"]*"', match[2] or "")))
            samples[f"{match[1]}{{{labels}}}" if labels else match[1]] = float(match[3])
    return samples


async def thanks(ui: VoiceUI) -> None:
    await ui.answer()
    await ui.say("Thank you for calling.")


async def talks_on(ui: VoiceUI) -> None:
    await ui.answer()
    while True:
        await ui.say("Thank you for calling.")


async def fails(ui: VoiceUI) -> None:
    await ui.answer()
    raise LookupError("no such customer")


async def echo(ui: TextUI) -> None:
    await ui.say(f"echo: {ui.first_message}")


@pytest.mark.parametrize("transport", ["ari", "agi"])
async def test_calls_and_texts_are_events_and_metrics(phone: VirtualPhone, transport: str) -> None:
    async with Server(port=0, metrics_port=0) as server:
        assert server.metrics_port
        events = server.events()
        seen: list[Event] = []

        async def collect() -> None:
            async for event in events:
                seen.append(event)

        collecting = asyncio.ensure_future(collect())
        before = await asyncio.to_thread(scrape, server.metrics_port)
        await server.register_extension("2601", call_handler=thanks, transport=transport)
        await server.register_extension("2602", call_handler=talks_on, transport=transport)
        await server.register_extension("2603", call_handler=fails, transport=transport)
        await server.register_extension("2604", text_handler=echo)

        call = await phone.call("2601")  # the app says its piece and hangs up
        assert "thank you for calling" in await call.hear(timeout=15)
        await call.wait_hangup(10)
        call = await phone.call("2602")  # the caller hangs up while the app talks
        await call.wait_for_speech()
        await call.hangup()
        call = await phone.call("2603")  # the handler raises: an apology, then the end
        await call.wait_hangup(20)
        await phone.send_text("2604", "hi")
        assert await phone.receive_text() == "echo: hi"
        for _ in range(100):  # the last call's end is published once its clean-up is done
            if sum(isinstance(e, CallEnded) for e in seen) == 3:
                break
            await asyncio.sleep(0.1)
        after = await asyncio.to_thread(scrape, server.metrics_port)
    await asyncio.wait_for(collecting, 5)  # the stream ended with the server

    calls = {e.call_id: e for e in seen if isinstance(e, CallStarted)}
    assert [e.to_number for e in calls.values()] == ["2601", "2602", "2603"]
    assert {e.transport for e in calls.values()} == {transport}
    assert {e.from_number for e in calls.values()} == {"5550160"}
    ended = {e.call_id: e for e in seen if isinstance(e, CallEnded)}
    assert ended.keys() == calls.keys()
    answered = {e.call_id for e in seen if isinstance(e, CallAnswered)}
    assert answered == calls.keys()
    first, second, third = (ended[i] for i in calls)
    assert (first.outcome, first.hung_up_by) == ("completed", "app")
    assert (second.outcome, second.hung_up_by) == ("hung up", "caller")
    assert (third.outcome, third.hung_up_by) == ("failed", "app")
    assert ("say", "Thank you for calling.") in first.record.transcript
    assert first.answered and first.duration > 1.0  # the phrase lasts over a second
    if transport == "ari":
        assert second.cause == 16  # the caller's normal clearing, as Asterisk said it
    else:
        assert second.cause is None  # FastAGI does not tell
    failed = [e for e in seen if isinstance(e, HandlerFailed)]
    assert len(failed) == 1 and isinstance(failed[0].error, LookupError)
    assert failed[0].call_id == third.call_id
    texts = [(type(e).__name__, e.body) for e in seen if isinstance(e, TextReceived | TextSent)]
    assert texts == [("TextReceived", "hi"), ("TextSent", "echo: hi")]
    # the order of one call's events
    kinds = [type(e) for e in seen if getattr(e, "call_id", "") == third.call_id]
    # the apology said: its phrase made (or taken from the cache), then the say's end
    assert kinds == [CallStarted, CallAnswered, SpeechDone, VerbDone, HandlerFailed, CallEnded]

    def delta(sample: str) -> float:
        return after.get(sample, 0.0) - before.get(sample, 0.0)

    labels = f'transport="{transport}"'
    assert delta(f'asteramisk_calls_total{{outcome="completed",{labels}}}') == 1
    assert delta(f'asteramisk_calls_total{{outcome="hung up",{labels}}}') == 1
    assert delta(f'asteramisk_calls_total{{outcome="failed",{labels}}}') == 1
    assert delta(f"asteramisk_call_seconds_count{{{labels}}}") == 3
    assert delta('asteramisk_texts_total{direction="in"}') == 1
    assert delta('asteramisk_texts_total{direction="out"}') == 1
    assert delta("asteramisk_handler_errors_total") == 1
    assert delta('asteramisk_verb_seconds_count{verb="say"}') >= 2  # the two calls that spoke
    said = [e for e in seen if isinstance(e, VerbDone) and e.call_id == first.call_id]
    assert [(e.verb, e.ok) for e in said] == [("say", True)]
    assert said[0].seconds > 1.0  # returns once the phrase has been heard (over a second)
    assert after["asteramisk_calls_active"] == before.get("asteramisk_calls_active", 0.0)
