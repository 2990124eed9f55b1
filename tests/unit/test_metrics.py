"""Prometheus metrics from call and text events (a registry of the test's own)."""

from __future__ import annotations

import asyncio
import socket
import sys
import urllib.request

import pytest
from prometheus_client import CollectorRegistry

from asteramisk.events import (
    AgentTurn,
    CallEnded,
    CallRecord,
    CallStarted,
    EventStream,
    HandlerFailed,
    Reconnected,
    SpeechDone,
    TextReceived,
    TextSent,
    VerbDone,
)
from asteramisk.exceptions import ConfigurationError
from asteramisk.metrics import Exposition, Metrics


def ended(transport: str, outcome: str, seconds: float) -> CallEnded:
    record = CallRecord(
        call_id="1.1", direction="inbound", transport=transport, from_number="1", to_number="2"
    )
    record.ended_at = record.started_at + seconds
    return CallEnded(
        call_id="1.1",
        duration=seconds,
        answered=True,
        hung_up_by="app",
        cause=16,
        outcome=outcome,
        record=record,
    )


def started(transport: str) -> CallStarted:
    return CallStarted(
        call_id="1.1", direction="inbound", transport=transport, from_number="1", to_number="2"
    )


def test_events_are_counted() -> None:
    registry = CollectorRegistry()
    metrics = Metrics(registry)
    stream = EventStream()
    stream.observe(metrics.observe)
    for transport in ("ari", "ari", "agi"):
        stream.publish(started(transport))
    assert registry.get_sample_value("asteramisk_calls_active") == 3
    stream.publish(ended("ari", "completed", 12.0))
    stream.publish(ended("ari", "hung up", 40.0))
    stream.publish(HandlerFailed(call_id="1.1", error=RuntimeError("x")))
    stream.publish(ended("agi", "failed", 2.0))
    stream.publish(TextReceived(from_number="1", to_number="2", body="hi"))
    for _ in range(2):
        stream.publish(TextSent(from_number="2", to_number="1", body="hello"))
    stream.publish(SpeechDone(call_id="1.1", kind="tts", seconds=0.5, cached=False))
    stream.publish(SpeechDone(call_id="1.1", kind="tts", seconds=0.001, cached=True))
    stream.publish(SpeechDone(call_id="1.1", kind="stt", seconds=0.2, cached=False))
    stream.publish(Reconnected(link="ami"))
    stream.publish(AgentTurn.of("1.1", {"stt": 0.2, "first_text": 0.9, "first_audio": 1.1}))
    stream.publish(AgentTurn.of("1.1", {"first_audio": 0.6}))  # a realtime model's turn
    for seconds in (0.3, 4.0):
        stream.publish(VerbDone(call_id="1.1", verb="say", seconds=seconds, ok=True))

    def value(name: str, **labels: str) -> float | None:
        return registry.get_sample_value(name, labels)

    assert value("asteramisk_calls_active") == 0
    assert value("asteramisk_calls_total", transport="ari", outcome="completed") == 1
    assert value("asteramisk_calls_total", transport="ari", outcome="hung up") == 1
    assert value("asteramisk_calls_total", transport="agi", outcome="failed") == 1
    assert value("asteramisk_call_seconds_count", transport="ari") == 2
    assert value("asteramisk_call_seconds_sum", transport="ari") == 52.0
    assert value("asteramisk_call_seconds_bucket", transport="ari", le="15.0") == 1
    assert value("asteramisk_texts_total", direction="in") == 1
    assert value("asteramisk_texts_total", direction="out") == 2
    assert value("asteramisk_handler_errors_total") == 1
    assert value("asteramisk_verb_seconds_count", verb="say") == 2
    assert value("asteramisk_tts_seconds_count", cached="false") == 1
    assert value("asteramisk_tts_seconds_count", cached="true") == 1
    assert value("asteramisk_stt_seconds_count") == 1
    assert value("asteramisk_asterisk_reconnects_total", link="ami") == 1
    assert value("asteramisk_agent_turn_seconds_count", stage="first_audio") == 2
    assert value("asteramisk_agent_turn_seconds_count", stage="model") == 1
    assert value("asteramisk_agent_turn_seconds_sum", stage="model") == pytest.approx(0.7)
    assert value("asteramisk_verb_seconds_bucket", verb="say", le="0.5") == 1


async def test_the_exposition_serves_metrics_on_loopback_and_stops() -> None:
    registry = CollectorRegistry()
    Metrics(registry).texts.labels(direction="in").inc()
    exposition = Exposition(0, "127.0.0.1", registry)
    try:
        url = f"http://127.0.0.1:{exposition.port}/metrics"
        body = await asyncio.to_thread(lambda: urllib.request.urlopen(url, timeout=5).read())
        assert b'asteramisk_texts_total{direction="in"} 1.0' in body
    finally:
        exposition.close()
    with pytest.raises(OSError), socket.create_connection(("127.0.0.1", exposition.port), 1):
        pass  # nothing listens any more


def test_a_port_in_use_is_a_clear_error() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(ConfigurationError, match=f"127.0.0.1:{port}.*metrics_port"):
            Exposition(port, "127.0.0.1", CollectorRegistry())


def test_without_prometheus_client_asking_for_metrics_says_what_to_install(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(sys.modules, "prometheus_client", None)
    with pytest.raises(ConfigurationError, match=r"asteramisk\[metrics\]"):
        Metrics(CollectorRegistry())
