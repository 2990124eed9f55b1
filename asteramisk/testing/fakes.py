"""Fakes for unit tests of voice apps without Asterisk: a call, a synthesiser, a recogniser.

:class:`FakeCallControl` stands where a transport's call control stands under ``VoiceUI``: it
records what is played, takes the keys and the speech a test scripts for the caller, and
behaves like ARI (the caller can be heard while a file plays) or like AGI (the audio stream
ends with any other command). :func:`fake_call` puts a ``VoiceUI`` on it with an offline
:class:`FakeTTSEngine` and a scripted :class:`FakeTranscriber`::

    async def test_menu(tmp_path):
        call = fake_call(tmp_path, answers=["sales please"])
        call.control.press("1")                      # type-ahead: pressed before the prompt
        assert await call.ui.gather("Press one for sales.") == "1"
        call.control.speak(tone(0.5))                # the caller says something ...
        assert await call.ui.prompt("Which department?") == "sales please"
        assert call.heard == ["Which department?"]   # the typed-ahead key skipped the first

Nothing here opens a socket or starts a process.
"""

from __future__ import annotations

import asyncio
import math
import struct
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from asteramisk.asterisk.control import ALL_KEYS, CallControl
from asteramisk.asterisk.recordings import Recording, recording_name
from asteramisk.exceptions import HangupException, PlaybackError
from asteramisk.lifecycle import next_or_none
from asteramisk.media.audio_server import AudioStream
from asteramisk.media.format import FRAME_SECONDS, RATE
from asteramisk.media.speech import Speech
from asteramisk.media.tts.base import Audio, TTSEngine
from asteramisk.ui.voice import VoiceUI

__all__ = [
    "FakeCall",
    "FakeCallControl",
    "FakeTTSEngine",
    "FakeTranscriber",
    "fake_call",
    "silence",
    "tone",
]


def tone(seconds: float, hz: float = 440.0, level: int = 8000) -> bytes:
    """``seconds`` of a sine tone as 8 kHz 16-bit PCM: what the voice detector takes for a
    caller speaking."""
    count = int(seconds * RATE)
    return struct.pack(
        f"<{count}h", *(int(level * math.sin(2 * math.pi * hz * n / RATE)) for n in range(count))
    )


def silence(seconds: float) -> bytes:
    """``seconds`` of silence as 8 kHz 16-bit PCM."""
    return bytes(int(seconds * RATE) * 2)


class FakeTTSEngine(TTSEngine):
    """Speaks every text as a quiet tone of ``seconds_per_char`` a character; records texts."""

    name = "fake"
    voice = "tone"

    def __init__(self, seconds_per_char: float = 0.01) -> None:
        self.seconds_per_char = seconds_per_char
        self.texts: list[str] = []

    def synthesize(self, text: str) -> Audio:
        self.texts.append(text)
        return Audio(tone(len(text) * self.seconds_per_char, level=500), RATE)


class FakeTranscriber:
    """Answers each transcription with the next of ``answers`` ('' once they run out), and
    records what it was given."""

    name = "fake"

    def __init__(self, answers: Iterable[str] = ()) -> None:
        self.answers = list(answers)
        self.requests: list[tuple[int, list[str] | None]] = []
        """``(bytes of audio, phrases)`` per transcription."""
        self.closed = False

    async def transcribe(self, pcm: bytes, phrases: list[str] | None = None) -> str:
        self.requests.append((len(pcm), phrases))
        return self.answers.pop(0) if self.answers else ""

    async def close(self) -> None:
        self.closed = True


class FakeCallControl(CallControl):
    """A call without Asterisk (see the module docstring).

    ``transport="ari"``: the caller's audio streams while files play, and their voice stops a
    playback. ``"agi"``: any primitive but ``wait_digit`` first ends the stream (as ``EXEC
    AudioSocket`` ends), and keys pressed while it streams come over it. Each playback lasts
    ``play_seconds``; a key among its escape digits, the caller's voice (ARI) or a hangup ends
    it sooner.
    """

    can_listen = True

    def __init__(self, *, transport: str = "ari", play_seconds: float = 0.0) -> None:
        if transport not in ("ari", "agi"):
            raise ValueError(f"transport={transport!r}: 'ari' or 'agi'")
        self.transport = transport
        self.listens_while_playing = transport == "ari"
        self.play_seconds = play_seconds
        self.played: list[str] = []
        """Every sound a playback started for, in order (names as Asterisk would get them)."""
        self.unplayable: set[str] = set()
        """Sounds Asterisk cannot find: playing one raises
        :class:`~asteramisk.exceptions.PlaybackError`, as a missing file does."""
        self.stopped: list[str] = []
        """The sounds a key or the caller's voice stopped."""
        self.sent_dtmf: list[str] = []
        self.recorded: list[str] = []
        self.transferred: list[str] = []
        self.music: str | None = None
        """The music-on-hold class playing now (``hold``), or None."""
        self.answered = False
        self.hung_up = False
        """Whether the app hung up."""
        self.gone = asyncio.Event()
        """Set when the call ended (the caller or the app hung up)."""
        self._keys: asyncio.Queue[str] = asyncio.Queue()
        self._stream: AudioStream | None = None
        self._pacers: set[asyncio.Task[None]] = set()
        self.streams_opened = 0
        self.sent_audio = bytearray()
        """What the app sent on the call's streams and the caller heard (silence left out)."""

    def __repr__(self) -> str:
        return f"<FakeCallControl {self.transport} played={len(self.played)}>"

    # -- what the test does as the caller ------------------------------------------------

    def press(self, keys: str) -> None:
        """The caller presses ``keys``."""
        stream = self._stream
        if stream is not None and not stream.closed.is_set() and self.transport == "agi":
            stream.on_keys(keys)
        else:
            for key in keys:
                self._keys.put_nowait(key)

    def speak(self, pcm: bytes) -> None:
        """The caller's audio (8 kHz 16-bit PCM) reaches the stream, if one is open."""
        stream = self._stream
        if stream is not None and not stream.closed.is_set():
            stream.on_audio(pcm)

    def say_words(self, seconds: float = 0.5) -> None:
        """The caller says something for ``seconds``, then stops (long enough to count as the
        end of their turn)."""
        self.speak(tone(seconds) + silence(1.0))

    def hang_up_caller(self) -> None:
        """The caller hangs up."""
        self.gone.set()
        if self._stream is not None:
            self._stream.on_close()

    # -- the primitives ------------------------------------------------------------------

    def _check(self) -> None:
        if self.gone.is_set():
            raise HangupException("the caller hung up")

    async def _detach(self) -> None:
        """AGI: another command ends the stream."""
        if self.transport == "agi" and self._stream is not None:
            stream, self._stream = self._stream, None
            if not stream.closed.is_set():
                stream.on_close()

    async def answer(self) -> None:
        self._check()
        await self._detach()
        self.answered = True

    async def hangup(self) -> None:
        self._check()
        await self._detach()
        self.hung_up = True
        self.gone.set()
        if self._stream is not None:
            self._stream.on_close()

    async def listen(self) -> AudioStream:
        self._check()
        if self._stream is None or self._stream.closed.is_set():
            self.streams_opened += 1
            self._stream = AudioStream(f"fake-{self.streams_opened}")
            self._stream.connected.set()
            pacer = asyncio.ensure_future(self._pace(self._stream))
            self._pacers.add(pacer)
            pacer.add_done_callback(self._pacers.discard)
        return self._stream

    async def _pace(self, stream: AudioStream) -> None:
        """Take what the app sends on ``stream`` at real time, as Asterisk would."""
        while not stream.closed.is_set():
            if stream.sending:
                self.sent_audio += stream.next_frame()
            await asyncio.sleep(FRAME_SECONDS)

    async def close(self) -> None:
        """End the streams' pacing (the owner of a call calls this when it ends)."""
        for pacer in list(self._pacers):
            pacer.cancel()
        await asyncio.gather(*self._pacers, return_exceptions=True)

    async def play(
        self, sound: str, escape_digits: str = ALL_KEYS, interrupt: asyncio.Event | None = None
    ) -> str | None:
        self._check()
        await self._detach()
        while escape_digits and not self._keys.empty():
            key = self._keys.get_nowait()  # type-ahead ends it before it starts
            if key in escape_digits:
                return key
        if sound in self.unplayable:
            raise PlaybackError(f"Asterisk could not play {sound!r} (fake: unplayable)", sound)
        self.played.append(sound)
        outcome = await self._during(self.play_seconds, escape_digits, interrupt)
        if outcome is not None:
            self.stopped.append(sound)
        return outcome

    async def _during(
        self, seconds: float, escape_digits: str, interrupt: asyncio.Event | None
    ) -> str | None:
        """Wait ``seconds``: the key that ends it sooner, '' for the caller's voice, None."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + seconds
        while True:
            waits: dict[str, asyncio.Future[Any]] = {
                "gone": asyncio.ensure_future(self.gone.wait()),
            }
            if escape_digits:
                waits["key"] = asyncio.ensure_future(self._keys.get())
            if interrupt is not None:
                waits["voice"] = asyncio.ensure_future(interrupt.wait())
            try:
                done, _ = await asyncio.wait(
                    waits.values(),
                    timeout=max(0.0, deadline - loop.time()),
                    return_when=asyncio.FIRST_COMPLETED,
                )
            finally:
                for waiting in waits.values():
                    waiting.cancel()
            key_wait = waits.get("key")
            if key_wait in done and key_wait is not None:
                key = str(key_wait.result())
                if key in escape_digits:
                    return key
                continue  # not an escape digit: it goes unheard
            if waits["gone"] in done:
                raise HangupException("the caller hung up")
            if "voice" in waits and waits["voice"] in done:
                return ""
            return None

    async def wait_digit(self, timeout: float) -> str | None:
        self._check()
        stream = self._stream
        if self.transport == "agi" and stream is not None and not stream.closed.is_set():
            key = await stream.next_key(timeout)
            if key is None and self.gone.is_set():
                raise HangupException("the caller hung up")
            return key
        key = await next_or_none(self._keys, self.gone, timeout)
        if key is None and self.gone.is_set():
            raise HangupException("the caller hung up")
        return key

    async def send_dtmf(self, digits: str) -> None:
        self._check()
        await self._detach()
        self.sent_dtmf.append(digits)

    async def say_digits(self, digits: str, escape_digits: str = ALL_KEYS) -> str | None:
        return await self.play(f"digits:{digits}", escape_digits)

    async def say_number(self, number: int, escape_digits: str = ALL_KEYS) -> str | None:
        return await self.play(f"number:{number}", escape_digits)

    async def record(
        self, path: str, *, max_seconds: float, silence: int | None, beep: bool, finish_on_key: str
    ) -> Recording:
        self._check()
        await self._detach()
        await self._during(min(max_seconds, self.play_seconds), finish_on_key, None)
        self.recorded.append(path)
        return Recording(recording_name(path), None)

    async def transfer(self, destination: str) -> None:
        self._check()
        await self._detach()
        self.transferred.append(destination)

    async def _start_music(self, music_class: str) -> None:
        self._check()
        await self._detach()
        self.music = music_class

    async def unhold(self) -> None:
        self._check()
        self.music = None

    async def variable(self, name: str) -> str | None:
        self._check()
        return None


class FakeCall:
    """A ``VoiceUI`` on a :class:`FakeCallControl`, with its fake speech engines."""

    def __init__(
        self, control: FakeCallControl, speech: Speech, tts: FakeTTSEngine, stt: FakeTranscriber
    ) -> None:
        self.control, self.speech, self.tts, self.stt = control, speech, tts, stt
        self.ui = VoiceUI(control, speech=speech, remote_number="5550100", local_number="5551234")

    @property
    def heard(self) -> list[str]:
        """What the caller heard begin, in order: each synthesised sentence by its text, any
        other sound by its name."""
        texts = {self.speech.asterisk_name(self.speech.cache.path(t)): t for t in self.tts.texts}
        return [texts.get(sound, sound) for sound in self.control.played]


def fake_call(
    directory: str | Path,
    *,
    transport: str = "ari",
    answers: Iterable[str] = (),
    play_seconds: float = 0.0,
) -> FakeCall:
    """A call for a unit test: the speech cache in ``directory``, the recogniser answering
    ``answers`` in turn (see the module docstring)."""
    tts, stt = FakeTTSEngine(), FakeTranscriber(answers)
    speech = Speech(tts, stt, cache_dir=directory, asterisk_dir="/sounds/asteramisk")
    control = FakeCallControl(transport=transport, play_seconds=play_seconds)
    return FakeCall(control, speech, tts, stt)
