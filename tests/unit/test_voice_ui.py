"""VoiceUI and CallAudio on the shipped FakeCallControl: the voice verbs without Asterisk.

Each behaviour is checked on both transports' shapes where they differ: ``ari`` (the caller
can be heard while a file plays) and ``agi`` (the audio stream ends with any other command).
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from asteramisk.exceptions import HangupException
from asteramisk.testing.fakes import FakeCall, fake_call, silence, tone

TRANSPORTS = ("ari", "agi")


def later(delay: float, action: object) -> asyncio.TimerHandle:
    """Run ``action`` (a no-argument callable) ``delay`` seconds from now."""
    assert callable(action)
    return asyncio.get_running_loop().call_later(delay, action)


@pytest.fixture(params=TRANSPORTS)
def transport(request: pytest.FixtureRequest) -> str:
    return str(request.param)


async def test_say_plays_the_synthesised_sentence(tmp_path: Path, transport: str) -> None:
    call = fake_call(tmp_path, transport=transport)
    await call.ui.say("Thank you for calling.")
    await call.ui.say("Thank you for calling.")
    assert call.heard == ["Thank you for calling.", "Thank you for calling."]
    assert call.tts.texts == ["Thank you for calling."]  # the second time from the cache
    assert call.ui.transcript == [("say", "Thank you for calling.")] * 2


async def test_a_key_stops_what_is_said_and_counts_for_gather(
    tmp_path: Path, transport: str
) -> None:
    call = fake_call(tmp_path, transport=transport, play_seconds=5)
    later(0.1, lambda: call.control.press("7"))
    loop = asyncio.get_running_loop()
    started = loop.time()
    await call.ui.say("A very long announcement.")
    assert loop.time() - started < 1  # stopped by the key, not played for 5 s
    assert call.control.stopped == call.control.played
    assert await call.ui.gather("Press a key.", num_digits=1, timeout=0.5) == "7"
    assert call.heard == ["A very long announcement."]  # the key answered: not asked again


async def test_gather_takes_typed_ahead_keys_and_skips_the_prompt(
    tmp_path: Path, transport: str
) -> None:
    call = fake_call(tmp_path, transport=transport)
    call.control.press("12")
    assert await call.ui.gather("Enter your code.", num_digits=2, timeout=0.5) == "12"
    assert call.heard == []  # the keys were there first: the caller is not made to listen


async def test_gather_ends_at_the_finish_key_or_the_timeout(tmp_path: Path) -> None:
    call = fake_call(tmp_path)
    call.control.press("42#9")
    assert await call.ui.gather(num_digits=5, timeout=0.5) == "42"
    loop = asyncio.get_running_loop()
    started = loop.time()
    assert await call.ui.gather(num_digits=3, timeout=0.3) == "9"  # then nothing came
    assert 0.25 < loop.time() - started < 1.5


async def test_the_callers_voice_stops_what_is_said_once_the_app_listens(tmp_path: Path) -> None:
    call = fake_call(tmp_path, transport="ari", play_seconds=5, answers=["operator"])
    later(0.2, lambda: call.control.speak(tone(0.3)))
    later(0.6, lambda: call.control.speak(silence(1.0)))
    loop = asyncio.get_running_loop()
    started = loop.time()
    assert await call.ui.prompt("Say the name of the department.") == "operator"
    assert loop.time() - started < 3  # the caller did not wait for the 5 s prompt
    assert call.control.stopped == call.control.played


async def test_barge_in_off_lets_the_prompt_play_out(tmp_path: Path) -> None:
    call = fake_call(tmp_path, transport="ari", play_seconds=0.6, answers=["operator"])
    call.ui.barge_in = False
    later(0.1, lambda: call.control.speak(tone(0.3) + silence(1.0)))
    assert await call.ui.prompt("Say the name of the department.", timeout=2) == "operator"
    assert call.control.stopped == []


async def test_prompt_is_answered_by_speech(tmp_path: Path, transport: str) -> None:
    call = fake_call(tmp_path, transport=transport, answers=["sales please"])
    later(0.1, call.control.say_words)
    answer = await call.ui.prompt("Which department?", phrases=["sales please", "support"])
    assert answer == "sales please"
    assert call.stt.requests[0][1] == ["sales please", "support"]
    assert call.stt.requests[0][0] > 0.3 * 16000  # the caller's words went to the recogniser
    assert ("heard", "sales please") in call.ui.transcript
    assert call.heard == ["Which department?"]


async def test_prompt_is_answered_by_keys(tmp_path: Path, transport: str) -> None:
    call = fake_call(tmp_path, transport=transport)
    later(0.1, lambda: call.control.press("42#"))
    assert await call.ui.prompt("Your account number?", timeout=2) == "42"
    assert call.stt.requests == []  # nothing was said: nothing transcribed


async def test_prompt_asks_again_then_gives_up(tmp_path: Path) -> None:
    call = fake_call(tmp_path)
    assert await call.ui.prompt("Are you there?", timeout=0.2, retries=1) == ""
    assert call.heard == ["Are you there?", "Are you there?"]


async def test_gather_by_speech_returns_the_digits_said(tmp_path: Path, transport: str) -> None:
    call = fake_call(tmp_path, transport=transport, answers=["four two oh"])
    later(0.1, call.control.say_words)
    assert await call.ui.gather("Say your code.", num_digits=3, speech=True) == "420"


async def test_stream_speech_is_cut_by_the_callers_voice(tmp_path: Path) -> None:
    """CallAudio.send (the AGI way to speak while listening): the caller talking drops what
    is queued at once."""
    call = fake_call(tmp_path, transport="agi")
    audio = call.ui.audio
    item = await audio.prepare("x" * 300)  # 3 s of speech
    assert item.pcm and not item.sound  # AGI speaks over the stream
    await audio.stream()
    later(0.3, lambda: call.control.speak(tone(0.3)))
    loop = asyncio.get_running_loop()
    started = loop.time()
    assert await audio.speak(item) is True
    assert loop.time() - started < 1.5
    stream = await audio.stream()
    assert not stream.sending  # the rest was dropped
    assert 0 < len(call.control.sent_audio) < len(item.pcm)
    await call.control.close()


async def test_stream_speech_plays_out_when_nobody_interrupts(tmp_path: Path) -> None:
    call = fake_call(tmp_path, transport="agi")
    item = await call.ui.audio.prepare("x" * 30)  # 0.3 s
    assert await call.ui.audio.speak(item) is False
    assert len(call.control.sent_audio) >= len(item.pcm)
    await call.control.close()


async def test_ari_speaks_sentences_as_files(tmp_path: Path) -> None:
    call = fake_call(tmp_path, transport="ari")
    item = await call.ui.audio.prepare("Hello there.")
    assert item.sound.startswith("/sounds/asteramisk/tts-") and not item.pcm
    assert await call.ui.audio.speak(item) is False
    assert call.heard == ["Hello there."]


# -- the caller hangs up during each verb ---------------------------------------------------


async def _hangs_up_during(call: FakeCall, verb: object) -> None:
    assert callable(verb)
    later(0.1, call.control.hang_up_caller)
    with pytest.raises(HangupException):
        async with asyncio.timeout(3):
            await verb()


async def test_hangup_during_say(tmp_path: Path, transport: str) -> None:
    call = fake_call(tmp_path, transport=transport, play_seconds=5)
    await _hangs_up_during(call, lambda: call.ui.say("A long announcement."))
    with pytest.raises(HangupException):
        await call.ui.say("Anyone?")  # every verb after it raises too


async def test_hangup_during_gather(tmp_path: Path, transport: str) -> None:
    call = fake_call(tmp_path, transport=transport)
    await _hangs_up_during(call, lambda: call.ui.gather(num_digits=4, timeout=5))


async def test_hangup_during_prompt(tmp_path: Path, transport: str) -> None:
    call = fake_call(tmp_path, transport=transport)
    await _hangs_up_during(call, lambda: call.ui.prompt("Your name?", timeout=5))


async def test_hangup_during_listen(tmp_path: Path, transport: str) -> None:
    call = fake_call(tmp_path, transport=transport)
    await _hangs_up_during(call, lambda: call.ui.listen(timeout=5))


async def test_hangup_during_record(tmp_path: Path, transport: str) -> None:
    call = fake_call(tmp_path, transport=transport, play_seconds=5)
    await _hangs_up_during(call, lambda: call.ui.record("/tmp/message"))
    assert call.control.recorded == []


async def test_menus_run_on_the_voice_ui(tmp_path: Path) -> None:
    call = fake_call(tmp_path)
    call.control.press("2")

    async def sales() -> str:
        return "sales"

    async def support() -> str:
        return "support"

    chosen = await call.ui.menu(
        "Main menu.", {"1": sales, "2": support}, labels={"1": "sales", "2": "support"}
    )
    assert chosen == "support"


async def test_the_app_hanging_up_ends_the_call(tmp_path: Path) -> None:
    call = fake_call(tmp_path)
    async with call.ui:
        await call.ui.answer()
    assert call.control.answered and call.control.hung_up and call.ui.hung_up
    with pytest.raises(HangupException):
        await call.ui.say("Still there?")


async def test_a_sound_asterisk_cannot_find_raises(tmp_path: Path, transport: str) -> None:
    from asteramisk.exceptions import PlaybackError

    call = fake_call(tmp_path, transport=transport)
    call.control.unplayable.add("no-such-sound")
    with pytest.raises(PlaybackError) as raised:
        await call.ui.play("no-such-sound")
    assert raised.value.sound == "no-such-sound"
    await call.ui.say("Still here.")
    assert call.heard == ["Still here."]
