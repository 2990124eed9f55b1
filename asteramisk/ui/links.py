"""Calls joined to other calls: hold with music, bridges, and warm transfers.

:class:`CallLinks` gives :class:`~asteramisk.ui.VoiceUI` these verbs on its
:class:`~asteramisk.asterisk.control.CallControl`:

- ``hold(music="default")`` plays one of Asterisk's music-on-hold classes (checked first: an
  unknown class raises :class:`~asteramisk.exceptions.PlaybackError` instead of leaving the
  caller in silence), or the app's own sounds in a loop (``music=["hold.wav", ...]``: files,
  URLs or Asterisk sound names; over ARI only). ``unhold()`` stops it; so does any verb that
  plays to the caller (``say``, ``play``, ``prompt`` ...), which ends the hold first.
- ``bridge(other)`` connects two calls the app holds until either leaves (an ARI bridge; a
  call over FastAGI visits the server's Stasis application for it).
- ``start_transfer(number)`` holds the caller with music and calls ``number``; its
  ``VoiceUI``, once answered, lets the app (or an agent) announce the caller;
  ``complete_transfer(target)`` connects the two and hands them over to the server, which ends
  the other side when one hangs up; ``cancel_transfer(target)`` hangs the target up and takes
  the caller off hold.
"""

from __future__ import annotations

import asyncio
import contextlib
from abc import abstractmethod
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, cast

from asteramisk.asterisk.control import CallControl
from asteramisk.exceptions import ActionError, HangupException
from asteramisk.ui.arguments import check_destination, check_positive, check_sound
from asteramisk.ui.call_verbs import CallVerbs

if TYPE_CHECKING:
    from asteramisk.call_queue import CallQueue
    from asteramisk.conference import Conference
    from asteramisk.ui.audio import CallAudio
    from asteramisk.ui.voice import VoiceUI

__all__ = ["CallLinks"]


class CallLinks(CallVerbs):
    """Hold, bridge and warm transfer (see the module)."""

    audio: CallAudio
    _music: asyncio.Task[None] | None = None
    """The loop of the app's own hold music, while it plays."""
    held = False
    """Whether the caller is on hold (music playing) now."""
    handed_off = False
    """Set by :meth:`complete_transfer`: the call is connected to another and is no longer
    the app's (its verbs raise; the server ends it when either side hangs up)."""
    connected_to: CallLinks | None = None
    """The call this one was handed off with."""
    bridges_ended = 0
    """How many bridges with this call have ended (what a queued caller waits for)."""
    _bridge_ended: asyncio.Event | None = None
    _held_on: CallControl | None = None
    """The control the music was started on (a FastAGI call's visit to Stasis, or its own)."""

    @abstractmethod
    def _placed_call(self, control: CallControl, number: str) -> VoiceUI:
        """The ``VoiceUI`` of a call placed from this one (answered)."""

    def _check_open(self) -> None:
        if self.handed_off and not self.hung_up:
            raise RuntimeError(
                "This call was handed off by complete_transfer(): it is connected to "
                f"{self.connected_to!r} and no longer the app's."
            )
        super()._check_open()

    async def hold(self, music: str | Sequence[str] = "default") -> None:
        """Put the caller on hold: ``music`` is an Asterisk music-on-hold class name, or a
        list of sounds of the app's own (local files, URLs or sound names) played in a loop.
        Returns once the music has started; it plays until :meth:`unhold` or the next verb
        that plays to the caller."""
        self._check_open()
        if self.held:
            await self.unhold()
        if isinstance(music, str):
            check_sound("hold", music, "music")
            await self.control.hold(music)
        else:
            sounds = [await self._sound_name(sound) for sound in music]
            if not sounds:
                raise ValueError("hold(): music is an empty list; give a class or sounds.")
            if not self.audio.by_file:
                raise NotImplementedError(
                    "hold(music=[...]) plays the app's sounds over ARI only; over FastAGI use "
                    "a music-on-hold class of Asterisk (musiconhold.conf)."
                )
            self._music = asyncio.ensure_future(self._loop(sounds))
        self.held = True

    async def _sound_name(self, sound: str) -> str:
        check_sound("hold", sound, "music")
        if "/" in sound and Path(sound).suffix and not sound.startswith(("http:", "https:")):
            return await self.audio.speech.local_file(Path(sound))
        return sound

    async def _loop(self, sounds: list[str]) -> None:
        with contextlib.suppress(HangupException):
            while True:
                for sound in sounds:
                    await self.control.play(sound, escape_digits="")

    async def unhold(self) -> None:
        """Take the caller off hold (the music stops); nothing to do if not on hold."""
        if not self.held:
            return
        self.held = False
        music, self._music = self._music, None
        held_on, self._held_on = self._held_on or self.control, None
        if music is not None:
            music.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await music
        elif not self.hung_up:
            with contextlib.suppress(HangupException):
                try:
                    await held_on.unhold()
                except ActionError:
                    if held_on is self.control:
                        raise
                    await self.control.unhold()  # its visit to Stasis has ended since

    async def hold_in_stasis(self, music: str) -> CallControl:
        """Hold with the class ``music`` as an ARI call (a FastAGI call visits Stasis for
        it, and stays there); the ARI control, whose ``gone`` is the caller hanging up."""
        control = await self.control.in_stasis()
        if self.held:
            await self.unhold()
        await control.hold(music)
        self.held, self._held_on = True, control
        return control

    async def until_unbridged(self, control: CallControl, since: int | None = None) -> None:
        """Wait until a bridge with this call ends (more than ``since`` have ended, default:
        from now); HangupException if the caller hangs up first."""
        since = self.bridges_ended if since is None else since
        while self.bridges_ended <= since:
            ended = self._bridge_ended = asyncio.Event()
            gone = asyncio.ensure_future(control.gone.wait())
            waiting = asyncio.ensure_future(ended.wait())
            try:
                await asyncio.wait({gone, waiting}, return_when=asyncio.FIRST_COMPLETED)
            finally:
                gone.cancel()
                waiting.cancel()
            if control.gone.is_set() and self.bridges_ended <= since:
                raise HangupException("the caller hung up")

    def _count_bridge_end(self) -> None:
        self.bridges_ended += 1
        if self._bridge_ended is not None:
            self._bridge_ended.set()

    async def enqueue(self, queue: CallQueue) -> None:
        """Wait in ``queue`` on hold until an agent takes this call and their bridge ends
        (see :mod:`asteramisk.call_queue`); HangupException if the caller hangs up."""
        self._check_open()
        await queue.enqueue(cast("VoiceUI", self))

    async def join(self, conference: Conference, *, muted: bool = False) -> None:
        """Join ``conference`` until the caller hangs up (HangupException) or the conference
        ends (returns; see :mod:`asteramisk.conference`). ``muted``: the others do not hear
        this call."""
        self._check_open()
        await self.unhold()
        control = await self.control.in_stasis()
        await conference.join(cast("VoiceUI", self), control, muted=muted)

    async def bridge(self, other: VoiceUI) -> None:
        """Connect this call and ``other`` (any call the app holds: incoming or placed) until
        either hangs up; the one left is the app's again (the other's next verb raises
        ``HangupException``). Both are taken off hold first."""
        self._check_open()
        other._check_open()
        if other is self:
            raise ValueError("bridge(): a call cannot be bridged with itself.")
        await self.unhold()
        await other.unhold()
        mine, theirs = await self.control.in_stasis(), await other.control.in_stasis()
        try:
            await mine.bridge(theirs)
        finally:
            self._count_bridge_end()
            other._count_bridge_end()

    async def start_transfer(
        self,
        number: str,
        *,
        music: str | Sequence[str] = "default",
        timeout: float = 30.0,
        callerid_number: str | None = None,
    ) -> VoiceUI:
        """Hold the caller with ``music`` and call ``number`` (or a channel such as
        ``PJSIP/100``); return the target's ``VoiceUI`` once answered, to announce the caller.
        If it does not answer, the caller is taken off hold and
        :class:`~asteramisk.exceptions.CallFailedException` raised."""
        destination = check_destination("start_transfer", number)
        check_positive("start_transfer", timeout, "timeout")
        self._check_open()
        await self.hold(music)
        caller_id = callerid_number or self.local_number or None
        try:
            leg = await self.control.dial(destination, timeout=timeout, caller_id=caller_id)
        except BaseException:
            with contextlib.suppress(HangupException):
                await self.unhold()
            raise
        return self._placed_call(leg, destination)

    async def complete_transfer(self, target: VoiceUI) -> None:
        """Connect the caller (taken off hold) to ``target`` and hand both over to the server:
        returns at once, the handler may end; when either hangs up, the other is hung up.
        Neither is the app's any more."""
        self._check_open()
        target._check_open()
        await self.unhold()
        await target.unhold()
        mine, theirs = await self.control.in_stasis(), await target.control.in_stasis()
        self.control.release_leg(target.control)
        mine.hand_off(theirs)
        self.control.handoff = mine.handoff  # what the server waits for (the same, over ARI)
        for ui, other in ((self, target), (target, self)):
            ui.handed_off, ui.connected_to = True, other

    async def cancel_transfer(self, target: VoiceUI) -> None:
        """Hang ``target`` up and take the caller off hold."""
        await target.hangup()
        self._check_open()
        await self.unhold()
