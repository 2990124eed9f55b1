"""Phone audio of spoken words for the speech tests: piper's joe voice (offline), at 8 kHz
through soxr, with white noise when asked (seeded)."""

from __future__ import annotations

import functools

import numpy as np
import soxr

from asteramisk.media.tts.piper import PiperEngine


@functools.cache
def spoken(text: str) -> bytes:
    """``text`` said by piper, as 8 kHz 16-bit PCM with 0.3 s of quiet either side."""
    audio = PiperEngine().synthesize(text)
    samples = np.frombuffer(audio.pcm, dtype=np.int16)
    phone = soxr.resample(samples, audio.rate, 8000).astype(np.int16)
    quiet = np.zeros(2400, dtype=np.int16)
    return np.concatenate([quiet, phone, quiet]).tobytes()


def noise(seconds: float, rms: float, seed: int = 7) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return rng.standard_normal(int(seconds * 8000)) * rms


def with_noise(pcm: bytes, rms: float, seed: int = 7) -> bytes:
    samples = np.frombuffer(pcm, dtype=np.int16).astype(np.float64)
    noisy = samples + noise(len(samples) / 8000, rms, seed)
    return np.clip(noisy, -32768, 32767).astype(np.int16).tobytes()
