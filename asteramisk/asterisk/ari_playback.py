"""One ARI call's playbacks: a sound, a number or digits played until it ends, a key the
caller presses stops it, their voice does (``interrupt``) or they hang up.

A playback that Asterisk reports failed raises :class:`~asteramisk.exceptions.PlaybackError`
(unless the caller hung up, which failed it). One that Asterisk accepted but never started
raises it too, after :data:`PLAYBACK_START_TIMEOUT`: it can be lost (a playback sent while the
channel was leaving a bridge is queued on that bridge and never played), and the caller would
otherwise wait in silence for an end that never comes.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from asteramisk.asterisk.ari import ARIClient
from asteramisk.exceptions import ActionError, HangupException, PlaybackError

__all__ = ["PLAYBACK_START_TIMEOUT", "ARIPlaybacks"]

PLAYBACK_START_TIMEOUT = 15.0
"""Seconds a playback Asterisk has accepted may stay queued before it counts as lost: one
call plays one thing at a time, so it normally starts at once."""

Request = Callable[..., Awaitable[Any]]
Alive = Callable[[], Awaitable[bool]]


class ARIPlaybacks:
    """The playbacks of the call ``channel_id`` (see the module docstring).

    ``keys`` and ``gone`` are the call's (keys pressed, and set once it ended); ``request``
    is the call's request (a refusal after the hangup raises ``HangupException``) and
    ``alive`` asks Asterisk whether the channel is still there.
    """

    def __init__(
        self,
        ari: ARIClient,
        channel_id: str,
        keys: asyncio.Queue[str],
        gone: asyncio.Event,
        request: Request,
        alive: Alive,
    ) -> None:
        self.ari, self.channel_id, self.keys, self.gone = ari, channel_id, keys, gone
        self._request, self._alive = request, alive
        self._finished: dict[str, asyncio.Future[dict[str, Any]]] = {}
        self._started: dict[str, asyncio.Event] = {}

    def on_event(self, event: dict[str, Any]) -> None:
        """A ``PlaybackStarted``, ``PlaybackFinished`` or ``PlaybackFailed`` of the call."""
        playback_id = str(event.get("playback", {}).get("id", ""))
        if event.get("type") == "PlaybackStarted":
            self._started.pop(playback_id, asyncio.Event()).set()
            return
        finished = self._finished.pop(playback_id, None)
        if finished is not None and not finished.done():
            finished.set_result(event)

    async def play(
        self, media: str, escape_digits: str, interrupt: asyncio.Event | None = None
    ) -> str | None:
        """Play ``media`` (``sound:``, ``digits:``, ``number:``): the key that stopped it, ''
        if ``interrupt`` did, None if it played to the end."""
        while escape_digits and not self.keys.empty():
            key = self.keys.get_nowait()  # pressed before: type-ahead ends this at once
            if key in escape_digits:
                return key
        playback_id = uuid.uuid4().hex
        finished = self._finished[playback_id] = asyncio.get_running_loop().create_future()
        started = self._started[playback_id] = asyncio.Event()
        playing = asyncio.ensure_future(
            self._request(
                "channels", "play", channelId=self.channel_id, media=media, playbackId=playback_id
            )
        )
        try:
            await asyncio.shield(playing)
            outcome = await self._until_played(media, finished, started, escape_digits, interrupt)
        except (asyncio.CancelledError, PlaybackError):
            # The app stopped waiting: the caller stops hearing it, at once.
            await self.ari.cleanup("playbacks", "stop", after=playing, playbackId=playback_id)
            raise
        finally:
            self._finished.pop(playback_id, None)
            self._started.pop(playback_id, None)
        if outcome is not None:  # a key or the caller's voice: stop at once
            with contextlib.suppress(ActionError, HangupException):
                await self.ari.request("playbacks", "stop", playbackId=playback_id)
        return outcome

    async def _until_played(
        self,
        media: str,
        finished: asyncio.Future[dict[str, Any]],
        started: asyncio.Event,
        escape_digits: str,
        interrupt: asyncio.Event | None,
    ) -> str | None:
        loop = asyncio.get_running_loop()
        start_by = loop.time() + PLAYBACK_START_TIMEOUT
        while True:
            key_task: asyncio.Future[Any] = asyncio.ensure_future(self.keys.get())
            gone_task: asyncio.Future[Any] = asyncio.ensure_future(self.gone.wait())
            waiters: set[asyncio.Future[Any]] = {finished, key_task, gone_task}
            if interrupt is not None:
                waiters.add(asyncio.ensure_future(interrupt.wait()))
            watch: set[asyncio.Future[Any]] = set()  # until it starts: started, or stalled
            if not started.is_set():
                watch = {
                    asyncio.ensure_future(started.wait()),
                    asyncio.ensure_future(asyncio.sleep(max(0.0, start_by - loop.time()))),
                }
            try:
                done, _ = await asyncio.wait(waiters | watch, return_when=asyncio.FIRST_COMPLETED)
            finally:
                for waiter in (waiters | watch) - {finished}:
                    waiter.cancel()
            if not done & waiters:
                if started.is_set():
                    continue
                raise PlaybackError(
                    f"Asterisk accepted {media} but did not start playing it within "
                    f"{PLAYBACK_START_TIMEOUT:g} s (it stayed queued): the caller heard nothing.",
                    media,
                )
            if finished in done:
                if finished.result().get("playback", {}).get("state") != "failed":
                    return None
                if self.gone.is_set() or not await self._alive():
                    raise HangupException("the caller hung up")  # what failed the playback
                raise _not_played(media, finished.result())
            if self.gone.is_set():
                raise HangupException("the caller hung up")
            if key_task not in done:
                return ""  # the caller spoke
            key = str(key_task.result())
            if key in escape_digits:
                return key

    async def reconcile(self) -> None:
        """After an ARI outage: a playback Asterisk no longer has ended (its verb returns); one
        it plays has started (the start limit no longer applies)."""
        for playback_id in list(self._finished):
            playback = await self.ari.lookup("playbacks", "get", playbackId=playback_id)
            if playback is None:
                self.on_event({"type": "PlaybackFinished", "playback": {"id": playback_id}})
            elif getattr(playback, "json", {}).get("state") != "queued":
                self.on_event({"type": "PlaybackStarted", "playback": {"id": playback_id}})


def _not_played(media: str, event: dict[str, Any]) -> PlaybackError:
    media = str(event.get("playback", {}).get("media_uri", media))
    where = (
        "Asterisk fetches it itself: check that it can reach that address"
        if media.startswith(("sound:http://", "sound:https://"))
        else "check that the file exists where Asterisk looks (its sounds directory, or "
        "ASTERISK_SOUNDS_DIR/ASTERISK_TTS_SOUNDS_SUBDIR for speech with TTS_DELIVERY=file) and "
        "that Asterisk may read it"
    )
    return PlaybackError(f"Asterisk could not play {media} (ARI playback failed): {where}.", media)
