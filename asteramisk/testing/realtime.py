"""Script a realtime (speech-to-speech) agent's model for tests, with the Agents SDK's
``ScriptedRealtimeModel``: steps that wait for the end of the caller's turn, and replies spoken
by the offline TTS at the model's 24 kHz::

    from agents.realtime.testing import RealtimeStep, ScriptedRealtimeModel
    from asteramisk.testing.realtime import TurnEnd, spoken

    model = ScriptedRealtimeModel(
        [RealtimeStep(expect=TurnEnd(), emit=spoken("Your table is booked."))]
    )
    await ui.connect_openai_agent(agent, mode="realtime", realtime_model=model)
"""

from __future__ import annotations

import time

from agents.realtime.items import AssistantAudio, AssistantMessageItem
from agents.realtime.model_events import (
    RealtimeModelAudioDoneEvent,
    RealtimeModelAudioEvent,
    RealtimeModelEvent,
    RealtimeModelItemUpdatedEvent,
)
from agents.realtime.model_inputs import RealtimeModelSendAudio

from asteramisk.media.format import rms
from asteramisk.media.resample import Resampler

__all__ = ["TurnEnd", "spoken"]

MODEL_RATE = 24000
"""The sample rate of a realtime model's audio (PCM16, mono)."""


class TurnEnd:
    """Matches the audio send that ends the caller's turn, as a realtime model's own turn
    detection would: after some speech (10 sends louder than ``loud``), 500 ms of quiet (25
    sends of 20 ms). Use it as a ``RealtimeStep``'s ``expect``; the step's events are emitted
    then. ``fired``, if given, gets the ``time.monotonic()`` of each match."""

    loud = 800
    """The RMS above which a send counts as speech."""

    def __init__(self, fired: list[float] | None = None) -> None:
        self.speech = self.quiet = 0
        self.fired = fired

    def __call__(self, event: object) -> bool:
        if not isinstance(event, RealtimeModelSendAudio):
            return False
        if rms(event.audio) > self.loud:
            self.speech, self.quiet = self.speech + 1, 0
        elif self.speech >= 10:
            self.quiet += 1
        if self.speech >= 10 and self.quiet >= 25:
            if self.fired is not None:
                self.fired.append(time.monotonic())
            return True
        return False


def spoken(text: str, response: str = "r1", item: str = "a1") -> list[RealtimeModelEvent]:
    """The model's events for saying ``text``: its audio (the offline TTS, at 24 kHz, in
    100 ms pieces), audio done, and the assistant item with ``text`` as its transcript.
    ``response`` and ``item`` are the ids the events carry (one pair per reply)."""
    from asteramisk.config import config
    from asteramisk.media.tts import create_engine

    audio = create_engine(config.TTS_ENGINE).synthesize(text)
    resampler = Resampler(audio.rate, MODEL_RATE)
    pcm = resampler.feed(audio.pcm) + resampler.flush()
    piece = MODEL_RATE // 10 * 2
    events: list[RealtimeModelEvent] = [
        RealtimeModelAudioEvent(
            data=pcm[i : i + piece], response_id=response, item_id=item, content_index=0
        )
        for i in range(0, len(pcm), piece)
    ]
    events.append(RealtimeModelAudioDoneEvent(item_id=item, content_index=0))
    events.append(
        RealtimeModelItemUpdatedEvent(
            item=AssistantMessageItem(item_id=item, content=[AssistantAudio(transcript=text)])
        )
    )
    return events
