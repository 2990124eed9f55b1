"""The telephone audio format, in one place, and the helpers that read, write and convert it.

Asterisk hands us, and plays without transcoding, signed 16-bit little-endian mono PCM at
8 kHz ("slin"), in 20 ms frames. Everything in the library that counts bytes, frames or
seconds of call audio takes its numbers from here.
"""

from __future__ import annotations

import io
import os
import tempfile
import wave
from pathlib import Path
from typing import IO

import numpy as np
import soxr

__all__ = [
    "BYTES_PER_SECOND",
    "DTMF_KEYS",
    "FRAME_BYTES",
    "FRAME_MS",
    "FRAME_SECONDS",
    "RATE",
    "SAMPLE_WIDTH",
    "SILENT_FRAME",
    "SOXR_QUALITY",
    "read_wav",
    "rms",
    "seconds",
    "to_phone_rate",
    "wav_bytes",
    "write_wav",
]

RATE = 8000
"""Samples per second of call audio."""
SAMPLE_WIDTH = 2
"""Bytes per sample (signed 16-bit little endian, mono)."""
BYTES_PER_SECOND = RATE * SAMPLE_WIDTH
FRAME_MS = 20
"""Milliseconds of audio in one frame (what AudioSocket and RTP carry at a time)."""
FRAME_SECONDS = FRAME_MS / 1000
FRAME_BYTES = BYTES_PER_SECOND * FRAME_MS // 1000
"""Bytes of one 20 ms frame: 320."""
SILENT_FRAME = bytes(FRAME_BYTES)
DTMF_KEYS = "0123456789*#"
"""The keys of a telephone keypad."""
SOXR_QUALITY = "HQ"
"""soxr's high quality, for every rate conversion: 20-bit precision, a steep anti-alias filter
(more than 100 dB of alias rejection)."""


def seconds(pcm: bytes | bytearray, rate: int = RATE) -> float:
    """How long ``pcm`` (16-bit mono at ``rate``) plays."""
    return len(pcm) / (rate * SAMPLE_WIDTH)


def to_phone_rate(pcm: bytes, rate: int) -> bytes:
    """16-bit mono ``pcm`` at ``rate`` Hz converted to 8 kHz with soxr (a whole piece of
    audio; for a stream of chunks use :class:`asteramisk.media.resample.Resampler`)."""
    if rate == RATE:
        return pcm
    samples = np.frombuffer(pcm, dtype=np.int16, count=len(pcm) // SAMPLE_WIDTH)
    converted: np.ndarray = soxr.resample(samples, rate, RATE, quality=SOXR_QUALITY)
    return converted.astype(np.int16, copy=False).tobytes()


def rms(pcm: bytes) -> float:
    """The root mean square of 16-bit ``pcm`` (0 for none): how loud it is."""
    samples = np.frombuffer(pcm, dtype=np.int16, count=len(pcm) // SAMPLE_WIDTH)
    if not len(samples):
        return 0.0
    values = samples.astype(np.float64)
    return float(np.sqrt(np.dot(values, values) / len(values)))


def read_wav(path: str | os.PathLike[str]) -> tuple[bytes, int]:
    """The PCM of a 16-bit mono WAV file and its rate."""
    with wave.open(str(path), "rb") as audio:
        if audio.getsampwidth() != SAMPLE_WIDTH or audio.getnchannels() != 1:
            raise ValueError(f"{path} is not 16-bit mono WAV")
        return audio.readframes(audio.getnframes()), audio.getframerate()


def wav_bytes(pcm: bytes, rate: int = RATE) -> bytes:
    """16-bit mono ``pcm`` as the bytes of a WAV file."""
    out = io.BytesIO()
    _write(out, pcm, rate)
    return out.getvalue()


def write_wav(path: str | os.PathLike[str], pcm: bytes, rate: int = RATE) -> None:
    """Write 16-bit mono ``pcm`` as a WAV file at ``path``, atomically (no reader ever sees a
    half file) and readable by others (Asterisk runs as another user)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".part")
    try:
        with os.fdopen(fd, "wb") as raw:
            _write(raw, pcm, rate)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _write(raw: IO[bytes], pcm: bytes, rate: int) -> None:
    with wave.open(raw, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(SAMPLE_WIDTH)
        out.setframerate(rate)
        out.writeframes(pcm)
