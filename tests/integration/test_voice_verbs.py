"""The VoiceUI verbs on both transports, heard and pressed by a VirtualPhone."""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any, ClassVar

import pytest

from asteramisk.exceptions import (
    CallFailedException,
    HangupException,
    PlaybackError,
    RecordingError,
)
from asteramisk.media.tts import create_engine
from asteramisk.media.tts.cache import to_wav_8k
from asteramisk.server import Server
from asteramisk.testing import SandboxSettings
from asteramisk.testing.phone import VirtualPhone
from asteramisk.ui import VoiceUI

from .test_server_calls import VOCABULARY, hear_until

DIGITS = "zero one two three four five six seven eight nine ten".split()
WORDS = [*VOCABULARY, "forty", "twenty", "speak", "after", "the", "beep", "thank", "calling"]


@pytest.fixture(params=["ari", "agi"])
def transport(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
async def phone(asterisk: SandboxSettings) -> AsyncIterator[VirtualPhone]:
    async with VirtualPhone("5550123", vocabulary=WORDS) as p:
        yield p


@pytest.fixture
async def clear_phone(asterisk: SandboxSettings) -> AsyncIterator[VirtualPhone]:
    """A phone that knows whole phrases (recognition is surer of them than of lone words)."""
    phrases = ["hello world", "thank you for calling", "forty two", "twenty", *DIGITS]
    async with VirtualPhone("5550124", vocabulary=phrases) as p:
        yield p


async def serve_once(
    server: Server, phone: VirtualPhone, transport: str, number: str, handler: Any
) -> Any:
    result: asyncio.Future[Any] = asyncio.get_running_loop().create_future()

    async def wrapped(ui: VoiceUI) -> None:
        try:
            result.set_result(await handler(ui))
        except BaseException as exc:
            result.set_exception(exc)
            raise

    await server.register_extension(number, call_handler=wrapped, transport=transport)
    return result


async def test_keys_during_a_prompt_count_for_gather_and_finish_key_ends_it(
    server: Server, phone: VirtualPhone, transport: str
) -> None:
    async def handler(ui: VoiceUI) -> str:
        await ui.answer()
        await ui.say(
            "Please pick a number between 1 and 10. Please pick a number between 1 and 10."
        )
        return await ui.gather(num_digits=4, timeout=5, finish_on_key="#")

    result = await serve_once(server, phone, transport, "2101", handler)
    call = await phone.call("2101")
    await call.wait_for_speech()
    await call.press("4")  # while the app is still talking: barge-in
    await call.press("2#")
    assert await asyncio.wait_for(result, 20) == "42"


async def test_a_cancelled_say_stops_speaking_and_the_call_goes_on(
    server: Server, phone: VirtualPhone, transport: str
) -> None:
    """An app that cancels ``say`` (a timeout, a barge-in of its own) expects silence at
    once, and the next verb to work: on AGI too, where STREAM FILE must be stopped."""
    loop = asyncio.get_running_loop()
    speaking_heard = asyncio.Event()

    async def handler(ui: VoiceUI) -> float:
        await ui.answer()
        speaking = asyncio.create_task(ui.say("Please pick a number between 1 and 10. " * 4))
        await speaking_heard.wait()
        await asyncio.sleep(1)
        speaking.cancel()
        cancelled_at = loop.time()
        with contextlib.suppress(asyncio.CancelledError):
            await speaking
        await asyncio.sleep(2)
        await ui.say("Thank you for calling.")
        return cancelled_at

    result = await serve_once(server, phone, transport, "2111", handler)
    call = await phone.call("2111")
    await call.wait_for_speech()
    speaking_heard.set()
    cancelled_at = await asyncio.wait_for(result, 30)
    assert [t for t in call.heard_at if cancelled_at + 0.5 < t < cancelled_at + 2] == []
    assert any(t > cancelled_at + 2 for t in call.heard_at)  # and the next say was heard


async def test_native_say_and_play(
    server: Server, clear_phone: VirtualPhone, transport: str, tmp_path: Path
) -> None:
    wav = tmp_path / "thanks.wav"
    to_wav_8k(create_engine().synthesize("Thank you for calling."), wav)

    async def handler(ui: VoiceUI) -> None:
        await ui.answer()
        await ui.say_digits(42)
        await ui.say_number(42)
        await ui.play("hello-world")  # an Asterisk sound
        await ui.play(str(wav))  # a local file

    await serve_once(server, clear_phone, transport, "2102", handler)
    call = await clear_phone.call("2102")
    heard = await hear_until(call, "thank you for calling", timeout=30)
    # Asterisk's own recordings (another voice, GSM) are harder to recognise than piper's:
    # "four" may come out as another digit, "forty two" and "hello world" do not.
    assert "forty two" in heard and heard.count("two") >= 2
    assert "hello world" in heard
    assert "thank you for calling" in heard


async def test_record_until_the_key(
    server: Server, phone: VirtualPhone, transport: str, asterisk: SandboxSettings
) -> None:
    name = f"/tmp/asteramisk-test-record-{transport}"

    async def handler(ui: VoiceUI) -> str:
        await ui.answer()
        await ui.say("Please speak after the beep.")
        return await ui.record(name, max_seconds=10, silence=None, finish_on_key="#")

    result = await serve_once(server, phone, transport, "2103", handler)
    call = await phone.call("2103")
    await hear_until(call, "beep")
    await asyncio.sleep(1.5)
    await call.press("#")
    path = await asyncio.wait_for(result, 15)
    assert path.endswith(".wav")
    if asterisk.root and not asterisk.app_host:  # the local sandbox: the file is here too
        size = await asyncio.to_thread(os.path.getsize, asterisk.root + path)
        assert size > 8000  # more than half a second of 8 kHz audio
    audio = await path.read()  # over ARI, wherever Asterisk runs
    assert audio[:4] == b"RIFF" and len(audio) > 8000
    assert path.name == f"asteramisk-test-record-{transport}"


async def test_a_recording_asterisk_cannot_make_raises(
    server: Server, phone: VirtualPhone, transport: str, asterisk: SandboxSettings
) -> None:
    """Debian's Asterisk package does not create its recording directory: without it,
    record() raises RecordingError at once, on both transports (over ARI it was a bare 500)."""
    if not asterisk.root:
        pytest.skip("removes a directory of the sandbox's root")
    spool = Path(asterisk.root + "/var/spool/asterisk/recording")
    outcome: asyncio.Future[BaseException | None] = asyncio.get_running_loop().create_future()

    async def handler(ui: VoiceUI) -> None:
        await ui.answer()
        try:
            await ui.record("/tmp/never", max_seconds=5, silence=None)
        except RecordingError as exc:
            outcome.set_result(exc)
        else:
            outcome.set_result(None)

    await server.register_extension("2111", call_handler=handler, transport=transport)
    await asyncio.to_thread(spool.rename, spool.with_name("recording.away"))
    try:
        await phone.call("2111")
        error = await asyncio.wait_for(outcome, 15)
    finally:
        await asyncio.to_thread(spool.with_name("recording.away").rename, spool)
    assert isinstance(error, RecordingError) and "recording directory" in str(error)


async def test_send_dtmf_reaches_the_phone(
    server: Server, phone: VirtualPhone, transport: str
) -> None:
    async def handler(ui: VoiceUI) -> None:
        await ui.answer()
        await ui.send_dtmf("123")
        await ui.say("Goodbye")

    await serve_once(server, phone, transport, "2104", handler)
    call = await phone.call("2104")
    await hear_until(call, "goodbye")
    assert call.keys_received == "123"


class GreetingUI(VoiceUI):
    """An app's own verb, available on every call of the server."""

    async def greet(self) -> None:
        await self.say("Thank you for calling.")


class GreetingServer(Server):
    ui_class = GreetingUI
    served: ClassVar[list[str]] = []

    async def call_handler(self, ui: VoiceUI) -> None:
        assert isinstance(ui, GreetingUI)
        self.served.append(ui.local_number)
        await ui.answer()
        await ui.greet()


async def test_subclassed_server_and_ui(
    asterisk: SandboxSettings, clear_phone: VirtualPhone, transport: str
) -> None:
    async with GreetingServer(port=0) as server:
        await server.register_extension("2105", transport=transport)  # no handler given
        call = await clear_phone.call("2105")
        assert "thank you for calling" in await hear_until(call, "calling")
        await call.wait_hangup(10)  # the handler returned: hung up
        assert GreetingServer.served[-1] == "2105"


async def test_transfer_connects_the_caller_to_another_number(
    server: Server, clear_phone: VirtualPhone, transport: str
) -> None:
    async def front_desk(ui: VoiceUI) -> None:
        await ui.answer()
        await ui.transfer("2107")  # through the PSTN trunk, back into this server

    async def sales(ui: VoiceUI) -> None:
        await ui.answer()
        await ui.say("Thank you for calling.")

    await server.register_extension("2106", call_handler=front_desk, transport=transport)
    await server.register_extension("2107", call_handler=sales, transport=transport)
    call = await clear_phone.call("2106")
    assert "thank you for calling" in await hear_until(call, "calling")
    await call.wait_hangup(15)  # sales hung up, the transfer ended, the front desk hung up


async def test_a_sound_that_does_not_play_raises_and_the_call_goes_on(
    server: Server, clear_phone: VirtualPhone, transport: str
) -> None:
    """Never silent: Asterisk cannot find the sound (ARI PlaybackFinished 'failed', AGI
    STREAM FILE -1 with nothing played): PlaybackError names it; the caller is still there."""
    outcome: asyncio.Future[PlaybackError | None] = asyncio.get_running_loop().create_future()

    async def handler(ui: VoiceUI) -> None:
        await ui.answer()
        try:
            await ui.play("a-sound-that-does-not-exist")
        except PlaybackError as exc:
            outcome.set_result(exc)
            await ui.say("Thank you for calling.")
        else:
            outcome.set_result(None)

    await server.register_extension("2110", call_handler=handler, transport=transport)
    call = await clear_phone.call("2110")
    error = await asyncio.wait_for(outcome, 20)
    assert error is not None and "a-sound-that-does-not-exist" in str(error)
    assert "a-sound-that-does-not-exist" in error.sound
    assert "thank you for calling" in await hear_until(call, "calling")
    await call.wait_hangup(15)


async def test_a_transfer_that_fails_says_so_at_once_and_the_caller_stays(
    server: Server, clear_phone: VirtualPhone, transport: str
) -> None:
    """The sandbox's PSTN rejects a number nobody serves (cause 1): the transfer raises with
    that cause within seconds, and the app still has the caller."""
    failed: asyncio.Future[tuple[int | None, float]] = asyncio.get_running_loop().create_future()
    after: asyncio.Future[str] = asyncio.get_running_loop().create_future()

    async def front_desk(ui: VoiceUI) -> None:
        await ui.answer()
        started = time.monotonic()
        try:
            await ui.transfer("2199")  # served by nobody
        except CallFailedException as exc:
            failed.set_result((exc.cause, time.monotonic() - started))
        else:
            failed.set_result((None, time.monotonic() - started))
        try:
            await ui.say("Thank you for calling.")
            outcome = "said"
        except HangupException:
            outcome = "hung up"
        if not after.done():
            after.set_result(outcome)

    await server.register_extension("2109", call_handler=front_desk, transport=transport)
    call = await clear_phone.call("2109")
    cause, seconds = await asyncio.wait_for(failed, 30)
    assert cause == 1 and seconds < 5
    # The caller is still the app's, and hears it (over ARI a prompt sent while the caller
    # was leaving the transfer's bridge was once lost).
    assert "thank you for calling" in await hear_until(call, "calling")
    assert await asyncio.wait_for(after, 20) == "said"
    await call.wait_hangup(15)


async def test_speech_over_http_when_asterisk_does_not_share_our_disk(
    asterisk: SandboxSettings, clear_phone: VirtualPhone, transport: str, tmp_path: Path
) -> None:
    from asteramisk.config import config

    config.TTS_DELIVERY = "http"
    config.TTS_CACHE_DIR = str(tmp_path)  # a directory Asterisk (in its chroot) cannot see
    try:
        async with Server(port=0) as server:
            assert server.speech is not None
            speech = server.speech
            hello = await speech.cache.get("Hello, world!")

            async def handler(ui: VoiceUI) -> None:
                await ui.answer()
                await ui.say("Thank you for calling.")
                await ui.play(f"{speech.media_url}/{hello.name}")  # play() of a URL

            await server.register_extension("2108", call_handler=handler, transport=transport)
            call = await clear_phone.call("2108")
            heard = await hear_until(call, "hello world")
            assert "thank you for calling" in heard and "hello world" in heard
            await call.wait_hangup(10)
    finally:
        del config.TTS_DELIVERY
        config.TTS_CACHE_DIR = asterisk.env()["TTS_CACHE_DIR"]
    assert any(tmp_path.glob("tts-*.wav"))  # noqa: ASYNC240 (the unshared directory has it)
