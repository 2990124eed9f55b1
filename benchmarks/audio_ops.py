"""The sample arithmetic of a call, audioop against NumPy, on the Python that runs this.

Asteramisk does four things to every 20 ms frame of a call: measure its loudness (RMS, for the
VAD and barge-in), change its rate (8/16/24 kHz), add two frames (tests) and encode mu-law
(SIPp's audio). ``audioop`` left the standard library in Python 3.13; ``audioop-lts`` is the
same C code on PyPI. This measures each operation both ways on one frame, in the same run:

    .venv/bin/python benchmarks/audio_ops.py
    # and on 3.13/3.14 in the sandbox root, after scripts/test-pythons:
    chroot /var/cache/asteramisk/sid-root /opt/asteramisk-pythons/py3.14/bin/python \\
        - < benchmarks/audio_ops.py
"""

from __future__ import annotations

import math
import sys
import timeit
import warnings
from collections.abc import Callable

with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    import audioop

import numpy as np

RATE = 16000
FRAME = RATE // 50  # samples in 20 ms


def frame() -> bytes:
    tone = [int(8000 * math.sin(2 * math.pi * 440 * i / RATE)) for i in range(FRAME)]
    return np.array(tone, dtype="<i2").tobytes()


def numpy_rms(pcm: bytes) -> float:
    samples = np.frombuffer(pcm, dtype="<i2").astype(np.float64)
    return float(np.sqrt(np.mean(samples * samples)))


def numpy_ratecv(pcm: bytes) -> bytes:
    """Linear interpolation 16 kHz -> 8 kHz (what audioop.ratecv does, without its state)."""
    samples = np.frombuffer(pcm, dtype="<i2").astype(np.float32)
    positions = np.arange(0, len(samples), 2, dtype=np.float32)
    out = np.interp(positions, np.arange(len(samples)), samples)
    return out.astype("<i2").tobytes()


def numpy_add(a: bytes, b: bytes) -> bytes:
    total = np.frombuffer(a, dtype="<i2").astype(np.int32) + np.frombuffer(b, dtype="<i2")
    return bytes(np.clip(total, -32768, 32767).astype("<i2").tobytes())


def numpy_ulaw(pcm: bytes) -> bytes:
    x = np.frombuffer(pcm, dtype="<i2").astype(np.float64) / 32768.0
    y = np.sign(x) * np.log1p(255 * np.abs(x)) / np.log1p(255)
    return bytes(((y + 1) / 2 * 255).astype(np.uint8).tobytes())


def per_frame_us(operation: Callable[[], object]) -> float:
    runs = 20000
    best = min(timeit.repeat(operation, number=runs, repeat=5))
    return best / runs * 1e6


def main() -> None:
    pcm = frame()
    assert abs(audioop.rms(pcm, 2) - numpy_rms(pcm)) < 2
    cases: list[tuple[str, Callable[[], object], Callable[[], object]]] = [
        ("rms", lambda: audioop.rms(pcm, 2), lambda: numpy_rms(pcm)),
        (
            "ratecv 16k->8k",
            lambda: audioop.ratecv(pcm, 2, 1, RATE, 8000, None),
            lambda: numpy_ratecv(pcm),
        ),
        ("add", lambda: audioop.add(pcm, pcm, 2), lambda: numpy_add(pcm, pcm)),
        ("lin2ulaw", lambda: audioop.lin2ulaw(pcm, 2), lambda: numpy_ulaw(pcm)),
    ]
    source = "stdlib" if audioop.__file__ is None or "site-packages" not in audioop.__file__ else ""
    where = source or "audioop-lts"
    print(f"Python {sys.version.split()[0]}, audioop from {where}, NumPy {np.__version__}")
    print(f"{'operation (one 20 ms frame)':30} {'audioop µs':>11} {'NumPy µs':>9} {'ratio':>6}")
    for name, with_audioop, with_numpy in cases:
        a = per_frame_us(with_audioop)
        n = per_frame_us(with_numpy)
        print(f"{name:30} {a:11.2f} {n:9.2f} {n / a:6.1f}")


if __name__ == "__main__":
    main()
