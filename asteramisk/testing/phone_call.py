"""The calls of a :class:`~asteramisk.testing.phone.VirtualPhone`: one it placed or answered
(:class:`PhoneCall`: press keys, speak, hear), and one ringing at it (:class:`IncomingCall`)."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import Iterable
from typing import TYPE_CHECKING

import numpy as np

from asteramisk.config import config
from asteramisk.exceptions import HangupException
from asteramisk.media.audiosocket import KIND_AUDIO, encode_frame
from asteramisk.media.format import FRAME_BYTES, FRAME_SECONDS, RATE, rms, to_phone_rate

if TYPE_CHECKING:
    from asteramisk.testing.phone import VirtualPhone

__all__ = ["IncomingCall", "PhoneCall", "microphone"]

_SPEECH_RMS = 200


async def microphone(writer: asyncio.StreamWriter, call: PhoneCall | None) -> None:
    """The phone's microphone: what ``say`` queued, else silence, paced at real time in
    20 ms frames (AudioSocket hangs up a call whose socket stays mute)."""
    silence = bytes(FRAME_BYTES)
    loop = asyncio.get_running_loop()
    start = loop.time()
    sent = 0
    with contextlib.suppress(ConnectionError):
        while not writer.is_closing():
            frame = silence
            if call is not None and call._speech:
                frame = bytes(call._speech[:FRAME_BYTES]).ljust(FRAME_BYTES, b"\0")
                if not call.speaking_since and rms(frame) > _SPEECH_RMS:
                    call.speaking_since = loop.time()  # its first sound, not a lead-in silence
                del call._speech[:FRAME_BYTES]
                if not call._speech:
                    call._spoken.set()
            writer.write(encode_frame(KIND_AUDIO, frame))
            sent += 1
            await asyncio.sleep(max(0.0, start + sent * FRAME_SECONDS - loop.time()))


class PhoneCall:
    """One call placed by a :class:`VirtualPhone`."""

    def __init__(self, phone: VirtualPhone, call_id: str) -> None:
        self.phone = phone
        self.id = call_id
        self.channel = ""
        self.ended = asyncio.Event()
        self.heard: list[str] = []
        self.keys_received = ""
        """DTMF keys the app sent to the phone."""
        self._audio = bytearray()
        self._read = 0
        self._last_speech = 0.0
        self._speech_since_read = False
        self._speech = bytearray()
        self._spoken = asyncio.Event()
        self._spoken.set()
        self.speaking_since = 0.0
        """When (event loop time) the phone began to say what ``say`` queued last: its first
        frame louder than silence (a synthesised phrase starts with tens of ms of silence)."""
        self.heard_at: list[float] = []
        """When (event loop time) each piece of audio louder than silence arrived."""

    def __repr__(self) -> str:
        return f"<PhoneCall {self.channel} {'ended' if self.ended.is_set() else 'up'}>"

    def on_audio(self, pcm: bytes, now: float) -> None:
        self._audio += pcm
        for start in range(0, len(pcm) - FRAME_BYTES + 1, FRAME_BYTES):
            if rms(pcm[start : start + FRAME_BYTES]) > _SPEECH_RMS:
                self._last_speech = now
                self._speech_since_read = True
                self.heard_at.append(now)
                break

    async def press(self, keys: str, *, gap: float = 0.25) -> None:
        """Press ``keys`` (``0``-``9``, ``*``, ``#``, ``A``-``D``): DTMF to the app."""
        for key in keys:
            if self.ended.is_set():
                raise HangupException("the call has ended")
            await self.phone.ami.action(
                {"Action": "PlayDTMF", "Channel": self.channel, "Digit": key, "Duration": "120"}
            )
            await asyncio.sleep(gap)

    @property
    def last_speech_at(self) -> float:
        """When (event loop time) the phone last heard the app speak."""
        return self._last_speech

    async def say(self, text: str, *, wait: bool = True) -> None:
        """Speak ``text`` into the call (synthesised offline, like the app's own speech).

        Returns once it has been said (``wait=False``: at once, while it is being said).
        """
        if self.ended.is_set():
            raise HangupException("the call has ended")
        pcm = await asyncio.to_thread(_synthesise, text)
        self.speaking_since = 0.0
        self._spoken.clear()
        self._speech += pcm + bytes(FRAME_BYTES * 10)  # and a breath of silence
        if wait:
            await self.wait_said()

    async def send(self, pcm: bytes, *, wait: bool = True) -> None:
        """Play 8 kHz 16-bit ``pcm`` into the call (a tone, a recording), after what
        ``say`` queued; returns once it has been played (``wait=False``: at once)."""
        if self.ended.is_set():
            raise HangupException("the call has ended")
        self._spoken.clear()
        self._speech += pcm
        if wait:
            await self.wait_said()

    async def beep(self, *, ms: int = 500, hz: float = 1000.0) -> None:
        """Play a voicemail's beep into the call (a pure tone), after what ``say`` queued."""
        await self.send(tone(ms, hz))

    async def wait_said(self) -> None:
        """Wait until everything ``say`` queued has been spoken (or the call ended)."""
        ended = asyncio.ensure_future(self.ended.wait())
        spoken = asyncio.ensure_future(self._spoken.wait())
        try:
            await asyncio.wait({ended, spoken}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            ended.cancel()
            spoken.cancel()

    async def hear(
        self,
        *,
        timeout: float = 15.0,
        quiet: float = 0.8,
        vocabulary: Iterable[str] | None = None,
    ) -> str:
        """What was played to the phone since the last ``hear()``, as text.

        Waits until speech has come and ``quiet`` seconds have passed without more (or the
        call ended, or ``timeout`` passed), then transcribes it offline: lower case, digits
        spelt out. ``vocabulary`` (default: the phone's) lists the phrases that may be said;
        recognition then picks among them, exactly; without one it is a rough transcript.
        """
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while loop.time() < deadline:
            if self._speech_since_read and loop.time() - self._last_speech > quiet:
                break
            if self.ended.is_set():
                break
            await asyncio.sleep(0.05)
        audio = bytes(self._audio[self._read :])
        self._read = len(self._audio)
        self._speech_since_read = False
        phrases = list(vocabulary) if vocabulary is not None else self.phone.vocabulary
        text = await self.phone.transcribe(audio, phrases)
        self.heard.append(text)
        return text

    async def wait_for_speech(self, timeout: float = 15.0) -> None:
        """Wait until the app is speaking to the phone (audio louder than silence arrives)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while not self._speech_since_read:
            if self.ended.is_set():
                raise HangupException("the call ended before anything was said")
            if loop.time() > deadline:
                raise TimeoutError(f"nothing was said to the phone within {timeout:g} s")
            await asyncio.sleep(FRAME_SECONDS)

    async def hangup(self) -> None:
        """Hang up from the phone's side."""
        if self.ended.is_set():
            return
        await self.phone.ami.action({"Action": "Hangup", "Channel": self.channel}, check=False)
        await self.wait_hangup(5)

    async def wait_hangup(self, timeout: float = 30.0) -> None:
        """Wait until the call has ended (the app hung up, or the phone did)."""
        async with asyncio.timeout(timeout):
            await self.ended.wait()


class IncomingCall:
    """A call ringing at a :class:`VirtualPhone`: answer it, reject it, or let it ring."""

    def __init__(self, phone: VirtualPhone, channel: str, caller_number: str, caller_name: str):
        self.phone = phone
        self.channel = channel
        self.caller_number = caller_number
        """The caller ID number the call arrived with."""
        self.caller_name = caller_name
        self.ended = asyncio.Event()
        """Set when the caller gave up (or the call was rejected)."""

    def __repr__(self) -> str:
        return f"<IncomingCall from {self.caller_number} on {self.channel}>"

    async def answer(self) -> PhoneCall:
        """Pick up: the call's audio streams to and from the phone like a call it placed."""
        if self.ended.is_set():
            raise HangupException("the caller gave up before the phone answered")
        call_id = str(uuid.uuid4())
        call = PhoneCall(self.phone, call_id)
        call.channel = self.channel
        self.phone.add_call(call)
        await self.phone.ami.action(
            {"Action": "Setvar", "Channel": self.channel, "Variable": "PHONE_ID", "Value": call_id}
        )
        await self.phone.ami.action(
            {
                "Action": "Redirect",
                "Channel": self.channel,
                "Context": self.phone.context,
                "Exten": "s",
                "Priority": "1",
            }
        )
        return call

    async def reject(self, cause: int = 17) -> None:
        """Refuse the call: busy (cause 17) by default, or another Q.850 cause (21 rejected)."""
        await self.phone.ami.action(
            {"Action": "Hangup", "Channel": self.channel, "Cause": str(int(cause))}
        )
        async with asyncio.timeout(5):
            await self.ended.wait()


def tone(ms: int, hz: float, amplitude: int = 12000) -> bytes:
    """A pure tone, as 8 kHz 16-bit PCM (a voicemail's beep is one)."""
    samples = np.arange(ms * RATE // 1000)
    return (np.sin(2 * np.pi * hz * samples / RATE) * amplitude).astype(np.int16).tobytes()


def _synthesise(text: str) -> bytes:
    """``text`` as 8 kHz 16-bit mono PCM, from the configured speech engine."""
    from asteramisk.media.tts import create_engine

    audio = create_engine(config.TTS_ENGINE).synthesize(text)
    return to_phone_rate(audio.pcm, audio.rate)
