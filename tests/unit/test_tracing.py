"""Traces of calls from their events: the span tree an exporter gets (in memory here)."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode

from asteramisk.calls import speech_timings
from asteramisk.events import EventStream
from asteramisk.exceptions import ConfigurationError
from asteramisk.testing.fakes import fake_call
from asteramisk.tracing import CallTracer, trace
from asteramisk.ui import VoiceUI
from tests.unit.served import serve_fake


async def test_a_call_is_a_span_with_its_verbs_and_speech_as_children(tmp_path: Path) -> None:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    call = fake_call(tmp_path, answers=["tuesday"])
    call.control.call_id = "1733400000.7"
    call.control.play_seconds = 0.02
    stream = EventStream()

    class Events:  # what trace() subscribes to: a server's observe
        observe = staticmethod(stream.observe)

    stop = trace(Events(), provider)
    call.speech.on_timing = speech_timings(stream)

    async def handler(ui: VoiceUI) -> None:
        await ui.answer()
        await ui.say("Hello")
        asyncio.get_running_loop().call_later(0.1, call.control.say_words)  # the caller
        assert await ui.prompt("Which day?", timeout=5) == "tuesday"
        raise ValueError("no slot on tuesday")

    await serve_fake(call, handler, stream)
    stop()
    spans = {span.name: span for span in exporter.get_finished_spans()}
    root = spans["call 5551234"]
    assert root.kind == SpanKind.SERVER and root.parent is None
    assert root.attributes is not None
    assert root.attributes["asteramisk.call_id"] == "1733400000.7"
    assert root.attributes["asteramisk.from"] == "5550100"
    assert root.attributes["asteramisk.outcome"] == "failed"
    assert root.attributes["asteramisk.hung_up_by"] == "app"
    assert root.status.status_code == StatusCode.ERROR
    assert [e.name for e in root.events] == ["answered", "exception"]
    children = [s for s in exporter.get_finished_spans() if s.parent is not None]
    assert {s.parent.span_id for s in children if s.parent} == {root.context.span_id}
    assert {s.context.trace_id for s in children} == {root.context.trace_id}
    names = [s.name for s in sorted(children, key=lambda s: s.start_time or 0)]
    # say (its phrase made within it), prompt (its phrase, the recognition), the apology
    assert names[:2] == ["say", "tts"] and "prompt" in names and "stt" in names
    for child in children:
        assert child.start_time is not None and child.end_time is not None
        assert root.start_time is not None and root.end_time is not None
        assert root.start_time <= child.start_time <= child.end_time <= root.end_time


def test_without_opentelemetry_tracing_says_what_to_install(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(sys.modules, "opentelemetry", None)
    with pytest.raises(ConfigurationError, match=r"asteramisk\[tracing\]"):
        CallTracer()


def test_events_of_calls_it_never_saw_start_are_ignored() -> None:
    from asteramisk.events import CallAnswered, VerbDone

    tracer = CallTracer(TracerProvider())
    tracer.observe(CallAnswered(call_id="nobody"))
    tracer.observe(VerbDone(call_id="nobody", verb="say", seconds=0.1, ok=True))  # no error


def test_an_agent_turn_is_a_span_with_its_stages_in_order() -> None:
    from asteramisk.events import AgentTurn, CallEnded, CallRecord, CallStarted

    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracer = CallTracer(provider)
    record = CallRecord(
        call_id="9.9", direction="inbound", transport="ari", from_number="1", to_number="2"
    )
    tracer.observe(
        CallStarted(call_id="9.9", direction="inbound", transport="ari", from_number="1",
                    to_number="2", at=record.started_at)
    )  # fmt: skip
    turn = AgentTurn.of("9.9", {"stt": 0.2, "first_text": 0.9, "first_audio": 1.1, "turn": 3.0})
    assert (turn.stt, turn.model, turn.tts, turn.first_audio) == pytest.approx((0.2, 0.7, 0.2, 1.1))
    assert turn.at - turn.started_at == pytest.approx(3.0)
    tracer.observe(turn)
    record.ended_at = turn.at + 1
    tracer.observe(
        CallEnded(call_id="9.9", duration=record.duration, answered=True, hung_up_by="caller",
                  cause=16, outcome="hung up", record=record, at=record.ended_at)
    )  # fmt: skip
    spans = {span.name: span for span in exporter.get_finished_spans()}
    agent = spans["agent turn"]
    assert agent.parent is not None and agent.parent.span_id == spans["call 2"].context.span_id
    stages = [spans[name] for name in ("stt", "model", "tts")]
    assert all(s.parent is not None and s.parent.span_id == agent.context.span_id for s in stages)
    assert [s.start_time for s in stages[1:]] == [s.end_time for s in stages[:-1]]  # in a row
    assert stages[0].start_time == agent.start_time
    durations = [((s.end_time or 0) - (s.start_time or 0)) / 1e9 for s in stages]
    assert durations == pytest.approx([0.2, 0.7, 0.2], abs=1e-6)


def test_the_agents_sdk_spans_nest_in_the_call_they_ran_for() -> None:
    from agents.tracing import agent_span, function_span, set_trace_processors
    from agents.tracing import trace as sdk_trace

    from asteramisk.events import CallStarted
    from asteramisk.logs import current_call_id
    from asteramisk.tracing import AgentSpans

    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    calls = CallTracer(provider)
    calls.observe(
        CallStarted(call_id="5.5", direction="inbound", transport="ari", from_number="1",
                    to_number="3101")
    )  # fmt: skip
    bridge = AgentSpans(calls)
    set_trace_processors([bridge])  # the SDK's only processor here (none exports to OpenAI)
    try:
        with sdk_trace("a run outside any call"), agent_span(name="Stray"):
            pass
        token = current_call_id.set("5.5")  # what the call's task has
        try:
            with (
                sdk_trace("booking"),
                agent_span(name="Booker"),
                function_span(name="book_table", input="{}"),
            ):
                pass
        finally:
            current_call_id.reset(token)
    finally:
        set_trace_processors([])
    call = calls.span_of("5.5")
    assert call is not None
    spans = {span.name: span for span in exporter.get_finished_spans()}
    assert set(spans) == {"agent Booker", "function book_table"}  # the stray run: not here
    agent, tool = spans["agent Booker"], spans["function book_table"]
    assert agent.parent is not None and agent.parent.span_id == call.get_span_context().span_id
    assert tool.parent is not None and tool.parent.span_id == agent.context.span_id
