"""The call primitives over ARI (see :class:`ARIControl`)."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

from asteramisk.asterisk.ari import ARIClient
from asteramisk.asterisk.ari_bridge import bridge_until_one_leaves, connect_for_good
from asteramisk.asterisk.ari_leg import ARILeg
from asteramisk.asterisk.ari_media import ARIMediaChannels
from asteramisk.asterisk.ari_playback import ARIPlaybacks
from asteramisk.asterisk.ari_transfer import ARITransfer
from asteramisk.asterisk.control import ALL_KEYS, CallControl, dial_target
from asteramisk.asterisk.recordings import RECORDING_SPOOL, Recording, recording_name
from asteramisk.asterisk.stasis import StasisRouter
from asteramisk.exceptions import (
    ActionError,
    AsteramiskException,
    HangupException,
    RecordingError,
)
from asteramisk.media.audio_server import AudioSocketServer, AudioStream

__all__ = ["ARIControl", "hang_up_leg"]


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
        self.channel_id = self.call_id = channel_id
        self.pstn_endpoint = pstn_endpoint
        self.router = router
        """The owner's event router: this control adds the channels it makes (a transfer's
        leg, the audio stream's channels), so that their events reach it."""
        self.keys: asyncio.Queue[str] = asyncio.Queue()
        self.gone = asyncio.Event()
        self.destroyed = asyncio.Event()
        """Set when Asterisk says the channel is gone for good (ChannelDestroyed)."""
        self._recording: dict[str, asyncio.Future[dict[str, Any]]] = {}
        self._playbacks = ARIPlaybacks(
            ari, channel_id, self.keys, self.gone, self._request, self._alive
        )
        self._stream: AudioStream | None = None
        self._audio = audio
        self._audio_channels = ARIMediaChannels(ari, channel_id, router, audio, self.on_event)
        self.legs: list[CallControl] = []
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
        elif kind in ("PlaybackStarted", "PlaybackFinished", "PlaybackFailed"):
            self._playbacks.on_event(event)
        elif kind in ("RecordingFinished", "RecordingFailed"):
            self._resolve(str(event.get("recording", {}).get("name", "")), event)
        elif kind in ("StasisEnd", "ChannelDestroyed", "ChannelHangupRequest"):
            cause = event.get("cause")
            if self.hangup_cause is None and isinstance(cause, int) and kind != "StasisEnd":
                self.hangup_cause = cause
            if kind == "ChannelDestroyed":
                self.destroyed.set()
            self.gone.set()
            if self._audio_channels.open_channels and self._releasing is None:
                self._releasing = asyncio.ensure_future(self.close())

    def _resolve(self, name: str, event: dict[str, Any]) -> None:
        future = self._recording.pop(name, None)
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
        return await self.ari.lookup("channels", "get", channelId=self.channel_id) is not None

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

    can_listen = True
    listens_while_playing = True

    async def play(
        self, sound: str, escape_digits: str = ALL_KEYS, interrupt: asyncio.Event | None = None
    ) -> str | None:
        return await self._playbacks.play(f"sound:{sound}", escape_digits, interrupt)

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
        return await self._playbacks.play(f"digits:{digits}", escape_digits)

    async def say_number(self, number: int, escape_digits: str = ALL_KEYS) -> str | None:
        return await self._playbacks.play(f"number:{number}", escape_digits)

    async def record(
        self, path: str, *, max_seconds: float, silence: int | None, beep: bool, finish_on_key: str
    ) -> Recording:
        name = recording_name(path)
        finished: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._recording[name] = finished
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
            self._recording.pop(name, None)
        if event.get("type") == "RecordingFailed":
            raise _not_recorded(name, event)
        return Recording(name, self.ari)

    async def _start_music(self, music_class: str) -> None:
        await self._request("channels", "startMoh", channelId=self.channel_id, mohClass=music_class)

    async def unhold(self) -> None:
        await self._request("channels", "stopMoh", channelId=self.channel_id)

    async def dial(
        self, destination: str, *, timeout: float, caller_id: str | None = None
    ) -> ARIControl:
        leg = ARILeg(self.ari, dial_target(destination, self.pstn_endpoint))
        control = ARIControl(
            self.ari, leg.channel_id, self.pstn_endpoint, router=self.router, audio=self._audio
        )
        control.music_check = self.music_check

        def on_event(event: dict[str, Any]) -> None:
            leg.on_event(event)
            control.on_event(event)
            if event.get("type") == "ChannelDestroyed":
                self.router.remove(leg.channel_id)

        self.router.add(leg.channel_id, on_event, control.reconcile)
        try:
            await leg.place(self._request, self._until, timeout=timeout, caller_id=caller_id)
        except BaseException:
            self.router.remove(leg.channel_id)
            raise
        self.legs.append(control)
        return control

    async def bridge(self, other: CallControl) -> None:
        if not isinstance(other, ARIControl):
            raise TypeError(
                f"Only calls over ARI can be bridged, not a call over {type(other).__name__}."
            )
        await bridge_until_one_leaves(self.ari, [self, other])

    async def in_stasis(self) -> ARIControl:
        return self

    def hand_off(self, other: CallControl) -> None:
        if not isinstance(other, ARIControl):
            raise TypeError(
                f"Only calls over ARI can be connected, not a call over {type(other).__name__}."
            )
        self.release_leg(other)
        self.handoff = asyncio.ensure_future(connect_for_good(self.ari, [self, other]))

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

    async def follow(self) -> None:
        """Subscribe to the channel itself: its ChannelDestroyed (with the hangup cause)
        then comes even after it has left the Stasis application."""
        with contextlib.suppress(AsteramiskException):
            await self.ari.request(
                "applications",
                "subscribe",
                applicationName=self.ari.app,
                eventSource=f"channel:{self.channel_id}",
            )

    async def ended(self, timeout: float) -> None:
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(timeout):
                await self.destroyed.wait()

    async def close(self) -> None:
        """Hang up the audio stream's channels and destroy its bridge, and the calls placed
        from this one that are still up."""
        await self._audio_channels.close()
        legs, self.legs = self.legs, []
        for leg in legs:
            await hang_up_leg(leg)

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
        for name in list(self._recording):
            if await self.ari.lookup("recordings", "getLive", recordingName=name) is None:
                stored = await self.ari.lookup("recordings", "getStored", recordingName=name)
                kind = "RecordingFinished" if stored is not None else "RecordingFailed"
                self._resolve(name, {"type": kind, "recording": {"name": name}})
        await self._playbacks.reconcile()

    async def variable(self, name: str) -> str | None:
        try:
            result = await self._request(
                "channels", "getChannelVar", channelId=self.channel_id, variable=name
            )
        except ActionError:
            return None
        value = result.get("value") if isinstance(result, dict) else None
        return None if value is None else str(value)


async def hang_up_leg(leg: CallControl) -> None:
    """Hang up a call placed from another (:meth:`ARIControl.dial`) and release it."""
    assert isinstance(leg, ARIControl)
    await leg.close()
    if not leg.gone.is_set():
        await leg.ari.hang_up(leg.channel_id)
    leg.router.remove(leg.channel_id)


def _not_recorded(name: str, event: dict[str, Any]) -> RecordingError:
    cause = event.get("recording", {}).get("cause") or "no reason given"
    return RecordingError(
        f"Asterisk could not record {name!r} (ARI channels/record: {cause}). Check that "
        f"Asterisk's recording directory ({RECORDING_SPOOL}) exists and is "
        "writable by Asterisk.",
        name,
    )
