"""Answering-machine detection on a call's audio: who answered, and when a voicemail's
greeting has ended (its beep, or silence), over the detectors of :mod:`asteramisk.media.machine`.

The callee's audio streams to the app as it does for ``prompt`` (ARI: a snoop channel; the
Communicator places its calls over ARI); every frame goes through the call's voice detector
(Silero) and then to :class:`~asteramisk.media.machine.MachineDetector` or
:class:`~asteramisk.media.machine.BeepDetector`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any, TypeVar

from asteramisk.media.audio_server import AudioStream
from asteramisk.media.format import FRAME_MS
from asteramisk.media.machine import BeepDetector, MachineDetector, MachineSettings
from asteramisk.ui.audio import CallAudio

__all__ = ["detect_answerer", "wait_for_beep"]

T = TypeVar("T")


async def _listen(
    stream: AudioStream, listener: Callable[[bytes, bool], T | None], timeout: float
) -> T | None:
    """Feed ``stream``'s frames (with the VAD's verdict) to ``listener`` until it returns
    something: that; None if the stream closes or ``timeout`` passes first."""
    done: asyncio.Future[T] = asyncio.get_running_loop().create_future()

    def on_frame(frame: bytes, voiced: bool) -> None:
        if not done.done() and (result := listener(frame, voiced)) is not None:
            done.set_result(result)

    stream.frame_listeners.append(on_frame)
    closed: asyncio.Future[Any] = asyncio.ensure_future(stream.closed.wait())
    waiting: set[asyncio.Future[Any]] = {done, closed}
    try:
        await asyncio.wait(waiting, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
        return done.result() if done.done() else None
    finally:
        closed.cancel()
        stream.frame_listeners.remove(on_frame)


async def detect_answerer(audio: CallAudio, settings: MachineSettings | None = None) -> str:
    """``human``, ``machine`` or ``unknown``: what answered the call, from its first
    seconds (at most ``settings.total_ms``; ``unknown`` if its audio does not come or the
    call ends first)."""
    detector = MachineDetector(settings)
    stream = await audio.stream()
    total = detector.settings.total_ms / 1000
    decision = await _listen(stream, lambda _, voiced: detector.feed(voiced), total + 2)
    return decision or "unknown"


async def wait_for_beep(audio: CallAudio, timeout: float, quiet_ms: int = 2000) -> bool:
    """Wait until a voicemail greeting ends: True at the end of its beep; False once it has
    been quiet ``quiet_ms`` after speaking (some voicemails do not beep), after ``timeout``
    seconds, or if the call ended."""
    beeps = BeepDetector()
    heard_voice = False
    quiet = 0

    def listener(frame: bytes, voiced: bool) -> bool | None:
        nonlocal heard_voice, quiet
        if beeps.feed(frame):
            return True
        heard_voice = heard_voice or voiced
        quiet = 0 if voiced else quiet + FRAME_MS
        return False if heard_voice and quiet >= quiet_ms else None

    return bool(await _listen(await audio.stream(), listener, timeout))
