"""Moonshine, the offline recogniser of the local extra, for real (its model ships in its wheel)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from asteramisk.config import Config
from asteramisk.exceptions import STTError
from asteramisk.media.format import read_wav
from asteramisk.media.stt.moonshine import MoonshineTranscriber
from asteramisk.media.stt.registry import create_transcriber, engine_name
from tests.unit.speech_audio import spoken, with_noise

SPEECH_SET = Path(__file__).parents[2] / "benchmarks" / "data" / "speech"


async def test_it_hears_what_a_caller_says_on_a_phone_line() -> None:
    engine = MoonshineTranscriber(workers=1)
    try:
        heard = await engine.transcribe(spoken("I would like sales please."))
        assert "sales" in heard.lower()
        assert await engine.transcribe(spoken("My account number is 4 5 6 7.")) != ""
    finally:
        await engine.close()


async def test_phrases_bring_back_the_phrase_the_app_expects_even_in_noise() -> None:
    engine = MoonshineTranscriber(workers=1)
    options = ["sales", "support", "billing"]
    try:
        clean = spoken("I need technical support.")
        assert await engine.transcribe(clean, options) == "support"
        assert await engine.transcribe(with_noise(clean, 300), options) == "support"
        assert await engine.transcribe(spoken("What time do you open?"), options) == ""
    finally:
        await engine.close()


async def test_too_many_waiting_fails_at_once_instead_of_queueing() -> None:
    engine = MoonshineTranscriber(workers=1, max_waiting=1)
    audio = spoken("Hello there, this is a test of the queue.")
    try:
        results = await asyncio.gather(
            *(engine.transcribe(audio) for _ in range(3)), return_exceptions=True
        )
        assert [isinstance(r, str) and r != "" for r in results] == [True, True, False]
        assert isinstance(results[2], STTError) and "overloaded" in str(results[2])
        assert engine.pending == 0
        assert await engine.transcribe(audio)  # and then it goes on
    finally:
        await engine.close()
    with pytest.raises(STTError, match="closed"):
        await engine.transcribe(audio)


async def test_less_than_a_frame_is_nothing_said() -> None:
    engine = MoonshineTranscriber()
    assert await engine.transcribe(b"\x00\x01" * 10) == ""
    await engine.close()


def test_auto_is_moonshine_when_it_is_installed() -> None:
    assert engine_name("auto") == "moonshine"
    assert isinstance(create_transcriber(Config().snapshot()), MoonshineTranscriber)


async def test_a_turn_transcribed_at_its_pause_is_not_transcribed_again() -> None:
    """The caller paused: recognition started then; the end of the turn (the same audio)
    takes that result, another turn does not."""
    engine = MoonshineTranscriber(workers=1)
    said = spoken("I would like sales please.")
    try:
        engine.prefetch(said)
        engine.prefetch(said)  # told twice: one transcription
        assert engine.pending == 1
        assert await engine.transcribe(said, ["sales", "support"]) == "sales"
        assert engine.prefetched == 1
        assert await engine.transcribe(spoken("Support.")) != ""
        assert engine.prefetched == 1 and engine.pending == 0
    finally:
        await engine.close()


async def test_prefetches_use_idle_threads_only_and_unclaimed_ones_are_dropped() -> None:
    engine = MoonshineTranscriber(workers=2)
    engine.early_kept = 1
    first, second = spoken("Sales."), spoken("Support.")
    try:
        engine.prefetch(first)
        engine.prefetch(second)  # the older one, unclaimed, is dropped
        engine.prefetch(spoken("Billing."))  # both threads busy: not started
        assert engine.pending <= 2
        assert await engine.transcribe(second) != "" and engine.prefetched == 1
        assert await engine.transcribe(first) != "" and engine.prefetched == 1  # done again
    finally:
        await engine.close()
    await asyncio.sleep(0)
    assert engine.pending == 0


async def test_the_quiet_before_the_words_is_not_heard_as_a_word() -> None:
    # A SIP peer sends exact zeros for quiet; with the VAD's pre-roll, 300-400 ms of it come
    # before the words, and tiny-en's own segmenter made them a segment of their own: "You".
    engine = MoonshineTranscriber(workers=1)
    quiet = bytes(3200 * 2)  # 0.4 s
    try:
        for file, first in (("10.wav", "no"), ("28.wav", "can")):  # the shipped speech set
            pcm, _ = read_wav(SPEECH_SET / "joe" / file)
            heard = await engine.transcribe(quiet + pcm)
            assert heard.split()[0].strip(",.?").lower() == first, heard
    finally:
        await engine.close()
