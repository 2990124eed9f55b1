"""Pocketsphinx (the VirtualPhone's recogniser, and an option for apps) on phone audio."""

from __future__ import annotations

import numpy as np

from asteramisk.media.stt.pocketsphinx import PocketsphinxEngine, interpolate
from tests.unit.speech_audio import spoken

OPTIONS = ["book a table", "cancel my order", "talk to a person"]


def test_its_grammar_hears_which_phrase_was_said() -> None:
    engine = PocketsphinxEngine()
    for said in OPTIONS:
        assert engine.transcribe(spoken(said.capitalize() + "."), phrases=OPTIONS) == said


def test_phone_audio_reaches_its_16khz_model_by_linear_interpolation() -> None:
    ramp = np.arange(0, 8000, 1000, dtype=np.int16).tobytes()
    up = np.frombuffer(interpolate(ramp, 8000, 16000), dtype=np.int16)
    assert list(up[:6]) == [0, 500, 1000, 1500, 2000, 2500] and len(up) == 16
