"""OpenTelemetry traces of calls and text conversations (``pip install 'asteramisk[tracing]'``).

::

    from asteramisk.tracing import trace

    server = await Server.create()
    trace(server)            # spans go to the tracer provider you configured (OTLP, ...)

Each call is a span (``call <number>``, kind SERVER) from the moment its handler starts to its
end, with the caller's and the called number, the transport, the outcome, who hung up and the
Q.850 cause as attributes, an ``answered`` span event, and the handler's exception recorded
when it failed. Its children are the verbs the handler called (``say``, ``gather``...) and the
speech made (not found in the cache) or recognised for it (``tts``, ``stt``), each with its
real start and end, and each
turn of a voice agent (``agent turn``, with its ``stt``, ``model`` and ``tts`` stages as
children). A text conversation is a span too (``conversation <number>``).

Spans are made from the server's events (:mod:`asteramisk.events`) when they happen, by an
observer: nothing in a call waits for tracing, and without OpenTelemetry nothing is traced.

``trace(server, agents=True)`` also nests the OpenAI Agents SDK's own spans (agent, model
generation, tool calls, handoffs) in the call or conversation they ran for, through a trace
processor added to the SDK (:class:`AgentSpans`; the SDK's runs must have tracing on, and its
default exporter to OpenAI can be replaced: ``agents.set_trace_processors([])`` before).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from agents.tracing import Span as SDKSpan
from agents.tracing import Trace, TracingProcessor

from asteramisk._version import __version__
from asteramisk.events import (
    AgentTurn,
    CallAnswered,
    CallEnded,
    CallStarted,
    ConversationEnded,
    ConversationStarted,
    Event,
    HandlerFailed,
    Observable,
    SpeechDone,
    VerbDone,
)
from asteramisk.exceptions import ConfigurationError
from asteramisk.logs import current_call_id

if TYPE_CHECKING:
    from opentelemetry.trace import Span, TracerProvider

__all__ = ["AgentSpans", "CallTracer", "trace"]


def _ns(seconds: float) -> int:
    return int(seconds * 1e9)


class CallTracer:
    """Turns events into spans (see the module docstring); ``observe`` is the observer."""

    def __init__(self, tracer_provider: TracerProvider | None = None) -> None:
        try:
            from opentelemetry import trace as api
        except ImportError:
            raise ConfigurationError(
                "Tracing needs OpenTelemetry: pip install 'asteramisk[tracing]'."
            ) from None
        self.api: Any = api
        self.tracer = api.get_tracer("asteramisk", __version__, tracer_provider=tracer_provider)
        self._open: dict[str, Span] = {}
        """The span of each call and conversation that runs now, by its id."""

    def span_of(self, call_id: str) -> Span | None:
        """The span of the call or conversation ``call_id`` while it runs."""
        return self._open.get(call_id)

    def observe(self, event: Event) -> None:
        if isinstance(event, CallStarted | ConversationStarted):
            self._start(event)
        elif isinstance(event, CallEnded | ConversationEnded):
            self._end(event)
        elif isinstance(event, VerbDone | SpeechDone):
            self._child(event)
        elif isinstance(event, AgentTurn):
            self._turn(event)
        elif isinstance(event, CallAnswered):
            span = self._open.get(event.call_id)
            if span is not None:
                span.add_event("answered", timestamp=_ns(event.at))
        elif isinstance(event, HandlerFailed):
            span = self._open.get(event.call_id)
            if span is not None:
                span.record_exception(event.error, timestamp=_ns(event.at))
                span.set_status(self.api.Status(self.api.StatusCode.ERROR, repr(event.error)))

    def _start(self, event: CallStarted | ConversationStarted) -> None:
        attributes: dict[str, str] = {
            "asteramisk.call_id": event.call_id,
            "asteramisk.from": event.from_number,
            "asteramisk.to": event.to_number,
        }
        if isinstance(event, CallStarted):
            name = f"call {event.to_number}"
            attributes |= {"asteramisk.transport": event.transport}
            attributes |= {"asteramisk.direction": event.direction}
        else:
            name = f"conversation {event.to_number}"
        self._open[event.call_id] = self.tracer.start_span(
            name,
            kind=self.api.SpanKind.SERVER,
            start_time=_ns(event.at),
            attributes=attributes,
        )

    def _end(self, event: CallEnded | ConversationEnded) -> None:
        span = self._open.pop(event.call_id, None)
        if span is None:
            return
        span.set_attribute("asteramisk.outcome", event.outcome)
        if isinstance(event, CallEnded):
            span.set_attribute("asteramisk.hung_up_by", event.hung_up_by)
            span.set_attribute("asteramisk.answered", event.answered)
            if event.cause is not None:
                span.set_attribute("asteramisk.cause", event.cause)
        span.end(end_time=_ns(event.at))

    def _child(self, event: VerbDone | SpeechDone) -> None:
        parent = self._open.get(event.call_id)
        if parent is None or (isinstance(event, SpeechDone) and event.cached):
            return  # a phrase found in the cache took a fraction of a millisecond: no span
        name = event.verb if isinstance(event, VerbDone) else event.kind
        child = self.tracer.start_span(
            name,
            context=self.api.set_span_in_context(parent),
            start_time=_ns(event.at - event.seconds),
        )
        if isinstance(event, SpeechDone):
            child.set_attribute("asteramisk.cached", event.cached)
        elif not event.ok:
            child.set_status(self.api.Status(self.api.StatusCode.ERROR))
        child.end(end_time=_ns(event.at))

    def _turn(self, event: AgentTurn) -> None:
        """An agent turn's span, its stages (stt, model, tts) as its children."""
        parent = self._open.get(event.call_id)
        if parent is None:
            return
        turn = self.tracer.start_span(
            "agent turn",
            context=self.api.set_span_in_context(parent),
            start_time=_ns(event.started_at),
        )
        start = event.started_at
        for stage in ("stt", "model", "tts"):
            seconds = getattr(event, stage)
            if seconds is None:
                continue
            span = self.tracer.start_span(
                stage, context=self.api.set_span_in_context(turn), start_time=_ns(start)
            )
            start += seconds
            span.end(end_time=_ns(start))
        if event.first_audio is not None:
            turn.set_attribute("asteramisk.first_audio", event.first_audio)
        turn.end(end_time=_ns(event.at))


class AgentSpans(TracingProcessor):
    """An Agents SDK trace processor: each SDK span becomes an OpenTelemetry span, the child
    of its SDK parent or, at the top, of the call's span (the call is the one whose task the
    agent runs in, :data:`asteramisk.logs.current_call_id`)."""

    def __init__(self, calls: CallTracer) -> None:
        self._calls = calls
        self._spans: dict[str, Span] = {}
        self.active = True

    def on_span_start(self, span: SDKSpan[Any]) -> None:
        if not self.active:
            return
        parent = self._spans.get(span.parent_id or "") or self._calls.span_of(current_call_id.get())
        if parent is None:
            return  # not run for a call this tracer follows
        api = self._calls.api
        data = span.span_data
        name = " ".join(str(part) for part in (data.type, getattr(data, "name", "")) if part)
        self._spans[span.span_id] = self._calls.tracer.start_span(
            name, context=api.set_span_in_context(parent)
        )

    def on_span_end(self, span: SDKSpan[Any]) -> None:
        otel = self._spans.pop(span.span_id, None)
        if otel is None:
            return
        if span.error:
            message = str(span.error.get("message", "")) if isinstance(span.error, dict) else ""
            otel.set_status(self._calls.api.Status(self._calls.api.StatusCode.ERROR, message))
        otel.end()

    def on_trace_start(self, trace: Trace) -> None:
        """The SDK's traces (one per run) have no span of their own here."""

    def on_trace_end(self, trace: Trace) -> None:
        """See :meth:`on_trace_start`."""

    def shutdown(self) -> None:
        self.active = False

    def force_flush(self) -> None:
        """Spans are handed to OpenTelemetry as they end: nothing is held here."""


def trace(
    source: Observable, tracer_provider: TracerProvider | None = None, *, agents: bool = False
) -> Callable[[], None]:
    """Trace the calls and conversations of ``source`` (a Server or Communicator); returns
    what stops it. Spans go to ``tracer_provider``, or OpenTelemetry's global one.
    ``agents``: nest the Agents SDK's spans too (see the module docstring)."""
    calls = CallTracer(tracer_provider)
    stop = source.observe(calls.observe)
    if not agents:
        return stop
    from agents import add_trace_processor

    bridge = AgentSpans(calls)
    add_trace_processor(bridge)  # the SDK has no removal: stopping makes it inert

    def stop_both() -> None:
        stop()
        bridge.shutdown()

    return stop_both
