"""Silero's VAD and the energy fallback on phone audio: speech found, noise never speech."""

from __future__ import annotations

import numpy as np
import pytest

from asteramisk.config import Config, Settings
from asteramisk.exceptions import ConfigurationError
from asteramisk.media.audio_server import AudioSocketServer
from asteramisk.media.format import FRAME_BYTES, FRAME_SECONDS
from asteramisk.media.vad import VoiceActivityDetector
from asteramisk.media.voicing import (
    EnergyVoicing,
    SileroModels,
    SileroVoicing,
    Voicing,
    voicing_engine,
)
from tests.unit.speech_audio import noise, spoken, with_noise


def events(voicing: Voicing, pcm: bytes) -> list[tuple[str, float]]:
    vad = VoiceActivityDetector(voicing)
    found = []
    for n, start in enumerate(range(0, len(pcm) - FRAME_BYTES + 1, FRAME_BYTES)):
        event = vad.feed(pcm[start : start + FRAME_BYTES])
        if event is not None:
            found.append((event.kind, round((n + 1) * FRAME_SECONDS, 2)))
    return found


async def silero() -> SileroVoicing:
    return await SileroModels().take()


async def test_silero_finds_one_turn_in_a_noisy_answer_and_its_end() -> None:
    answer = spoken("My name is John Smith.")
    line = with_noise(answer + bytes(16000), 400)  # about 20 dB below the words
    found = events(await silero(), line)
    assert [kind for kind, _ in found] == ["start", "pause", "end"]  # paused once: at the end
    words_end = (len(answer) / 2 - 2400) / 8000
    assert 0.3 < found[2][1] - words_end < 1.0  # ended: waited its 500 ms, not much more


async def test_silero_never_takes_steady_noise_for_speech() -> None:
    """White noise at -35 dBFS and no words: the energy detector of old said 'speaking'
    99.8 % of the time."""
    hiss = np.clip(noise(10, 582), -32768, 32767).astype(np.int16).tobytes()
    assert events(await silero(), hiss) == []
    assert [k for k, _ in events(EnergyVoicing(), hiss)].count("start") <= 1


async def test_models_are_loaded_once_and_lent_again() -> None:
    models = SileroModels()
    first = await models.take()
    first.voiced(bytes(FRAME_BYTES))
    models.give(first)
    second = await models.take()
    assert second.model is first.model and models.loaded == 1
    assert second.probability == 0.0


def settings(**values: object) -> Settings:
    config = Config()
    for name, value in values.items():
        setattr(config, name, value)
    return config.snapshot()


def test_vad_engine_and_end_wait_come_from_the_settings() -> None:
    assert voicing_engine("auto") == "silero"
    server = AudioSocketServer.for_settings(settings(VAD_END_MS=900), "127.0.0.1")
    assert (server.vad, server.end_ms) == ("silero", 900)
    with pytest.raises(ConfigurationError, match="VAD_ENGINE"):
        AudioSocketServer.for_settings(settings(VAD_ENGINE="webrtc"), "127.0.0.1")
    with pytest.raises(ConfigurationError, match="VAD_END_MS"):
        assert settings(VAD_END_MS=20).VAD_END_MS == 20


async def test_a_stream_uses_the_servers_detector_and_gives_it_back() -> None:
    server = AudioSocketServer(vad="silero", end_ms=800)
    stream = await server.expect("5f1d7a9c-0000-4000-8000-000000000001")
    assert isinstance(stream.vad.voicing, SileroVoicing) and stream.vad.end_ms == 800
    server.forget(stream.id)
    again = await server.expect("5f1d7a9c-0000-4000-8000-000000000002")
    assert again.vad.voicing is not stream.vad.voicing
    assert again.vad.voicing.model is stream.vad.voicing.model  # type: ignore[attr-defined]
    plain = await AudioSocketServer().expect("5f1d7a9c-0000-4000-8000-000000000003")
    assert isinstance(plain.vad.voicing, EnergyVoicing) and plain.vad.end_ms == 700
