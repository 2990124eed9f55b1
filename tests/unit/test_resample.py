"""Resampling between the telephone's 8 kHz and the realtime models' 24 kHz, with soxr."""

from __future__ import annotations

import itertools
import math
from array import array

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from asteramisk.media.format import rms, to_phone_rate
from asteramisk.media.resample import Resampler


def tone(hz: float, rate: int, seconds: float, amplitude: int = 32767) -> bytes:
    samples = int(rate * seconds)
    return array(
        "h", (round(amplitude * math.sin(2 * math.pi * hz * n / rate)) for n in range(samples))
    ).tobytes()


def square(rate: int, seconds: float, hz: int = 250) -> bytes:
    samples, period = int(rate * seconds), rate // hz
    return array(
        "h", (32767 if (n // (period // 2)) % 2 else -32768 for n in range(samples))
    ).tobytes()


def max_jump(pcm: bytes) -> int:
    samples = array("h", pcm)
    return max(abs(b - a) for a, b in itertools.pairwise(samples))


def spikes(pcm: bytes) -> int:
    """Samples that leap away from both neighbours by more than half the scale, the same way:
    what a wrap-around (a loud sample flipping sign) looks like."""
    s = array("h", pcm)
    return sum(
        1
        for a, b, c in zip(s, s[1:], s[2:], strict=False)
        if (b - a > 32768 and b - c > 32768) or (a - b > 32768 and c - b > 32768)
    )


@pytest.mark.parametrize(("source", "target"), [(8000, 24000), (24000, 8000)])
def test_full_scale_audio_never_wraps_around(source: int, target: int) -> None:
    for loud in (tone(440, source, 0.2), square(source, 0.2)):
        resampler = Resampler(source, target)
        out = resampler.feed(loud) + resampler.flush()
        expected = len(loud) * target // source
        assert expected - 2 <= len(out) <= expected + 2
        assert spikes(out) == 0
    sine = Resampler(source, target).feed(tone(440, source, 0.2))[200:-200]
    # its steps are those of a full-scale 440 Hz sine at the new rate, no larger
    assert max_jump(sine) <= 1.05 * max_jump(tone(440, target, 0.2))


def test_a_loud_tone_keeps_its_level_and_sign_going_up_and_back() -> None:
    original = array("h", tone(440, 8000, 0.5, amplitude=30000))
    going_up, coming_back = Resampler(8000, 24000), Resampler(24000, 8000)
    up = going_up.feed(original.tobytes()) + going_up.flush()
    back = array("h", coming_back.feed(up) + coming_back.flush())
    assert 0.95 < rms(up) / rms(original.tobytes()) < 1.05
    assert 0.9 < rms(back.tobytes()) / rms(original.tobytes()) < 1.05

    def pairs(lag: int) -> list[tuple[int, int]]:
        return [(original[n], back[n - lag]) for n in range(10, len(back) - 10)]

    lag = min(range(3), key=lambda lag: sum(abs(a - b) for a, b in pairs(lag)))  # the delay
    # no loud sample came back with the other sign (what a wrap-around would do)
    assert not any((a > 5000 and b < -5000) or (a < -5000 and b > 5000) for a, b in pairs(lag))


@pytest.mark.parametrize("rate", [24000, 22050, 16000])
def test_going_down_filters_what_8khz_cannot_carry(rate: int) -> None:
    """A 5 kHz tone has no place at 8 kHz (Nyquist 4 kHz): plain decimation folds it back as
    a loud 3 kHz tone. The filter takes it out by more than 60 dB, streamed or whole (the
    interpolation used before let a cached prompt's aliases through at about 20 dB)."""
    high = tone(5000, rate, 0.5, amplitude=20000)
    resampler = Resampler(rate, 8000)
    streamed = resampler.feed(high) + resampler.flush()
    for out in (streamed, to_phone_rate(high, rate)):
        assert rms(out[800:-800]) < 0.001 * rms(high)
    speech_band = tone(1000, rate, 0.5, amplitude=20000)
    assert 0.95 < rms(to_phone_rate(speech_band, rate)[800:-800]) / rms(speech_band) < 1.05


@given(st.lists(st.integers(min_value=0, max_value=97), min_size=1, max_size=30))
def test_chunks_of_any_size_give_what_one_piece_gives(cuts: list[int]) -> None:
    pcm = tone(300, 24000, 0.1) + tone(1200, 24000, 0.1, amplitude=12000)
    for source, target in ((24000, 8000), (8000, 24000)):
        one = Resampler(source, target)
        whole = one.feed(pcm) + one.flush()
        chunked = Resampler(source, target)
        pieces, start = [], 0
        for cut in cuts:
            pieces.append(chunked.feed(pcm[start : start + cut]))
            start += cut
        pieces.append(chunked.feed(pcm[start:]))
        pieces.append(chunked.flush())
        joined = b"".join(pieces)
        assert len(joined) == len(whole)
        # the same samples, to soxr's float rounding
        difference = np.frombuffer(joined, np.int16).astype(int) - np.frombuffer(whole, np.int16)
        assert np.abs(difference).max() <= 2


def test_bad_rates_are_refused() -> None:
    with pytest.raises(ValueError, match="positive"):
        Resampler(0, 8000)


def test_going_up_without_delay_frame_by_frame() -> None:
    """A caller's 20 ms frames going up to a realtime model: cubic interpolation (QQ) gives
    each frame's 60 ms at 24 kHz at once, where the high-quality filter holds 60 ms back."""
    frames = [tone(440, 8000, 0.02) for _ in range(20)]
    quick, careful = Resampler(8000, 24000, quality="QQ"), Resampler(8000, 24000)
    assert [len(quick.feed(f)) for f in frames][2:] == [3 * 320] * 18
    assert [len(careful.feed(f)) for f in frames][:3] == [0, 0, 0]
