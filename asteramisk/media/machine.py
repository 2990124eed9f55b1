"""Who answered an outgoing call, a person or a machine, and when a voicemail greeting ends:
sans I/O, 20 ms frames of the callee's audio in (with the VAD's verdict on each), decisions out.

A person answers with a short word or two ("Hello?", "Yes, this is Ann") and waits; an
answering machine or a call-screening bot speaks on: a greeting of several seconds. So, as
Asterisk's ``AMD()`` does, but on the voice detector the calls already use (Silero's model,
which is not fooled by line noise as AMD's energy threshold is):

- no voice within ``initial_silence_ms``: ``unknown`` (nobody said anything);
- voice for more than ``greeting_ms`` in all, or more than ``max_words`` separate runs of it,
  before a pause of ``after_greeting_ms``: ``machine``;
- a shorter greeting, then ``after_greeting_ms`` of quiet: ``human``;
- still undecided at ``total_ms``: ``machine`` if it is still talking, else ``unknown``.

:class:`BeepDetector` finds the tone a voicemail plays before it records: a pure tone (most of
a frame's energy in one narrow band, 300-2500 Hz) held steady for ``min_ms``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from asteramisk.media.format import FRAME_MS, RATE

__all__ = ["ANSWERED_BY", "BeepDetector", "MachineDetector", "MachineSettings"]

ANSWERED_BY = ("human", "machine", "unknown")


@dataclass(frozen=True)
class MachineSettings:
    """The detector's thresholds, in milliseconds (see the module)."""

    total_ms: int = 4000
    initial_silence_ms: int = 2500
    greeting_ms: int = 1800
    after_greeting_ms: int = 800
    max_words: int = 4
    """Runs of voice separated by at least ``word_gap_ms`` of quiet."""
    word_gap_ms: int = 100

    def __post_init__(self) -> None:
        if not 0 < self.initial_silence_ms <= self.total_ms:
            raise ValueError("initial_silence_ms must be positive and at most total_ms")
        if min(self.greeting_ms, self.after_greeting_ms, self.word_gap_ms, self.max_words) <= 0:
            raise ValueError("greeting_ms, after_greeting_ms, word_gap_ms, max_words: positive")


class MachineDetector:
    """Decides ``human``, ``machine`` or ``unknown`` from the first seconds of an answered
    call (see the module); ``feed`` returns the decision once, then keeps returning it."""

    def __init__(self, settings: MachineSettings | None = None) -> None:
        self.settings = settings or MachineSettings()
        self.decision: str | None = None
        self.decided_at_ms = 0
        """When it decided, in ms of audio fed."""
        self.voice_ms = 0
        self.words = 0
        self._elapsed = 0
        self._quiet = 0
        self._heard = False

    def feed(self, voiced: bool) -> str | None:
        """One 20 ms frame: whether it was voice. The decision, once there is one."""
        if self.decision is not None:
            return self.decision
        s = self.settings
        self._elapsed += FRAME_MS
        if voiced:
            if not self._heard or self._quiet >= s.word_gap_ms:
                self.words += 1
            self._heard = True
            self._quiet = 0
            self.voice_ms += FRAME_MS
        else:
            self._quiet += FRAME_MS
        if not self._heard:
            if self._elapsed >= s.initial_silence_ms:
                return self._decide("unknown")
            return None
        if self.voice_ms > s.greeting_ms or self.words > s.max_words:
            return self._decide("machine")
        if self._quiet >= s.after_greeting_ms:
            return self._decide("human")
        if self._elapsed >= s.total_ms:
            return self._decide("machine" if self._quiet < s.word_gap_ms else "unknown")
        return None

    def _decide(self, decision: str) -> str:
        self.decision = decision
        self.decided_at_ms = self._elapsed
        return decision


class BeepDetector:
    """Finds a voicemail's beep: a steady pure tone (see the module). ``feed`` returns True
    on the frame where a beep that lasted ``min_ms`` ends."""

    def __init__(
        self, *, min_ms: int = 120, purity: float = 0.7, low_hz: int = 300, high_hz: int = 2500
    ) -> None:
        self.min_frames = max(1, min_ms // FRAME_MS)
        self.purity = purity
        self._bins = np.fft.rfftfreq(2 * RATE * FRAME_MS // 1000, 1 / RATE)
        self._band = (self._bins >= low_hz) & (self._bins <= high_hz)
        self._window = np.hanning(2 * RATE * FRAME_MS // 1000)
        self._previous = np.zeros(RATE * FRAME_MS // 1000)
        self._run = 0
        self._pitch = 0.0
        self.beeps = 0

    def tone(self, frame: bytes) -> float:
        """The frequency of the pure tone in this frame (over the last 40 ms), or 0."""
        samples = np.frombuffer(frame, dtype=np.int16).astype(np.float64)
        both = np.concatenate((self._previous, samples))
        self._previous = samples
        power = np.abs(np.fft.rfft(both * self._window)) ** 2
        total = float(power.sum())
        if total < 1e6 * len(both):  # quieter than about -50 dBFS: no tone
            return 0.0
        peak = int(np.argmax(np.where(self._band, power, 0.0)))
        near = float(power[max(0, peak - 2) : peak + 3].sum())
        return float(self._bins[peak]) if near / total >= self.purity else 0.0

    def feed(self, frame: bytes) -> bool:
        pitch = self.tone(frame)
        steady = pitch and (not self._run or abs(pitch - self._pitch) <= 60)
        if steady:
            self._run += 1
            self._pitch = pitch
            return False
        ended = self._run >= self.min_frames
        self._run = 1 if pitch else 0
        self._pitch = pitch
        if ended:
            self.beeps += 1
        return ended
