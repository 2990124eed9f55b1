"""VoiceUI: a phone call, with the README's verbs, on the call's audio (:class:`CallAudio`).

``say`` synthesises speech (cached on disk, made off the event loop) and returns once it has
been spoken. A key pressed while the app speaks stops the speech and counts for the ``gather``
that follows (barge-in). When the caller hangs up, the next verb raises
:class:`~asteramisk.exceptions.HangupException`: the handler is not cancelled, so its
``finally`` blocks and clean-up run as written.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from asteramisk.asterisk.control import CallControl
from asteramisk.events import CallRecord
from asteramisk.exceptions import HangupException
from asteramisk.media.audio_server import AudioStream
from asteramisk.media.format import DTMF_KEYS
from asteramisk.media.speech import Speech
from asteramisk.ui import machine
from asteramisk.ui.arguments import (
    check_keys,
    check_positive,
    check_sound,
    check_text,
)
from asteramisk.ui.audio import CallAudio
from asteramisk.ui.base import DIGIT_WORDS, spoken_digits
from asteramisk.ui.links import CallLinks
from asteramisk.ui.timing import timed_verbs

if TYPE_CHECKING:
    from asteramisk.agent.session import AgentSession

__all__ = ["VoiceUI"]


@timed_verbs("say", "play", "gather", "prompt", "record", "transfer")
class VoiceUI(CallLinks):
    """A phone call (see the module docstring)."""

    is_call = True

    def __init__(
        self,
        control: CallControl,
        *,
        speech: Speech,
        remote_number: str = "",
        remote_name: str = "",
        local_number: str = "",
        record: CallRecord | None = None,
    ) -> None:
        super().__init__(
            remote_number=remote_number, remote_name=remote_name, local_number=local_number
        )
        self.control = control
        self.call_record = record
        """The call so far (times, who hung up, transcript; complete once the handler ends)
        where a Server runs it, else None. (``record`` is the verb that records the caller.)"""
        self.audio = CallAudio(control, speech)
        """The call's audio both ways: what the verbs below and the voice agents use."""
        self._pending_keys = ""
        self.transcript: list[tuple[str, str]] = []
        self.answered_by: str | None = None
        """``human``, ``machine`` or ``unknown`` on a call placed with
        ``detect_machine=True``; None when nobody asked."""

    @property
    def barge_in(self) -> bool:
        """Whether the caller speaking stops what the app says (once the app listens)."""
        return self.audio.barge_in

    @barge_in.setter
    def barge_in(self, value: bool) -> None:
        self.audio.barge_in = value

    # -- speech and sound ----------------------------------------------------------------

    async def _play_interruptible(self, playing: Callable[[], Awaitable[str | None]]) -> None:
        """Run ``playing`` (a play or a say of ``ui.audio``) unless the caller has answered
        already; a key that stops it counts for the next ``gather``."""
        if self._pending_keys:
            return  # the caller already answered: do not make them listen
        await self.unhold()
        key = await playing()
        if key:
            self._pending_keys += key

    async def answer(self) -> None:
        """Answer the call (nothing to do on a call we placed, which is answered)."""
        self._check_open()
        if self.answered:
            return
        await self.control.answer()
        self.answered = True
        if self.call_record is not None:
            self.call_record.answered()

    async def hangup(self) -> None:
        if self.hung_up:
            return
        self.hung_up = True
        if self.call_record is not None:
            self.call_record.app_hangs_up()
        with contextlib.suppress(HangupException):
            await self.control.hangup()

    async def say(self, text: str) -> None:
        """Speak ``text``; returns once spoken, or as soon as the caller presses a key.

        Long text is said in pieces (sentences, at most a few hundred characters each), each
        synthesised while the one before it plays."""
        check_text("say", text)
        self._check_open()
        self.transcript.append(("say", text))
        await self._play_interruptible(lambda: self.audio.say(text))

    async def play(self, sound: str) -> None:
        """Play an Asterisk sound name (``hello-world``), a local WAV file or an http(s) URL."""
        check_sound("play", sound)
        self._check_open()
        if sound.startswith(("http://", "https://")):
            name = sound
        elif "/" in sound and Path(sound).suffix:
            name = await self.audio.speech.local_file(Path(sound))
        else:
            name = sound
        self.transcript.append(("play", sound))
        await self._play_interruptible(lambda: self.audio.play(name))

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
        check_text("gather", text)
        check_positive("gather", num_digits, "num_digits")
        check_positive("gather", timeout, "timeout")
        if finish_on_key:
            check_keys("gather", finish_on_key, DTMF_KEYS, "finish_on_key")
        self._check_open()
        if speech and self.audio.can_listen:
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
        check_text("prompt", text)
        check_positive("prompt", timeout, "timeout")
        self._check_open()
        if not self.audio.can_listen:
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
        stream = await self.audio.stream()
        return await self._transcribe(await stream.utterance(timeout), phrases, stream)

    async def _say_then_listen(self, text: str) -> AudioStream:
        """Say ``text`` and have the caller's audio streaming for their answer: already while
        it plays where the transport allows it (ARI: the caller's voice interrupts it)."""
        if self.audio.by_file:
            (await self.audio.stream()).clear()
        if text:
            await self.say(text)
        return await self.audio.stream()

    async def _transcribe(
        self, audio: bytes | None, phrases: Sequence[str] | None, stream: AudioStream
    ) -> str:
        if audio is None:
            if stream.closed.is_set():
                self.hung_up = True
                raise HangupException("the caller hung up")
            return ""
        text = await self.audio.transcribe(audio, phrases)
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
        return await self._transcribe(audio, phrases, stream), True

    async def wait_for_beep(self, *, timeout: float = 30.0) -> bool:
        """Wait until a voicemail's greeting has ended, to leave a message: True at the end
        of its beep, False after 2 s of quiet once it spoke (no beep), after ``timeout``
        seconds, or if the call ended (see :mod:`asteramisk.ui.machine`)."""
        check_positive("wait_for_beep", timeout, "timeout")
        self._check_open()
        return await machine.wait_for_beep(self.audio, timeout)

    def _placed_call(self, control: CallControl, number: str) -> VoiceUI:
        target = VoiceUI(
            control, speech=self.audio.speech, remote_number=number, local_number=self.local_number
        )
        target.answered = True
        return target

    async def _connect_agent(self, agent: Any, options: dict[str, Any]) -> AgentSession:
        from asteramisk.agent.connect import run_on_call

        return await run_on_call(self, agent, options)
