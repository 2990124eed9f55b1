"""Person or machine, and the voicemail's beep, on synthesised phone audio (sans I/O)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from asteramisk.exceptions import HangupException
from asteramisk.media.audio_server import AudioStream
from asteramisk.media.format import FRAME_BYTES
from asteramisk.media.machine import BeepDetector, MachineDetector, MachineSettings
from asteramisk.media.voicing import SileroModels
from asteramisk.testing.fakes import fake_call
from asteramisk.testing.phone_call import tone
from asteramisk.ui.machine import detect_answerer
from tests.unit.speech_audio import spoken, with_noise

GREETING = (
    "Hi, you have reached the voicemail of John Smith. I cannot take your call right now. "
    "Please leave your name, your number and a short message after the tone."
)


def beep(ms: int = 400, hz: float = 1000.0) -> bytes:
    return tone(ms, hz)


def frames(pcm: bytes) -> list[bytes]:
    return [pcm[i : i + FRAME_BYTES] for i in range(0, len(pcm) - FRAME_BYTES + 1, FRAME_BYTES)]


async def answered_by(pcm: bytes) -> tuple[str | None, int]:
    voicing = await SileroModels().take()
    detector = MachineDetector()
    for frame in frames(pcm + bytes(8000 * 2 * 5)):
        if detector.feed(voicing.voiced(frame)) is not None:
            break
    return detector.decision, detector.decided_at_ms


@pytest.mark.parametrize("noise", [0, 300])
async def test_a_person_saying_hello_is_human_within_two_seconds(noise: int) -> None:
    hello = bytes(8000) + spoken("Hello?")  # half a second, then the word
    decision, at_ms = await answered_by(with_noise(hello, noise) if noise else hello)
    assert decision == "human" and at_ms < 2500


@pytest.mark.parametrize("noise", [0, 300])
async def test_a_voicemail_greeting_is_a_machine_before_it_ends(noise: int) -> None:
    greeting = spoken(GREETING)
    decision, at_ms = await answered_by(with_noise(greeting, noise) if noise else greeting)
    assert decision == "machine" and at_ms < 3000


async def test_silence_is_unknown_after_the_initial_silence() -> None:
    assert await answered_by(bytes(8000 * 2)) == ("unknown", 2500)


def test_thresholds_are_checked() -> None:
    with pytest.raises(ValueError, match="initial_silence_ms"):
        MachineSettings(initial_silence_ms=5000, total_ms=4000)


def test_the_beep_is_found_where_it_ends_and_only_there() -> None:
    detector = BeepDetector()
    audio = spoken(GREETING) + bytes(3200) + beep(400) + bytes(8000)
    ends = [n for n, f in enumerate(frames(audio)) if detector.feed(f)]
    beep_end = (len(spoken(GREETING)) + 3200 + len(beep(400))) // FRAME_BYTES
    assert len(ends) == 1 and abs(ends[0] - beep_end) <= 2


@pytest.mark.parametrize("hz", [440.0, 850.0, 1400.0, 2000.0])
def test_beeps_of_any_usual_pitch_are_beeps(hz: float) -> None:
    detector = BeepDetector()
    assert sum(detector.feed(f) for f in frames(bytes(3200) + beep(300, hz) + bytes(3200))) == 1


def test_speech_and_noise_are_not_beeps() -> None:
    detector = BeepDetector()
    for text in (GREETING, "Hello? Yes, who is calling, please?", "Mmmmmm. Ooooh."):
        assert not any(detector.feed(f) for f in frames(with_noise(spoken(text), 200)))
    assert not any(detector.feed(f) for f in frames(with_noise(bytes(8000 * 2 * 4), 800)))
    assert not any(detector.feed(f) for f in frames(beep(60)))  # a click of tone is not one


async def feeding(stream: AudioStream, pcm: bytes) -> None:
    """Asterisk's side: ``pcm`` arrives on the call's stream, 100 ms at a time."""
    await asyncio.sleep(0.01)
    for start in range(0, len(pcm), 1600):
        stream.on_audio(pcm[start : start + 1600])
        await asyncio.sleep(0)


async def test_a_call_is_answered_by_whoever_its_audio_says(tmp_path: Path) -> None:
    for audio, expected in (
        (bytes(4000) + spoken("Hello?") + bytes(32000), "human"),
        (spoken(GREETING), "machine"),
        (bytes(64000), "unknown"),
    ):
        call = fake_call(tmp_path)
        stream = await call.ui.audio.stream()
        feeder = asyncio.create_task(feeding(stream, audio))
        assert await detect_answerer(call.ui.audio) == expected
        assert stream.frame_listeners == []  # it stopped listening
        await feeder


async def test_wait_for_beep_returns_at_the_beep_or_the_quiet_after_the_greeting(
    tmp_path: Path,
) -> None:
    for audio, expected in (
        (spoken(GREETING) + beep(400) + bytes(16000), True),
        (spoken(GREETING) + bytes(48000), False),  # no beep: 2 s of quiet end it
    ):
        call = fake_call(tmp_path)
        stream = await call.ui.audio.stream()
        feeder = asyncio.create_task(feeding(stream, audio))
        assert await call.ui.wait_for_beep(timeout=10) is expected
        await feeder
    call = fake_call(tmp_path)
    assert await call.ui.wait_for_beep(timeout=0.2) is False  # nothing came
    await call.control.hangup()
    with pytest.raises(HangupException):
        await call.ui.wait_for_beep(timeout=1)
