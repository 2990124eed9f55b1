"""What happens in an app, as events: calls started, answered and ended, texts, failed handlers.

::

    async for event in server.events():
        if isinstance(event, CallEnded):
            print(event.call_id, event.duration, event.hung_up_by, event.cause)

Every event is a frozen dataclass with ``at`` (``time.time()`` when it happened). A call's
events share its ``call_id``: Asterisk's unique id of the caller's channel (as in Asterisk's
logs and CDRs). A subscriber that reads slowly never slows a call down: each has a buffer of
``buffer`` events (1,000 by default); when it is full the oldest is dropped and counted in
the subscription's ``dropped`` (and the stream's). Observers (``observe``) are called at once,
in the call's own task: they must be quick and must not block (metrics use them).
"""

from __future__ import annotations

import asyncio
import collections
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Literal, Protocol

__all__ = [
    "AgentTurn",
    "CallAnswered",
    "CallEnded",
    "CallRecord",
    "CallStarted",
    "CallStatus",
    "ConversationEnded",
    "ConversationStarted",
    "Event",
    "EventSource",
    "EventStream",
    "HandlerFailed",
    "Observable",
    "Reconnected",
    "SpeechDone",
    "Subscription",
    "TextReceived",
    "TextSent",
    "VerbDone",
    "reconnect_hook",
]

log = logging.getLogger(__name__)

ReconnectHook = Callable[[], Awaitable[None]]


@dataclass(frozen=True, kw_only=True)
class Event:
    """Something that happened, ``at`` a ``time.time()``."""

    at: float = field(default_factory=time.time)


@dataclass(frozen=True, kw_only=True)
class CallStarted(Event):
    """A call reached a handler (``direction`` "inbound") or was placed ("outbound")."""

    call_id: str
    direction: Literal["inbound", "outbound"]
    transport: str
    from_number: str
    to_number: str


@dataclass(frozen=True, kw_only=True)
class CallStatus(Event):
    """An outgoing call's status changed: ``initiated``, ``ringing``, ``answered``, ``busy``,
    ``no answer``, ``failed`` or ``completed`` (see :mod:`asteramisk.outgoing`)."""

    call_id: str
    status: str


@dataclass(frozen=True, kw_only=True)
class CallAnswered(Event):
    call_id: str


@dataclass(kw_only=True)
class CallRecord:
    """One call, as ``ui.call_record`` keeps it: filled in while it runs, complete once its
    handler has ended (and then carried by :class:`CallEnded`). Each step is published to
    ``events`` as it happens."""

    call_id: str
    direction: Literal["inbound", "outbound"]
    transport: str
    from_number: str
    to_number: str
    asterisk_host: str = ""
    """The Asterisk the call is on (its ``ASTERISK_HOST``: one of ``ASTERISK_HOSTS``)."""
    started_at: float = field(default_factory=time.time)
    answered_at: float | None = None
    ended_at: float | None = None
    hung_up_by: Literal["caller", "app", ""] = ""
    """Who ended the call: the caller (or the network), or the app (its ``hangup()``, or
    the handler returning or failing); '' while it runs."""
    cause: int | None = None
    """The Q.850 cause Asterisk gave for the end of the call (16: normal clearing); None
    where the transport does not say (FastAGI)."""
    outcome: Literal["completed", "hung up", "failed", ""] = ""
    """How the handler ended: returned, stopped by the caller hanging up, or raised."""
    transcript: list[tuple[str, str]] = field(default_factory=list)
    """What was said, heard, pressed and played, in order: ``("say", text)``, ..."""
    verbs: list[tuple[str, float]] = field(default_factory=list)
    """Each verb the handler called (``say``, ``gather``...) with the seconds it took."""
    agent_turns: list[dict[str, float]] = field(default_factory=list)
    """Per turn of a voice agent, its timings (see :class:`AgentTurn`)."""
    events: EventStream | None = field(default=None, repr=False, compare=False)
    """Where the call's events go (its owner's stream), as the record is filled in."""
    in_verb: bool = field(default=False, repr=False, compare=False)
    """A verb runs now (the verbs it calls itself are part of it, not timed apart)."""

    def _publish(self, event: Event) -> None:
        if self.events is not None:
            self.events.publish(event)

    def started(self) -> None:
        """The call starts (now: ``started_at``)."""
        self._publish(
            CallStarted(
                at=self.started_at,
                call_id=self.call_id,
                direction=self.direction,
                transport=self.transport,
                from_number=self.from_number,
                to_number=self.to_number,
            )
        )

    def answered(self) -> None:
        """The call was answered now."""
        self.answered_at = time.time()
        self._publish(CallAnswered(call_id=self.call_id))

    def verb_done(self, verb: str, seconds: float, ok: bool) -> None:
        """A verb the handler called took ``seconds`` (``ok``: it returned)."""
        self.verbs.append((verb, seconds))
        self._publish(VerbDone(call_id=self.call_id, verb=verb, seconds=seconds, ok=ok))

    def agent_turn(self, timing: dict[str, float]) -> None:
        """A voice agent's turn, timed (``stt``, ``first_text``, ``first_audio``: seconds
        from the end of the caller's speech)."""
        self.agent_turns.append(dict(timing))
        self._publish(AgentTurn.of(self.call_id, timing))

    def ended(self) -> None:
        """The call has ended (now), its record complete: :class:`CallEnded`."""
        self.ended_at = time.time()
        self._publish(
            CallEnded(
                at=self.ended_at,
                call_id=self.call_id,
                duration=self.duration,
                answered=self.answered_at is not None,
                hung_up_by=self.hung_up_by,
                cause=self.cause,
                outcome=self.outcome,
                record=self,
            )
        )

    def app_hangs_up(self) -> None:
        """The app hangs up (unless the call had already ended the other way)."""
        self.hung_up_by = self.hung_up_by or "app"

    @property
    def duration(self) -> float:
        """Seconds from the start of the call to its end (or to now, while it runs)."""
        return (self.ended_at or time.time()) - self.started_at


@dataclass(frozen=True, kw_only=True)
class CallEnded(Event):
    call_id: str
    duration: float
    answered: bool
    hung_up_by: str
    cause: int | None
    outcome: str
    record: CallRecord


@dataclass(frozen=True, kw_only=True)
class VerbDone(Event):
    """A verb of a call's handler (``say``, ``play``, ``gather``, ``prompt``, ``record``,
    ``transfer``) ended after ``seconds``; ``ok`` is False when it raised (a hangup too)."""

    call_id: str
    verb: str
    seconds: float
    ok: bool


@dataclass(frozen=True, kw_only=True)
class AgentTurn(Event):
    """A voice agent answered the caller: the seconds of each stage of the turn, from the end
    of the caller's speech. ``stt``: their words recognised; ``model``: then the model's first
    text; ``tts``: then the first sentence's speech ready; ``first_audio``: all of it, to the
    first sound the caller heard. A stage the turn did not have is None (a realtime model
    gives ``first_audio`` only)."""

    call_id: str
    started_at: float
    """When the caller stopped speaking (``time.time()``); the turn ends at ``at``."""
    stt: float | None
    model: float | None
    tts: float | None
    first_audio: float | None

    @classmethod
    def of(cls, call_id: str, timing: dict[str, float]) -> AgentTurn:
        """The event of a turn's timing (as ``AgentSession.turns`` keeps it; ``turn``: the
        seconds of the whole turn, to the end of the reply)."""
        stt, text, audio = (timing.get(k) for k in ("stt", "first_text", "first_audio"))
        now = time.time()
        return cls(
            at=now,
            call_id=call_id,
            started_at=now - timing.get("turn", audio or 0.0),
            stt=stt,
            model=None if text is None or stt is None else text - stt,
            tts=None if audio is None or text is None else audio - text,
            first_audio=audio,
        )


@dataclass(frozen=True, kw_only=True)
class SpeechDone(Event):
    """A phrase was synthesised or fetched from the cache (``kind`` "tts", ``cached``), or
    the caller's words recognised ("stt"), in ``seconds``, for the call ``call_id``."""

    call_id: str
    kind: Literal["tts", "stt"]
    seconds: float
    cached: bool


@dataclass(frozen=True, kw_only=True)
class Reconnected(Event):
    """The connection to Asterisk (``link`` "ami" or "ari") came back after it was lost."""

    link: Literal["ami", "ari"]


def reconnect_hook(stream: EventStream, link: Literal["ami", "ari"]) -> ReconnectHook:
    """A connect hook (``add_connect_hook``) that publishes :class:`Reconnected`."""

    async def reconnected() -> None:
        stream.publish(Reconnected(link=link))

    return reconnected


@dataclass(frozen=True, kw_only=True)
class HandlerFailed(Event):
    """A call or text handler raised ``error`` (the person got an apology)."""

    call_id: str
    """The call's id, or for a text conversation ``text:<their number>:<our number>``."""
    error: BaseException


@dataclass(frozen=True, kw_only=True)
class ConversationStarted(Event):
    """A text conversation reached its handler; ``call_id`` is ``text:<them>:<us>``."""

    call_id: str
    from_number: str
    to_number: str


@dataclass(frozen=True, kw_only=True)
class ConversationEnded(Event):
    """A text conversation's handler ended (``outcome`` as for calls; "hung up" is the
    conversation idling out)."""

    call_id: str
    duration: float
    outcome: str


@dataclass(frozen=True, kw_only=True)
class TextReceived(Event):
    from_number: str
    to_number: str
    body: str


@dataclass(frozen=True, kw_only=True)
class TextSent(Event):
    from_number: str
    to_number: str
    body: str


class Observable(Protocol):
    """What publishes events to observers: a Server (``server.observe``)."""

    def observe(self, observer: Callable[[Event], None]) -> Callable[[], None]: ...


class Subscription:
    """One subscriber's events, oldest first (an async iterator; see the module)."""

    def __init__(self, stream: EventStream, buffer: int) -> None:
        self._stream = stream
        self._events: collections.deque[Event] = collections.deque()
        self._buffer = buffer
        self._ready = asyncio.Event()
        self.closed = False
        self.dropped = 0
        """Events this subscriber lost because it read too slowly."""

    def deliver(self, event: Event) -> None:
        """Add ``event`` (the stream calls this; the oldest goes when the buffer is full)."""
        if len(self._events) >= self._buffer:
            self._events.popleft()
            self.dropped += 1
            self._stream.dropped += 1
        self._events.append(event)
        self._ready.set()

    def close(self) -> None:
        """End the iteration (once the events already there are read)."""
        self.closed = True
        self._ready.set()
        self._stream.unsubscribe(self)

    def __aiter__(self) -> AsyncIterator[Event]:
        return self

    async def __anext__(self) -> Event:
        while not self._events:
            if self.closed:
                raise StopAsyncIteration
            self._ready.clear()
            await self._ready.wait()
        return self._events.popleft()


class EventStream:
    """Where an owner's events go: to every subscription and observer (see the module)."""

    def __init__(self, buffer: int = 1000) -> None:
        if buffer < 1:
            raise ValueError(f"An event buffer holds at least 1 event, not {buffer}.")
        self.buffer = buffer
        self._subscriptions: list[Subscription] = []
        self._observers: list[Callable[[Event], None]] = []
        self.dropped = 0
        """Events lost by slow subscribers, all together."""
        self.closed = False

    def subscribe(self) -> Subscription:
        """A new subscription: every event from now on."""
        subscription = Subscription(self, self.buffer)
        if self.closed:
            subscription.closed = True
        else:
            self._subscriptions.append(subscription)
        return subscription

    def unsubscribe(self, subscription: Subscription) -> None:
        if subscription in self._subscriptions:
            self._subscriptions.remove(subscription)

    def observe(self, observer: Callable[[Event], None]) -> Callable[[], None]:
        """Call ``observer(event)`` for every event, at once; returns what stops it."""
        self._observers.append(observer)
        return lambda: self._observers.remove(observer) if observer in self._observers else None

    def publish(self, event: Event) -> None:
        for subscription in self._subscriptions:
            subscription.deliver(event)
        for observer in list(self._observers):
            try:
                observer(event)
            except Exception:  # an observer's bug never ends a call
                log.exception("An event observer failed on %s", type(event).__name__)

    def close(self) -> None:
        """End every subscription (each reads what it has, then stops)."""
        self.closed = True
        for subscription in list(self._subscriptions):
            subscription.close()


class EventSource:
    """``events()`` and ``observe()`` of an owner of an :class:`EventStream` (``_events``):
    a Server or a Communicator."""

    _events: EventStream

    def events(self) -> Subscription:
        """The events of its calls and texts from now on, oldest first:
        ``async for event in server.events():`` (see :mod:`asteramisk.events`). The
        iteration ends when it closes."""
        return self._events.subscribe()

    def observe(self, observer: Callable[[Event], None]) -> Callable[[], None]:
        """Call ``observer(event)`` at once for each event (quick, never blocking: metrics
        and traces do so); returns what stops it."""
        return self._events.observe(observer)
