"""Prometheus metrics of an app's calls and texts (``pip install 'asteramisk[metrics]'``).

::

    server = await Server.create(metrics_port=9464)   # http://127.0.0.1:9464/metrics

or, for several servers (or a Communicator) in one process, ``asteramisk.metrics.watch(server)``
for each and ``asteramisk.metrics.serve(9464)`` once. The numbers come from the servers' event
streams (:mod:`asteramisk.events`), counted as each event happens:

``asteramisk_calls_active``
    calls whose handler runs now;
``asteramisk_calls_total{transport,outcome}``
    calls ended, by transport (``ari``, ``agi``) and how the handler ended (``completed``,
    ``hung up``, ``failed``);
``asteramisk_call_seconds{transport}``
    histogram of call durations;
``asteramisk_texts_total{direction}``
    texts received (``in``) and sent (``out``);
``asteramisk_handler_errors_total``
    call and text handlers that raised;
``asteramisk_tts_seconds{cached}`` and ``asteramisk_stt_seconds``
    histograms of speech synthesis (``cached="true"``: the phrase was on disk) and
    recognition;
``asteramisk_asterisk_reconnects_total{link}``
    times the connection to Asterisk (``ami``, ``ari``) came back after it was lost;
``asteramisk_agent_turn_seconds{stage}``
    histogram of a voice agent's turns, from the end of the caller's speech: ``stt`` (their
    words recognised), ``model`` (then its first text), ``tts`` (then the first sentence's
    speech), ``first_audio`` (all of it, to the first sound the caller hears);
``asteramisk_verb_seconds{verb}``
    histogram of how long the verbs of call handlers took (``say``, ``play``, ``gather``,
    ``prompt``, ``record``, ``transfer``; a gather's own prompt is part of the gather).

The exposition binds 127.0.0.1 unless told otherwise, in a thread of its own (never on the
event loop). Without ``prometheus-client`` nothing is counted and asking for metrics raises
:class:`~asteramisk.exceptions.ConfigurationError`.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from asteramisk.events import (
    AgentTurn,
    CallEnded,
    CallStarted,
    Event,
    HandlerFailed,
    Observable,
    Reconnected,
    SpeechDone,
    TextReceived,
    TextSent,
    VerbDone,
)
from asteramisk.exceptions import ConfigurationError

if TYPE_CHECKING:
    from prometheus_client import CollectorRegistry

__all__ = ["Exposition", "Metrics", "metrics", "serve", "watch"]

CALL_BUCKETS = (1, 5, 15, 30, 60, 120, 300, 600, 1800, 3600)
"""Call durations, in seconds: an IVR call lasts seconds to minutes."""
SPEECH_BUCKETS = (0.001, 0.005, 0.025, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)
"""Synthesis and recognition, in seconds: a cached phrase in a millisecond, a new one in
hundreds."""
VERB_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60)
"""Verb durations, in seconds: a cached phrase starts in milliseconds, a prompt waits."""


def _client() -> Any:
    try:
        import prometheus_client
    except ImportError:
        raise ConfigurationError(
            "Metrics need prometheus-client: pip install 'asteramisk[metrics]'."
        ) from None
    return prometheus_client


class Metrics:
    """The metrics of the module's text, in ``registry`` (prometheus-client's default one
    unless given)."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        client = _client()
        where = {"registry": registry if registry is not None else client.REGISTRY}
        self.registry = where["registry"]
        self.calls_active = client.Gauge(
            "asteramisk_calls_active", "Calls whose handler runs now.", **where
        )
        self.calls = client.Counter(
            "asteramisk_calls", "Calls ended.", ["transport", "outcome"], **where
        )
        self.call_seconds = client.Histogram(
            "asteramisk_call_seconds",
            "How long calls lasted.",
            ["transport"],
            buckets=CALL_BUCKETS,
            **where,
        )
        self.texts = client.Counter(
            "asteramisk_texts", "Texts received (in) and sent (out).", ["direction"], **where
        )
        self.handler_errors = client.Counter(
            "asteramisk_handler_errors", "Call and text handlers that raised.", **where
        )
        self.reconnects = client.Counter(
            "asteramisk_asterisk_reconnects",
            "Times the connection to Asterisk came back after it was lost.",
            ["link"],
            **where,
        )
        self.tts_seconds = client.Histogram(
            "asteramisk_tts_seconds",
            "How long speech synthesis took (cached: from the disk).",
            ["cached"],
            buckets=SPEECH_BUCKETS,
            **where,
        )
        self.stt_seconds = client.Histogram(
            "asteramisk_stt_seconds",
            "How long speech recognition took.",
            buckets=SPEECH_BUCKETS,
            **where,
        )
        self.agent_turn_seconds = client.Histogram(
            "asteramisk_agent_turn_seconds",
            "The stages of a voice agent's turn, from the end of the caller's speech.",
            ["stage"],
            buckets=SPEECH_BUCKETS,
            **where,
        )
        self.verb_seconds = client.Histogram(
            "asteramisk_verb_seconds",
            "How long the verbs of call handlers took.",
            ["verb"],
            buckets=VERB_BUCKETS,
            **where,
        )

    def observe(self, event: Event) -> None:
        """Count ``event`` (an observer of an event stream: quick, never blocks)."""
        if isinstance(event, CallStarted):
            self.calls_active.inc()
        elif isinstance(event, CallEnded):
            self.calls_active.dec()
            transport = event.record.transport
            self.calls.labels(transport=transport, outcome=event.outcome).inc()
            self.call_seconds.labels(transport=transport).observe(event.duration)
        elif isinstance(event, TextReceived):
            self.texts.labels(direction="in").inc()
        elif isinstance(event, TextSent):
            self.texts.labels(direction="out").inc()
        elif isinstance(event, AgentTurn):
            for stage in ("stt", "model", "tts", "first_audio"):
                seconds = getattr(event, stage)
                if seconds is not None:
                    self.agent_turn_seconds.labels(stage=stage).observe(seconds)
        elif isinstance(event, Reconnected):
            self.reconnects.labels(link=event.link).inc()
        elif isinstance(event, SpeechDone):
            if event.kind == "tts":
                self.tts_seconds.labels(cached=str(event.cached).lower()).observe(event.seconds)
            else:
                self.stt_seconds.observe(event.seconds)
        elif isinstance(event, VerbDone):
            self.verb_seconds.labels(verb=event.verb).observe(event.seconds)
        elif isinstance(event, HandlerFailed):
            self.handler_errors.inc()


@functools.cache
def metrics() -> Metrics:
    """The process's metrics, in prometheus-client's default registry (made once)."""
    return Metrics()


def watch(source: Observable) -> Callable[[], None]:
    """Count the events of ``source`` (a Server) in :func:`metrics`; returns what stops it."""
    return source.observe(metrics().observe)


class Exposition:
    """An http server of ``/metrics`` in a thread of its own; ``close()`` stops it."""

    def __init__(self, port: int, host: str, registry: CollectorRegistry) -> None:
        client = _client()
        try:
            self._server, self._thread = client.start_http_server(
                port, addr=host, registry=registry
            )
        except OSError as exc:
            raise ConfigurationError(
                f"Cannot serve metrics on {host}:{port}: {exc.strerror}. Choose a free port "
                "(metrics_port=...)."
            ) from None
        self.host = host
        self.port = int(self._server.server_address[1])
        self._lock = threading.Lock()

    def close(self) -> None:
        with self._lock:
            if self._thread.is_alive():
                self._server.shutdown()
                self._server.server_close()
                self._thread.join(5)


def serve(port: int = 9464, host: str = "127.0.0.1") -> Exposition:
    """Serve the process's metrics at ``http://host:port/metrics`` (port 0: any free one,
    see ``.port``)."""
    return Exposition(port, host, metrics().registry)
