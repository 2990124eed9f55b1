"""The phone-audio speech test set (``data/speech``, made by ``make_speech_set.py``), read in a
condition: clean, or with white noise at 20 dB or 10 dB below the speech; always through a G.711
mu-law round trip, as a caller's voice reaches the app. The noise is seeded by file and
condition, so each condition is the same audio on every run.
"""

from __future__ import annotations

import json
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from asteramisk.media.format import read_wav

DATA = Path(__file__).resolve().parent / "data" / "speech"
VOICES = ("joe", "slt")
CONDITIONS: dict[str, float | None] = {"clean": None, "20 dB": 20.0, "10 dB": 10.0}
PAD_SECONDS = 0.3
"""Line noise before and after the words, as a listener's utterance has."""


@dataclass(frozen=True)
class Clip:
    text: str
    kind: str
    voice: str
    file: str
    phrases: tuple[str, ...] | None
    expect: str | None
    pcm: bytes
    """8 kHz 16-bit mono, after noise and G.711."""
    onset: float
    """Seconds from the start of ``pcm`` to the first word."""
    offset: float
    """Seconds from the start of ``pcm`` to the end of the last word."""


def ulaw_round_trip(samples: np.ndarray) -> np.ndarray:
    """16-bit samples through a G.711 mu-law encoder and decoder (ITU-T G.711 segments)."""
    x = samples.astype(np.int32)
    sign = x < 0
    magnitude = np.minimum(np.abs(x), 32635) + 0x84
    exponent = np.floor(np.log2(magnitude)).astype(np.int32) - 7
    mantissa = (magnitude >> (exponent + 3)) & 0x0F
    decoded = (((mantissa << 3) + 0x84) << exponent) - 0x84
    return np.where(sign, -decoded, decoded).astype(np.int16)


def speech_rms(samples: np.ndarray) -> float:
    """RMS of the 20 ms frames within 30 dB of the loudest: the speech, not the pauses."""
    frames = samples[: len(samples) // 160 * 160].astype(np.float64).reshape(-1, 160)
    energies = np.sqrt((frames**2).mean(axis=1))
    active = energies[energies > energies.max() / 31.6]
    return float(np.sqrt((active**2).mean()))


def speech_bounds(samples: np.ndarray) -> tuple[int, int]:
    """The first and last sample of the 10 ms frames within 30 dB of the loudest."""
    frames = samples[: len(samples) // 80 * 80].astype(np.float64).reshape(-1, 80)
    energies = np.sqrt((frames**2).mean(axis=1))
    loud = np.flatnonzero(energies > energies.max() / 31.6)
    return int(loud[0]) * 80, (int(loud[-1]) + 1) * 80


def condition(
    samples: np.ndarray,
    snr: float | None,
    seed: str,
    before: float = PAD_SECONDS,
    after: float = PAD_SECONDS,
) -> np.ndarray:
    """``samples`` with ``before``/``after`` seconds of the line around them, noise at ``snr``
    dB below the speech (None: none), through G.711."""
    speech = np.concatenate(
        [np.zeros(int(before * 8000)), samples.astype(np.float64), np.zeros(int(after * 8000))]
    )
    if snr is not None:
        rng = np.random.default_rng(zlib.crc32(seed.encode()))
        noise = rng.standard_normal(len(speech)) * speech_rms(samples) / 10 ** (snr / 20)
        speech = speech + noise
    return ulaw_round_trip(np.clip(speech, -32768, 32767).astype(np.int16))


def manifest() -> list[dict[str, object]]:
    entries: list[dict[str, object]] = json.loads((DATA / "manifest.json").read_text())
    return entries


def raw(voice: str, file: str) -> bytes:
    """One recording as made (8 kHz 16-bit, no noise, no G.711)."""
    pcm, rate = read_wav(DATA / voice / file)
    assert rate == 8000, rate
    return pcm


def clips(
    name: str,
    voices: tuple[str, ...] = VOICES,
    before: float = PAD_SECONDS,
    after: float = PAD_SECONDS,
) -> Iterator[Clip]:
    """Every utterance of the set in condition ``name`` (a key of ``CONDITIONS``), with
    ``before``/``after`` seconds of the line around it."""
    snr = CONDITIONS[name]
    for entry in manifest():
        for voice in voices:
            pcm, rate = read_wav(DATA / voice / str(entry["file"]))
            assert rate == 8000, rate
            samples = np.frombuffer(pcm, dtype=np.int16)
            first, last = speech_bounds(samples)
            noisy = condition(samples, snr, f"{voice}/{entry['file']}/{name}", before, after)
            phrases = entry.get("phrases")
            yield Clip(
                text=str(entry["text"]),
                kind=str(entry["kind"]),
                voice=voice,
                file=str(entry["file"]),
                phrases=tuple(phrases) if isinstance(phrases, list) else None,
                expect=str(entry["expect"]) if entry.get("expect") else None,
                pcm=noisy.tobytes(),
                onset=before + first / 8000,
                offset=before + last / 8000,
            )
