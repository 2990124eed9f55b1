"""Voice activity detection, sans I/O: 20 ms frames in, utterances out.

Each frame is classified voice or not by a :class:`~asteramisk.media.voicing.Voicing` (Silero's
trained model, or the energy fallback: see there). Speech starts after ``start_ms`` of voiced
frames and ends after ``end_ms`` without any (by default the voicing's own, tuned for it).
The utterance ends ``tail_ms`` after its last voiced frame (the rest of the wait is silence a
recogniser would only spend time on) and keeps ``pre_ms`` of audio from before the start, so
the first syllable is not cut. After ``pause_ms`` of quiet a ``pause`` event carries the audio
so far, so that recognition can start before the turn has ended (see
:meth:`~asteramisk.media.speech.Speech.prefetch`). Telephone audio is 8 kHz 16-bit mono.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

from asteramisk.media.format import FRAME_BYTES, FRAME_MS
from asteramisk.media.voicing import EnergyVoicing, Voicing

__all__ = ["FRAME_BYTES", "VoiceActivityDetector", "VoiceEvent"]


@dataclass(frozen=True, slots=True)
class VoiceEvent:
    """``kind`` is ``"start"`` (the person began speaking), ``"pause"`` (they have been quiet
    for ``pause_ms``, with the audio so far: the turn may be ending, the end's audio will be
    the same if they say nothing more) or ``"end"`` (with the audio)."""

    kind: str
    audio: bytes = b""


class VoiceActivityDetector:
    """Turns a stream of 20 ms frames into speech start and end events (see the module)."""

    def __init__(
        self,
        voicing: Voicing | None = None,
        *,
        start_ms: int | None = None,
        end_ms: int | None = None,
        pre_ms: int = 200,
        max_ms: int = 30_000,
        tail_ms: int = 200,
        pause_ms: int = 300,
    ) -> None:
        self.voicing: Voicing = voicing if voicing is not None else EnergyVoicing()
        self._start_frames = max(1, (start_ms or self.voicing.start_ms) // FRAME_MS)
        self.end_ms = end_ms or self.voicing.end_ms
        self._end_frames = max(1, self.end_ms // FRAME_MS)
        self._max_frames = max_ms // FRAME_MS
        self._before: deque[bytes] = deque(maxlen=max(1, pre_ms // FRAME_MS))
        self._utterance = bytearray()
        self._voiced_end = 0
        self._tail_bytes = tail_ms // FRAME_MS * FRAME_BYTES
        self._pause_frames = max(tail_ms, pause_ms) // FRAME_MS
        self._voiced_run = 0
        self._silent_run = 0
        self.speaking = False
        self.voiced = False
        """Whether the last frame fed was voiced."""

    def feed(self, frame: bytes) -> VoiceEvent | None:
        """Feed one 20 ms frame; an event when speech starts or ends at this frame."""
        voiced = self.voiced = self.voicing.voiced(frame)
        if not self.speaking:
            self._before.append(frame)
            self._voiced_run = self._voiced_run + 1 if voiced else 0
            if self._voiced_run >= self._start_frames:
                self.speaking = True
                self._silent_run = 0
                self._utterance = bytearray(b"".join(self._before))
                self._voiced_end = len(self._utterance)
                self._before.clear()
                return VoiceEvent("start")
            return None
        self._utterance += frame
        if voiced:
            self._voiced_end = len(self._utterance)
        self._silent_run = 0 if voiced else self._silent_run + 1
        too_long = len(self._utterance) >= self._max_frames * FRAME_BYTES
        if self._silent_run >= self._end_frames or too_long:
            return self.finish()
        if self._silent_run == self._pause_frames:
            return VoiceEvent("pause", self._heard())
        return None

    def _heard(self) -> bytes:
        """The utterance as it would end now: up to ``tail_ms`` after its last voice."""
        return bytes(self._utterance[: self._voiced_end + self._tail_bytes])

    def finish(self) -> VoiceEvent | None:
        """End the utterance in progress now (the call ended); None if there is none."""
        if not self.speaking:
            return None
        self.speaking = False
        self._voiced_run = 0
        audio, self._utterance = self._heard(), bytearray()
        return VoiceEvent("end", audio)
