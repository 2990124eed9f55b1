"""Conferences: calls that hear each other, in one Asterisk mixing bridge.

``conference = server.conference("team")`` (or ``communicator.conference(...)``) names a room;
the bridge is made when the first call joins. ``await ui.join(conference, muted=False)`` puts
a call in it until the call hangs up (``HangupException``) or ``await conference.end()``
(``join`` returns: the call is the app's again). ``conference.members`` are the calls in it;
``await conference.say(text)`` speaks to all of them; ``mute(ui)``/``unmute(ui)`` stop and let
through what one member says. Calls over FastAGI join too: they visit the owner's Stasis
application for it (:mod:`asteramisk.asterisk.agi_stasis`).
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from asteramisk.asterisk.ari import ARIClient
from asteramisk.asterisk.ari_control import ARIControl
from asteramisk.asterisk.control import CallControl
from asteramisk.asterisk.stasis import StasisRouter
from asteramisk.exceptions import HangupException, PlaybackError
from asteramisk.media.speech import Speech

if TYPE_CHECKING:
    from asteramisk.ui.voice import VoiceUI

__all__ = ["Conference"]


class Conference:
    """A named conference room of one Server or Communicator (see the module)."""

    def __init__(
        self,
        name: str,
        *,
        ari: ARIClient,
        router: StasisRouter,
        speech: Speech,
        on_end: Callable[[Conference], None] | None = None,
    ) -> None:
        self.name = name
        self.ari, self.router, self.speech = ari, router, speech
        self._on_end = on_end
        self._bridge = ""
        self._making = asyncio.Lock()
        self._members: dict[str, tuple[VoiceUI, ARIControl]] = {}
        self._muted: set[str] = set()
        self._ended = asyncio.Event()
        self._playbacks: dict[str, asyncio.Future[dict[str, Any]]] = {}

    def __repr__(self) -> str:
        state = "ended" if self._ended.is_set() else f"{len(self._members)} members"
        return f"<Conference {self.name!r} {state}>"

    @property
    def members(self) -> list[VoiceUI]:
        """The calls in the conference now, in the order they joined."""
        return [ui for ui, _ in self._members.values()]

    @property
    def ended(self) -> bool:
        return self._ended.is_set()

    def is_muted(self, ui: VoiceUI) -> bool:
        return self._channel(ui) in self._muted

    async def _bridge_id(self) -> str:
        async with self._making:
            if not self._bridge:
                bridge = await self.ari.request(
                    "bridges", "create", type="mixing,dtmf_events", name=self.name[:64]
                )
                self._bridge = bridge.id
                self.router.add(f"bridge:{bridge.id}", self._on_event)
            return self._bridge

    def _on_event(self, event: dict[str, Any]) -> None:
        """A playback event of the bridge (what :meth:`say` waits for)."""
        playback = event.get("playback") or {}
        if event.get("type") in ("PlaybackFinished", "PlaybackFailed"):
            waiting = self._playbacks.pop(str(playback.get("id", "")), None)
            if waiting is not None and not waiting.done():
                waiting.set_result(event)

    async def join(self, ui: VoiceUI, control: CallControl, *, muted: bool = False) -> None:
        """``ui`` (over ``control``, an ARI call) in the room until it hangs up
        (HangupException) or the conference ends (returns). What ``ui.join`` runs."""
        if not isinstance(control, ARIControl):
            raise TypeError(f"A conference joins calls over ARI, not {type(control).__name__}.")
        if self._ended.is_set():
            raise RuntimeError(f"The conference {self.name!r} has ended.")
        bridge = await self._bridge_id()
        channel = control.channel_id
        self._members[channel] = (ui, control)
        if muted:
            self._muted.add(channel)
        gone = asyncio.ensure_future(control.gone.wait())
        ended = asyncio.ensure_future(self._ended.wait())
        try:
            if muted:  # the channel's own mute, which unmute() undoes (not the bridge's)
                await self.ari.request("channels", "mute", channelId=channel, direction="in")
            await self.ari.request("bridges", "addChannel", bridgeId=bridge, channel=channel)
            await asyncio.wait({gone, ended}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            gone.cancel()
            ended.cancel()
            if not control.gone.is_set():
                # Out of the bridge by a removal, before end() destroys it: a call let go by
                # a destroyed bridge has what it is told next queued there, never played.
                await self.ari.cleanup("bridges", "removeChannel", bridgeId=bridge, channel=channel)
                if channel in self._muted:
                    await self.ari.cleanup("channels", "unmute", channelId=channel, direction="in")
            self._members.pop(channel, None)
            self._muted.discard(channel)
        if control.gone.is_set():
            raise HangupException("the caller hung up")

    async def say(self, text: str) -> None:
        """Say ``text`` to every member; returns once said (PlaybackError if it could not
        be played). Nothing to do in an empty room."""
        if not self._members:
            return
        sound = await self.speech.file(text)
        playback_id = uuid.uuid4().hex
        done = self._playbacks[playback_id] = asyncio.get_running_loop().create_future()
        try:
            await self.ari.request(
                "bridges",
                "play",
                bridgeId=await self._bridge_id(),
                media=f"sound:{sound}",
                playbackId=playback_id,
            )
            event = await asyncio.wait_for(done, 300)
        finally:
            self._playbacks.pop(playback_id, None)
        if event.get("type") == "PlaybackFailed":
            raise PlaybackError(f"Asterisk could not play {text!r} to the conference.", sound)

    async def mute(self, ui: VoiceUI) -> None:
        """Stop what ``ui`` says from reaching the others (it still hears them)."""
        channel = self._channel(ui)
        await self.ari.request("channels", "mute", channelId=channel, direction="in")
        self._muted.add(channel)

    async def unmute(self, ui: VoiceUI) -> None:
        channel = self._channel(ui)
        await self.ari.request("channels", "unmute", channelId=channel, direction="in")
        self._muted.discard(channel)

    def _channel(self, ui: VoiceUI) -> str:
        for channel, (member, _) in self._members.items():
            if member is ui:
                return channel
        raise ValueError(f"{ui!r} is not in the conference {self.name!r}.")

    async def end(self) -> None:
        """End the conference: every member's ``join`` returns (their calls go on, the app's
        again) and the bridge is destroyed."""
        if self._ended.is_set():
            return
        self._ended.set()
        for _ in range(250):  # each join takes its call out of the bridge (5 s at most)
            if not self._members:
                break
            await asyncio.sleep(0.02)
        bridge, self._bridge = self._bridge, ""
        if bridge:
            self.router.remove(f"bridge:{bridge}")
            with contextlib.suppress(Exception):
                await self.ari.cleanup("bridges", "destroy", bridgeId=bridge)
        if self._on_end is not None:
            self._on_end(self)
