"""CallAudio: one call's audio both ways, over the call's :class:`CallControl`.

What ``VoiceUI``'s verbs and the voice agents are built on::

    audio = ui.audio
    stream = await audio.stream()            # the caller's audio, streamed to this process
    key = await audio.play(name)             # a key, '' (the caller spoke) or None (played)
    item = await audio.prepare("Hello.")     # synthesised for the way this transport speaks
    interrupted = await audio.speak(item)    # True if a key or the caller's voice stopped it
    pcm = await audio.hear(timeout=8)        # the next thing the caller says (None: silence)
    words = await audio.transcribe(pcm)

**Barge-in** is decided here, once: while the app speaks, a key the caller presses, or their
voice once the app listens (``barge_in``), stops it at once. A file playing is stopped by the
transport (``CallControl.play``'s ``interrupt``); audio sent on the stream is dropped from the
stream's queue (:meth:`cut`).

Speech goes as a file where the caller can be heard while a file plays (ARI: stopping a
playback is immediate), and over the stream elsewhere (AGI, whose stream would end with a
playback): :attr:`by_file`.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from typing import Any

from asteramisk.asterisk.control import ALL_KEYS, CallControl
from asteramisk.exceptions import HangupException
from asteramisk.media.audio_server import AudioStream
from asteramisk.media.format import seconds
from asteramisk.media.speech import Speech
from asteramisk.media.tts.chunks import split_text

__all__ = ["CallAudio", "Prepared"]


@dataclass(frozen=True)
class Prepared:
    """A sentence synthesised for :meth:`CallAudio.speak`: as a sound name or as PCM."""

    text: str
    sound: str = ""
    pcm: bytes = b""


class CallAudio:
    """One call's audio (see the module docstring)."""

    def __init__(self, control: CallControl, speech: Speech) -> None:
        self.control = control
        self.speech = speech
        self.barge_in = True
        """Whether the caller speaking stops what the app says (once the app listens)."""
        self._stream: AudioStream | None = None

    def __repr__(self) -> str:
        state = "streaming" if self.streaming else "not streaming"
        return f"<CallAudio {type(self.control).__name__} {state}>"

    @property
    def can_listen(self) -> bool:
        """Whether the caller's audio can be streamed on this transport."""
        return self.control.can_listen

    @property
    def by_file(self) -> bool:
        """Whether :meth:`speak` plays files (else it sends audio on the stream)."""
        return self.control.listens_while_playing

    @property
    def streaming(self) -> bool:
        return self._stream is not None and not self._stream.closed.is_set()

    # -- the caller's audio ------------------------------------------------------------------

    async def stream(self) -> AudioStream:
        """The caller's audio, streaming to this process (opened if it is not)."""
        if self._stream is None or self._stream.closed.is_set():
            self._stream = await self.control.listen()
            self._stream.on_pause = self.speech.prefetch  # recognition starts at a pause
        return self._stream

    @property
    def speaking(self) -> asyncio.Event | None:
        """Set while the caller speaks, once the app listens and ``barge_in`` is on: what
        stops a playback."""
        stream = self._stream
        return stream.speaking if stream is not None and self.barge_in else None

    async def hear(self, timeout: float) -> bytes | None:
        """What the caller says next, once they stop (None if nothing within ``timeout``
        seconds); :class:`HangupException` if the call ends meanwhile."""
        stream = await self.stream()
        audio = await stream.utterance(timeout)
        if audio is None and stream.closed.is_set():
            raise HangupException("the caller hung up")
        return audio

    async def transcribe(self, audio: bytes, phrases: Sequence[str] | None = None) -> str:
        """The words in ``audio`` (``phrases``: what may be said, when known)."""
        return await self.speech.transcribe(audio, list(phrases) if phrases else None)

    # -- what the app says -------------------------------------------------------------------

    async def play(self, sound: str, escape_digits: str = ALL_KEYS) -> str | None:
        """Play ``sound`` (a name Asterisk resolves or a URL): the key that stopped it, ''
        if the caller's voice did, None if it played to the end."""
        return await self.control.play(sound, escape_digits, self.speaking)

    async def say(self, text: str) -> str | None:
        """Say ``text`` (synthesised) as :meth:`play` plays a sound. Long text is said in
        pieces (sentences, at most a few hundred characters each), each synthesised while the
        one before it plays; a key or the caller's voice stops the rest."""
        pieces = split_text(text) or [text]
        making = asyncio.ensure_future(self.speech.file(pieces[0]))
        try:
            for number in range(len(pieces)):
                sound = await making
                if number + 1 < len(pieces):
                    making = asyncio.ensure_future(self.speech.file(pieces[number + 1]))
                outcome = await self.play(sound)
                if outcome is not None:
                    return outcome
            return None
        finally:
            if not making.done():
                making.cancel()

    async def prepare(self, text: str) -> Prepared:
        """``text`` synthesised the way :meth:`speak` will deliver it."""
        if self.by_file:
            return Prepared(text, sound=await self.speech.file(text))
        return Prepared(text, pcm=await self.speech.pcm(text))

    async def speak(self, item: Prepared) -> bool:
        """Say a prepared sentence; True if a key or the caller's voice stopped it."""
        if item.sound:
            return await self.play(item.sound) is not None
        return await self.send(item.pcm)

    async def carry_stream_audio(self) -> None:
        """Make audio sent on the stream heard by the caller (see
        :meth:`CallControl.carry_stream_audio`)."""
        await self.control.carry_stream_audio()

    async def send(self, pcm: bytes) -> bool:
        """Play 8 kHz 16-bit ``pcm`` over the call's stream and wait until it is sent; True
        if the caller's voice or a key stopped it (what was queued is dropped at once)."""
        stream = await self.stream()
        if self.barge_in and stream.speaking.is_set():
            return True
        stream.send(pcm)
        waits: dict[str, asyncio.Future[Any]] = {
            "drained": asyncio.ensure_future(stream.drained()),
            "key": asyncio.ensure_future(self.control.wait_digit(seconds(pcm) + 5)),
        }
        if self.barge_in:
            waits["voice"] = asyncio.ensure_future(stream.speaking.wait())
        try:
            done, _ = await asyncio.wait(waits.values(), return_when=asyncio.FIRST_COMPLETED)
        finally:
            for waiting in waits.values():
                waiting.cancel()
            await asyncio.gather(*waits.values(), return_exceptions=True)
        key = waits["key"]
        pressed = key in done and not key.cancelled() and key.exception() is None and key.result()
        if waits["drained"] in done and not pressed:
            return False
        self.cut()
        return True

    def cut(self) -> None:
        """Stop what is being sent on the stream, at once (barge-in)."""
        if self._stream is not None:
            self._stream.flush()

    async def barge_ins(self) -> AsyncIterator[None]:
        """Yields each time the caller starts speaking while audio sent on the stream plays;
        what was queued is already dropped (for engines that send audio as it comes)."""
        stream = await self.stream()
        stream.clear()
        while True:
            event = await stream.events.get()
            if event.kind == "start" and stream.sending and self.barge_in:
                self.cut()
                yield None

    async def played(self) -> None:
        """Wait until what was sent on the stream has been heard (before hanging up)."""
        if self._stream is not None:
            await self._stream.played()
