"""VoiceUI: a phone call, with the README's verbs, on the call primitives of any transport.

``say`` synthesises speech (cached on disk, made off the event loop) and returns once it has
been spoken. A key pressed while the app speaks stops the speech and counts for the ``gather``
that follows (barge-in). When the caller hangs up, the next verb raises
:class:`~asteramisk.exceptions.HangupException`: the handler is not cancelled, so its
``finally`` blocks and clean-up run as written.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import wave
from collections.abc import Sequence
from pathlib import Path

from asteramisk.asterisk.control import ALL_KEYS, CallControl
from asteramisk.config import config
from asteramisk.exceptions import ConfigurationError, HangupException
from asteramisk.media.audio_server import AudioStream
from asteramisk.media.stt import get_stt_engine
from asteramisk.media.tts import TTSCache, get_engine
from asteramisk.ui.base import DIGIT_WORDS, UI, spoken_digits

__all__ = ["VoiceUI"]

_caches: dict[tuple[str, str], TTSCache] = {}


def tts_cache() -> TTSCache:
    """The process's TTS cache for the configured engine and directory."""
    directory = config.TTS_CACHE_DIR or (
        f"{config.ASTERISK_SOUNDS_DIR}/{config.ASTERISK_TTS_SOUNDS_SUBDIR}"
    )
    engine = get_engine()
    key = (engine.name, directory)
    if key not in _caches:
        _caches[key] = TTSCache(engine, directory)
    return _caches[key]


class VoiceUI(UI):
    """A phone call (see the module docstring)."""

    def __init__(
        self,
        control: CallControl,
        *,
        remote_number: str = "",
        remote_name: str = "",
        local_number: str = "",
    ) -> None:
        super().__init__(
            remote_number=remote_number, remote_name=remote_name, local_number=local_number
        )
        self.control = control
        self._pending_keys = ""
        self._stream: AudioStream | None = None
        self.transcript: list[tuple[str, str]] = []
        self.barge_in = True
        """Whether the caller speaking stops what the app says (once the app listens)."""

    # -- speech and sound ----------------------------------------------------------------

    async def _speech_file(self, text: str) -> str:
        """The Asterisk-side name of the synthesised ``text`` (made if not cached)."""
        return _asterisk_name(await tts_cache().get(text))

    async def _speech_pcm(self, text: str) -> bytes:
        """The synthesised ``text`` as 8 kHz 16-bit PCM, for streaming (made if not cached)."""
        return await asyncio.to_thread(_wav_pcm, await tts_cache().get(text))

    async def _play_interruptible(self, sound: str) -> None:
        if self._pending_keys:
            return  # the caller already answered: do not make them listen
        key = await self.control.play(sound, ALL_KEYS, self._stream_speaking())
        if key:
            self._pending_keys += key

    async def answer(self) -> None:
        """Answer the call (nothing to do on a call we placed, which is answered)."""
        self._check_open()
        if self.answered:
            return
        await self.control.answer()
        self.answered = True

    async def hangup(self) -> None:
        if self.hung_up:
            return
        self.hung_up = True
        with contextlib.suppress(HangupException):
            await self.control.hangup()

    async def say(self, text: str) -> None:
        """Speak ``text``; returns once spoken, or as soon as the caller presses a key."""
        self._check_open()
        self.transcript.append(("say", text))
        await self._play_interruptible(await self._speech_file(text))

    async def play(self, sound: str) -> None:
        """Play an Asterisk sound name (``hello-world``), a local WAV file or an http(s) URL."""
        self._check_open()
        if sound.startswith(("http://", "https://")):
            name = sound
        elif "/" in sound and Path(sound).suffix:
            name = await self._local_file(Path(sound))
        else:
            name = sound
        self.transcript.append(("play", sound))
        await self._play_interruptible(name)

    async def _local_file(self, path: Path) -> str:
        """Copy a local file into the directory Asterisk reads, converted to 8 kHz WAV."""
        return _asterisk_name(await asyncio.to_thread(_convert_file, path, tts_cache().directory))

    # -- keys ----------------------------------------------------------------------------

    async def gather(
        self,
        text: str = "",
        num_digits: int = 1,
        *,
        timeout: float = 5.0,
        finish_on_key: str = "#",
        speech: bool = False,
    ) -> str:
        """Say ``text`` and collect up to ``num_digits`` keys.

        Keys pressed during ``text`` (or during an earlier ``say``) count. Input ends at
        ``num_digits`` keys, at ``finish_on_key`` (not included), or ``timeout`` seconds after
        the prompt or the last key. Returns the keys as a string, '' if none came.

        ``speech=True`` lets the caller say the digits instead ("four two", "oh" for zero):
        what they say is recognised and returned as digits, like keys (at most
        ``num_digits``). Over ARI the caller may start while ``text`` plays; over AGI, once
        it has been said.
        """
        self._check_open()
        if speech and self.control.can_listen:
            stream = await self._say_then_listen(text)
            answer, spoken = await self._speech_or_keys(
                stream, timeout, DIGIT_WORDS, num_digits=num_digits, finish_on_key=finish_on_key
            )
            if not spoken:
                return answer
            digits = spoken_digits(answer)[:num_digits]
            self.transcript.append(("gather", digits))
            return digits
        if text:
            await self.say(text)
        keys, self._pending_keys = self._pending_keys, ""
        while True:
            if finish_on_key and finish_on_key in keys:
                keys = keys[: keys.index(finish_on_key)]
                break
            if len(keys) >= num_digits:
                keys, self._pending_keys = keys[:num_digits], keys[num_digits:]
                break
            key = await self.control.wait_digit(timeout)
            if key is None:
                break
            keys += key
        self.transcript.append(("gather", keys))
        return keys

    async def prompt(
        self,
        text: str,
        *,
        timeout: float = 8.0,
        phrases: Sequence[str] | None = None,
        retries: int = 2,
    ) -> str:
        """Ask ``text`` and return what the caller answers, as text.

        The caller answers by voice: the app listens until they stop talking (voice activity
        detection) and transcribes it with ``STT_ENGINE``; ``phrases`` lists what may be said,
        when known, which makes recognition exact. No answer within ``timeout`` seconds asks
        again, ``retries`` times, then returns ''. Keys typed instead (ended by '#') are an
        answer too. Over ARI the caller's voice interrupts ``text``; over AGI (whose audio
        streams with ``EXEC AudioSocket`` once ``text`` has played) keys do.
        """
        self._check_open()
        if not self.control.can_listen:
            return await self.gather(text, num_digits=64, timeout=timeout, finish_on_key="#")
        for _attempt in range(retries + 1):
            stream = await self._say_then_listen(text)
            answer, _spoken = await self._speech_or_keys(stream, timeout, phrases)
            if answer:
                self.transcript.append(("prompt", answer))
                return answer
        return ""

    async def listen(self, *, timeout: float = 8.0, phrases: Sequence[str] | None = None) -> str:
        """What the caller says next, as text ('' if nothing within ``timeout`` seconds)."""
        self._check_open()
        stream = await self._listening()
        return await self._transcribe(await stream.utterance(timeout), phrases)

    def _stream_speaking(self) -> asyncio.Event | None:
        """Set while the caller speaks, once the app listens (for barge-in)."""
        stream = self._stream
        return stream.speaking if stream is not None and self.barge_in else None

    async def _say_then_listen(self, text: str) -> AudioStream:
        """Say ``text`` and have the caller's audio streaming for their answer: already while
        it plays where the transport allows it (ARI: the caller's voice interrupts it)."""
        if self.control.listens_while_playing:
            (await self._listening()).clear()
        if text:
            await self.say(text)
        return await self._listening()

    async def _listening(self) -> AudioStream:
        if self._stream is None or self._stream.closed.is_set():
            self._stream = await self.control.listen()
        return self._stream

    async def _transcribe(self, audio: bytes | None, phrases: Sequence[str] | None) -> str:
        if audio is None:
            if self._stream is not None and self._stream.closed.is_set():
                self.hung_up = True
                raise HangupException("the caller hung up")
            return ""
        text = await get_stt_engine().transcribe(audio, list(phrases) if phrases else None)
        self.transcript.append(("heard", text))
        return text

    async def _speech_or_keys(
        self,
        stream: AudioStream,
        timeout: float,
        phrases: Sequence[str] | None,
        *,
        num_digits: int = 64,
        finish_on_key: str = "#",
    ) -> tuple[str, bool]:
        """The caller's answer, words or keys (whichever comes first), and whether it was
        spoken. Keys are gathered as :meth:`gather` does with ``num_digits``/``finish_on_key``."""
        if self._pending_keys:
            keys = await self.gather(
                num_digits=num_digits, timeout=timeout, finish_on_key=finish_on_key
            )
            return keys, False
        speech = asyncio.ensure_future(stream.utterance(timeout))
        key = asyncio.ensure_future(self.control.wait_digit(timeout))
        try:
            done, _ = await asyncio.wait({speech, key}, return_when=asyncio.FIRST_COMPLETED)
            pressed = key.result() if key in done else None
            if pressed:
                self._pending_keys += pressed
                speech.cancel()
                keys = await self.gather(
                    num_digits=num_digits, timeout=timeout, finish_on_key=finish_on_key
                )
                return keys, False
            audio = await speech  # speech came, or the keys timed out while it may be coming
        finally:
            for task in (speech, key):
                if not task.done():
                    task.cancel()
        return await self._transcribe(audio, phrases), True

    async def send_dtmf(self, digits: str) -> None:
        """Send DTMF ``digits`` to the caller."""
        self._check_open()
        await self.control.send_dtmf(digits)

    async def say_digits(self, digits: str | int) -> None:
        """Say each digit with Asterisk's own recordings."""
        self._check_open()
        key = await self.control.say_digits(str(digits))
        if key:
            self._pending_keys += key

    async def say_number(self, number: int) -> None:
        """Say a number naturally with Asterisk's own recordings ("forty two")."""
        self._check_open()
        key = await self.control.say_number(int(number))
        if key:
            self._pending_keys += key

    async def record(
        self,
        path: str,
        *,
        max_seconds: float = 60.0,
        silence: int | None = 3,
        beep: bool = True,
        finish_on_key: str = "#",
    ) -> str:
        """Record the caller to ``path`` (as Asterisk sees it, without extension) as WAV.

        Ends at ``finish_on_key``, after ``silence`` seconds of silence or ``max_seconds``.
        Returns the recording's path as Asterisk sees it, with its ``.wav`` extension (over
        ARI, Asterisk keeps it in its recording spool under the last part of ``path``).
        """
        self._check_open()
        return await self.control.record(
            path, max_seconds=max_seconds, silence=silence, beep=beep, finish_on_key=finish_on_key
        )

    async def transfer(self, destination: str) -> None:
        """Connect the caller to ``destination``: a number or a channel (``PJSIP/100``)."""
        self._check_open()
        await self.control.transfer(destination)


media_base_url = ""
"""Set by the Server when TTS_DELIVERY is 'http': where its media server serves the cache."""


def _wav_pcm(path: Path) -> bytes:
    with wave.open(str(path), "rb") as audio:
        return audio.readframes(audio.getnframes())


def _asterisk_name(path: Path) -> str:
    """How Asterisk finds a file of the speech cache: by path, or by URL over http."""
    if config.TTS_DELIVERY == "http":
        if not media_base_url:
            raise ConfigurationError(
                "TTS_DELIVERY is 'http' but no media server runs: it starts with the Server."
            )
        return f"{media_base_url}/{path.name}"
    return f"{config.ASTERISK_SOUNDS_DIR}/{config.ASTERISK_TTS_SOUNDS_SUBDIR}/{path.stem}"


def _convert_file(source: Path, directory: Path) -> Path:
    """``source`` as 8 kHz WAV in ``directory``, converted once per version of the file."""
    from pydub import AudioSegment

    from asteramisk.media.tts.base import Audio
    from asteramisk.media.tts.cache import to_wav_8k

    stamp = f"{source.resolve()}\0{source.stat().st_mtime_ns}"
    target = directory / f"file-{hashlib.sha256(stamp.encode()).hexdigest()[:32]}.wav"
    if not target.exists():
        segment = AudioSegment.from_file(source).set_channels(1).set_sample_width(2)
        to_wav_8k(Audio(segment.raw_data, segment.frame_rate), target)
    return target
