"""Voice activity detection, sans I/O: 20 ms frames in, utterances out.

Energy-based, with a noise floor that follows the line: a frame is voiced when its RMS is above
both ``min_rms`` and ``ratio`` times the noise floor. The floor is the quietest frame of the
last ``floor_ms`` (minimum statistics): speech has pauses, so the floor stays at the line's
noise while someone speaks, and steady noise of any level becomes the floor within
``floor_ms``. (It used to follow only the frames it already called silent, so noise louder
than ``ratio`` times its first guess was taken for speech for good.) Speech starts after
``start_ms`` of voiced frames and ends after ``end_ms`` without any; the utterance keeps
``pre_ms`` of audio from before the start, so the first syllable is not cut. Telephone audio is
8 kHz 16-bit mono.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

from asteramisk.media.format import FRAME_BYTES, FRAME_MS, SAMPLE_WIDTH
from asteramisk.media.pcm import audioop

__all__ = ["FRAME_BYTES", "VoiceActivityDetector", "VoiceEvent"]


@dataclass(frozen=True, slots=True)
class VoiceEvent:
    """``kind`` is ``"start"`` (the person began speaking) or ``"end"`` (with the audio)."""

    kind: str
    audio: bytes = b""


class VoiceActivityDetector:
    """Turns a stream of 20 ms frames into speech start and end events (see the module)."""

    def __init__(
        self,
        *,
        min_rms: int = 300,
        ratio: float = 3.0,
        start_ms: int = 60,
        end_ms: int = 700,
        pre_ms: int = 200,
        max_ms: int = 30_000,
        floor_ms: int = 2_000,
    ) -> None:
        self.min_rms = min_rms
        self.ratio = ratio
        self._start_frames = max(1, start_ms // FRAME_MS)
        self._end_frames = max(1, end_ms // FRAME_MS)
        self._max_frames = max_ms // FRAME_MS
        self._before: deque[bytes] = deque(maxlen=max(1, pre_ms // FRAME_MS))
        self._utterance = bytearray()
        self._voiced_run = 0
        self._silent_run = 0
        self.noise = float(min_rms) / ratio
        """The noise floor (RMS): the quietest frame of the last ``floor_ms`` (at first, a
        guess of a quiet line, so that a caller who speaks at once is heard)."""
        self._floor_frames = max(1, floor_ms // FRAME_MS)
        # (frame number, rms), rising: a sliding minimum; the guess counts for floor_ms
        self._quietest: deque[tuple[int, int]] = deque([(-1, int(self.noise))])
        self._frames = 0
        self.speaking = False
        self.voiced = False
        """Whether the last frame fed was voiced."""

    def _voiced(self, frame: bytes) -> bool:
        rms = audioop.rms(frame, SAMPLE_WIDTH)
        quietest, number = self._quietest, self._frames
        self._frames += 1
        while quietest and quietest[-1][1] >= rms:
            quietest.pop()
        quietest.append((number, rms))
        if quietest[0][0] <= number - self._floor_frames:
            quietest.popleft()
        self.noise = float(quietest[0][1])
        return rms > self.min_rms and rms > self.ratio * self.noise

    def feed(self, frame: bytes) -> VoiceEvent | None:
        """Feed one 20 ms frame; an event when speech starts or ends at this frame."""
        voiced = self.voiced = self._voiced(frame)
        if not self.speaking:
            self._before.append(frame)
            self._voiced_run = self._voiced_run + 1 if voiced else 0
            if self._voiced_run >= self._start_frames:
                self.speaking = True
                self._silent_run = 0
                self._utterance = bytearray(b"".join(self._before))
                self._before.clear()
                return VoiceEvent("start")
            return None
        self._utterance += frame
        self._silent_run = 0 if voiced else self._silent_run + 1
        too_long = len(self._utterance) >= self._max_frames * FRAME_BYTES
        if self._silent_run >= self._end_frames or too_long:
            return self.finish()
        return None

    def finish(self) -> VoiceEvent | None:
        """End the utterance in progress now (the call ended); None if there is none."""
        if not self.speaking:
            return None
        self.speaking = False
        self._voiced_run = 0
        audio, self._utterance = bytes(self._utterance), bytearray()
        return VoiceEvent("end", audio)
