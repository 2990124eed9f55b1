"""The call primitives over ARI (see :class:`ARIControl`)."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from typing import Any

from asteramisk.asterisk.ari import ARIClient
from asteramisk.asterisk.ari_media import ARIMediaChannels
from asteramisk.asterisk.ari_transfer import ARITransfer
from asteramisk.asterisk.control import ALL_KEYS, CallControl, dial_target
from asteramisk.asterisk.recordings import RECORDING_SPOOL, Recording, recording_name
from asteramisk.asterisk.stasis import StasisRouter
from asteramisk.exceptions import (
    ActionError,
    HangupException,
    PlaybackError,
    RecordingError,
)
from asteramisk.media.audio_server import AudioSocketServer, AudioStream

__all__ = ["ARIControl"]

PLAYBACK_START_TIMEOUT = 15.0
"""Seconds a playback Asterisk has accepted may stay queued before it counts as lost: one
call plays one thing at a time, so it normally starts at once."""


class ARIControl(CallControl):
    """The primitives over ARI, for a channel in our Stasis application.

    The server routes the channel's events here (:meth:`on_event`). Keys pressed while nothing
    listens are kept (type-ahead) and count for the next ``play`` or ``wait_digit``. Once the
    caller has hung up, every primitive raises :class:`~asteramisk.exceptions.HangupException`.
    """

    def __init__(
        self,
        ari: ARIClient,
        channel_id: str,
        pstn_endpoint: str,
        *,
        router: StasisRouter,
        audio: AudioSocketServer,
    ) -> None:
        self.ari = ari
        self.channel_id = channel_id
        self.pstn_endpoint = pstn_endpoint
        self.router = router
        """The owner's event router: this control adds the channels it makes (a transfer's
        leg, the audio stream's channels), so that their events reach it."""
        self.keys: asyncio.Queue[str] = asyncio.Queue()
        self.gone = asyncio.Event()
        self._waiting: dict[str, asyncio.Future[dict[str, Any]]] = {}
        self._starting: dict[str, asyncio.Event] = {}
        self._recordings: set[str] = set()
        self._stream: AudioStream | None = None
        self._audio_channels = ARIMediaChannels(ari, channel_id, router, audio, self.on_event)
        self._releasing: asyncio.Task[None] | None = None

    # -- events, routed by the server ----------------------------------------------------

    def on_event(self, event: dict[str, Any]) -> None:
        kind = event.get("type")
        channel_id = str((event.get("channel") or {}).get("id", ""))
        if self._audio_channels.owns(channel_id):
            return
        if channel_id and channel_id != self.channel_id:
            return
        if kind == "ChannelDtmfReceived":
            self.keys.put_nowait(str(event.get("digit", "")))
        elif kind == "PlaybackStarted":
            self._starting.pop(str(event.get("playback", {}).get("id", "")), asyncio.Event()).set()
        elif kind in ("PlaybackFinished", "PlaybackFailed"):
            self._resolve(str(event.get("playback", {}).get("id", "")), event)
        elif kind in ("RecordingFinished", "RecordingFailed"):
            self._resolve(str(event.get("recording", {}).get("name", "")), event)
        elif kind in ("StasisEnd", "ChannelDestroyed", "ChannelHangupRequest"):
            self.gone.set()
            if self._audio_channels.open_channels and self._releasing is None:
                self._releasing = asyncio.ensure_future(self.close())

    def _resolve(self, key: str, event: dict[str, Any]) -> None:
        future = self._waiting.pop(key, None)
        if future is not None and not future.done():
            future.set_result(event)

    async def _request(self, resource: str, operation: str, **params: Any) -> Any:
        if self.gone.is_set():
            raise HangupException("the caller hung up")
        try:
            return await self.ari.request(resource, operation, **params)
        except ActionError:
            if self.gone.is_set() or not await self._alive():
                raise HangupException("the caller hung up") from None
            raise

    async def _alive(self) -> bool:
        return await self._exists("channels", "get", channelId=self.channel_id)

    async def _until(self, future: asyncio.Future[Any], timeout: float | None = None) -> Any:
        """Wait for ``future``, or raise HangupException when the caller goes first."""
        gone = asyncio.ensure_future(self.gone.wait())
        try:
            done, _ = await asyncio.wait(
                {future, gone}, timeout=timeout, return_when=asyncio.FIRST_COMPLETED
            )
        except BaseException:
            # Cancelled: so is what we waited for (a key getter left behind would swallow
            # the caller's next key).
            future.cancel()
            raise
        finally:
            gone.cancel()
        if future in done:
            return future.result()
        if gone in done:
            future.cancel()
            raise HangupException("the caller hung up")
        future.cancel()
        raise TimeoutError

    # -- the primitives ------------------------------------------------------------------

    async def answer(self) -> None:
        await self._request("channels", "answer", channelId=self.channel_id)

    async def hangup(self) -> None:
        if not self.gone.is_set():
            await self._request("channels", "hangup", channelId=self.channel_id)
            self.gone.set()

    async def _media(
        self, media: str, escape_digits: str, interrupt: asyncio.Event | None = None
    ) -> str | None:
        while escape_digits and not self.keys.empty():
            key = self.keys.get_nowait()  # pressed before: type-ahead ends this at once
            if key in escape_digits:
                return key
        playback_id = uuid.uuid4().hex
        finished: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._waiting[playback_id] = finished
        started = self._starting[playback_id] = asyncio.Event()
        playing = asyncio.ensure_future(
            self._request(
                "channels", "play", channelId=self.channel_id, media=media, playbackId=playback_id
            )
        )
        try:
            await asyncio.shield(playing)
            return await self._until_played(
                media, playback_id, (finished, started), escape_digits, interrupt
            )
        except (asyncio.CancelledError, PlaybackError):
            # The app stopped waiting: the caller stops hearing it, at once.
            await self.ari.cleanup("playbacks", "stop", after=playing, playbackId=playback_id)
            raise
        finally:
            self._waiting.pop(playback_id, None)
            self._starting.pop(playback_id, None)

    async def _until_played(
        self,
        media: str,
        playback_id: str,
        events: tuple[asyncio.Future[dict[str, Any]], asyncio.Event],
        escape_digits: str,
        interrupt: asyncio.Event | None,
    ) -> str | None:
        """Wait for the playback's end, or the caller's hangup, key or speech (``interrupt``);
        raise :class:`PlaybackError` if it failed, or never started."""
        finished, started = events
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
                raise _not_played(playback_id, finished.result())
            if self.gone.is_set():
                self._waiting.pop(playback_id, None)
                raise HangupException("the caller hung up")
            if key_task not in done:  # the caller spoke: stop at once
                self._waiting.pop(playback_id, None)
                with contextlib.suppress(ActionError, HangupException):
                    await self.ari.request("playbacks", "stop", playbackId=playback_id)
                return ""
            key = str(key_task.result())
            if key in escape_digits:
                self._waiting.pop(playback_id, None)
                with contextlib.suppress(ActionError, HangupException):
                    await self.ari.request("playbacks", "stop", playbackId=playback_id)
                return key

    can_listen = True
    listens_while_playing = True

    async def play(
        self, sound: str, escape_digits: str = ALL_KEYS, interrupt: asyncio.Event | None = None
    ) -> str | None:
        return await self._media(f"sound:{sound}", escape_digits, interrupt)

    async def wait_digit(self, timeout: float) -> str | None:
        if self.gone.is_set():
            raise HangupException("the caller hung up")
        try:
            key: str = await self._until(asyncio.ensure_future(self.keys.get()), timeout)
        except TimeoutError:
            return None
        return key

    async def send_dtmf(self, digits: str) -> None:
        await self._request("channels", "sendDTMF", channelId=self.channel_id, dtmf=digits)

    async def say_digits(self, digits: str, escape_digits: str = ALL_KEYS) -> str | None:
        return await self._media(f"digits:{digits}", escape_digits)

    async def say_number(self, number: int, escape_digits: str = ALL_KEYS) -> str | None:
        return await self._media(f"number:{number}", escape_digits)

    async def record(
        self, path: str, *, max_seconds: float, silence: int | None, beep: bool, finish_on_key: str
    ) -> Recording:
        name = recording_name(path)
        finished: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._waiting[name] = finished
        self._recordings.add(name)
        try:
            await self._request(
                "channels",
                "record",
                channelId=self.channel_id,
                name=name,
                format="wav",
                maxDurationSeconds=int(max_seconds),
                maxSilenceSeconds=silence or 0,
                beep="true" if beep else "false",
                terminateOn=finish_on_key or "none",
                ifExists="overwrite",
            )
            event = await self._until(finished, max_seconds + 15)
        except ActionError as exc:  # Asterisk cannot record (its directory missing: 500)
            raise _not_recorded(name, {"recording": {"cause": str(exc)}}) from None
        except TimeoutError:
            raise _not_recorded(name, {"recording": {"cause": "it never ended"}}) from None
        finally:
            self._waiting.pop(name, None)
            self._recordings.discard(name)
        if event.get("type") == "RecordingFailed":
            raise _not_recorded(name, event)
        return Recording(name, self.ari)

    async def transfer(self, destination: str) -> None:
        """Bridge the caller with a new call to ``destination`` until one side hangs up
        (see :class:`~asteramisk.asterisk.ari_transfer.ARITransfer`)."""
        target = dial_target(destination, self.pstn_endpoint)
        transfer = ARITransfer(self.ari, self.router, self.channel_id, target)
        await transfer.run(destination, self._request, self._until)

    async def listen(self) -> AudioStream:
        """The call's audio both ways over AudioSocket (see :class:`ARIMediaChannels`):
        ``stream.send`` plays to the caller, mixed with any playback."""
        if self._stream is not None and not self._stream.closed.is_set():
            return self._stream
        if self.gone.is_set():
            raise HangupException("the caller hung up")
        self._stream = await self._audio_channels.open(self._request, self._until)
        return self._stream

    async def carry_stream_audio(self) -> None:
        # The snoop channel whispers into what Asterisk writes to the caller; a channel that
        # is only waiting in Stasis is written nothing, so a silence generator carries it.
        await self._request("channels", "startSilence", channelId=self.channel_id)

    async def close(self) -> None:
        """Hang up the audio stream's channels and destroy its bridge."""
        await self._audio_channels.close()

    async def reconcile(self) -> None:
        """After the ARI connection came back: what happened to the call while it was down.
        A call that ended ends here too (its handler's next verb raises
        ``HangupException``); a playback or recording that ended ends here too (its verb
        returns) instead of waiting for an event that was lost."""
        if self.gone.is_set():
            return
        if not await self._alive():
            self.on_event({"type": "ChannelDestroyed", "channel": {"id": self.channel_id}})
            return
        for key in list(self._waiting):
            if key in self._recordings:
                if not await self._exists("recordings", "getLive", recordingName=key):
                    stored = await self._exists("recordings", "getStored", recordingName=key)
                    kind = "RecordingFinished" if stored else "RecordingFailed"
                    self._resolve(key, {"type": kind, "recording": {"name": key}})
            else:
                playback = await self._get("playbacks", "get", playbackId=key)
                if playback is None:
                    self._resolve(key, {"type": "PlaybackFinished", "playback": {"id": key}})
                elif getattr(playback, "json", {}).get("state") != "queued":
                    self.on_event({"type": "PlaybackStarted", "playback": {"id": key}})

    async def _exists(self, resource: str, operation: str, **params: str) -> bool:
        """Whether Asterisk still has the thing ``resource.operation`` gets (a refusal: no)."""
        return await self._get(resource, operation, **params) is not None

    async def _get(self, resource: str, operation: str, **params: str) -> Any:
        """What ``resource.operation`` gets, or None if Asterisk refuses (it has no such thing)."""
        try:
            result = await self.ari.request(resource, operation, **params)
        except ActionError:
            return None
        return {} if result is None else result

    async def variable(self, name: str) -> str | None:
        try:
            result = await self._request(
                "channels", "getChannelVar", channelId=self.channel_id, variable=name
            )
        except ActionError:
            return None
        value = result.get("value") if isinstance(result, dict) else None
        return None if value is None else str(value)


def _not_played(playback_id: str, event: dict[str, Any]) -> PlaybackError:
    media = str(event.get("playback", {}).get("media_uri", playback_id))
    where = (
        "Asterisk fetches it itself: check that it can reach that address"
        if media.startswith(("sound:http://", "sound:https://"))
        else "check that the file exists where Asterisk looks (its sounds directory, or "
        "ASTERISK_SOUNDS_DIR/ASTERISK_TTS_SOUNDS_SUBDIR for speech with TTS_DELIVERY=file) and "
        "that Asterisk may read it"
    )
    return PlaybackError(f"Asterisk could not play {media} (ARI playback failed): {where}.", media)


def _not_recorded(name: str, event: dict[str, Any]) -> RecordingError:
    cause = event.get("recording", {}).get("cause") or "no reason given"
    return RecordingError(
        f"Asterisk could not record {name!r} (ARI channels/record: {cause}). Check that "
        f"Asterisk's recording directory ({RECORDING_SPOOL}) exists and is "
        "writable by Asterisk.",
        name,
    )
