"""The few call primitives the voice UI is written on, with AGI and ARI implementations.

``VoiceUI`` is written once over :class:`CallControl`; each transport (FastAGI, ARI)
implements these primitives. Escape digits let a key interrupt playback: the key is returned so
that it counts for the next ``gather`` (barge-in).
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from abc import ABC, abstractmethod
from typing import Any, TypeVar, cast

from asteramisk.agi import AGI, core
from asteramisk.asterisk.ari import ARIClient
from asteramisk.exceptions import ActionError, HangupException
from asteramisk.media.audio_server import AudioStream, shared_audio_server

__all__ = ["AGIControl", "ARIControl", "CallControl"]

ALL_KEYS = "0123456789*#"
T = TypeVar("T")


class CallControl(ABC):
    """What a voice call can be asked to do."""

    @abstractmethod
    async def answer(self) -> None: ...

    @abstractmethod
    async def hangup(self) -> None: ...

    can_listen = False
    """Whether :meth:`listen` streams the caller's audio on this transport."""
    listens_while_playing = False
    """Whether the stream stays attached while a file plays (so the caller's voice can
    interrupt it); if not, any other primitive detaches the stream first."""

    @abstractmethod
    async def play(
        self, sound: str, escape_digits: str = ALL_KEYS, interrupt: asyncio.Event | None = None
    ) -> str | None:
        """Play ``sound`` (a name Asterisk resolves, without extension); the key that
        interrupted it, '' if ``interrupt`` was set (the caller spoke), or None."""

    @abstractmethod
    async def wait_digit(self, timeout: float) -> str | None:
        """The next key pressed within ``timeout`` seconds, or None."""

    @abstractmethod
    async def send_dtmf(self, digits: str) -> None: ...

    @abstractmethod
    async def say_digits(self, digits: str, escape_digits: str = ALL_KEYS) -> str | None: ...

    @abstractmethod
    async def say_number(self, number: int, escape_digits: str = ALL_KEYS) -> str | None: ...

    @abstractmethod
    async def record(
        self, path: str, *, max_seconds: float, silence: int | None, beep: bool, finish_on_key: str
    ) -> str:
        """Record to ``path`` (Asterisk's view, without extension) as WAV; return the
        recording's path as Asterisk sees it (with ``.wav``)."""

    @abstractmethod
    async def transfer(self, destination: str) -> None:
        """Send the call to ``destination``: a channel (``PJSIP/100``) or a number
        (dialled through the PSTN trunk)."""

    @abstractmethod
    async def variable(self, name: str) -> str | None: ...

    async def listen(self) -> AudioStream:
        """The caller's audio, streamed to this process (for speech recognition)."""
        raise NotImplementedError(
            f"Listening to the caller needs the ARI transport; this call uses "
            f"{type(self).__name__}. Register the number with transport='ari' (the default)."
        )

    async def carry_stream_audio(self) -> None:
        """Make the audio sent on the :meth:`listen` stream heard by the caller until the
        next playback (which stops it; call this again after one)."""
        return None

    async def close(self) -> None:
        """Release what the call used besides the channel (its audio stream)."""
        return None


class AGIControl(CallControl):
    """The primitives over a FastAGI session.

    The caller's audio streams with ``EXEC AudioSocket``, which holds the AGI session while
    it runs: the stream carries audio both ways (and the caller's keys), and any other
    primitive first closes it, which ends ``AudioSocket()`` and frees the channel.
    """

    can_listen = True

    def __init__(
        self, agi: AGI, pstn_endpoint: str = "pstn", *, audio_host: str = "127.0.0.1"
    ) -> None:
        self.agi = agi
        self.pstn_endpoint = pstn_endpoint
        self.audio_host = audio_host
        self._stream: AudioStream | None = None
        self._streaming: asyncio.Future[str] | None = None  # the EXEC AudioSocket

    async def _run(self, action: core.Action[T]) -> T:
        """Execute ``action``; a failure because the caller is gone becomes a hangup.

        Asterisk answers ``result=-1`` to a command the hangup interrupted, a moment before
        its ``HANGUP`` line: the channel's status tells the two apart.
        """
        if self._streaming is not None:
            await self._detach()
        try:
            return await self.agi.execute(action)
        except core.AGIAppError:
            try:
                await self.agi.execute(core.ChannelStatus())
            except (core.AGIError, core.AGIHangup):
                raise core.AGIResultHangup("the caller hung up") from None
            raise

    async def listen(self) -> AudioStream:
        """The call's audio both ways: ``EXEC AudioSocket`` to this process's AudioSocket
        server (see the class)."""
        if self._stream is not None and not self._stream.closed.is_set():
            return self._stream
        if self._streaming is not None:
            await self._detach()
        server = await shared_audio_server(self.audio_host)
        stream_id = str(uuid.uuid4())
        stream = server.expect(stream_id)
        streaming = self.agi.execute(core.Exec("AudioSocket", [stream_id, server.address]))
        connected: asyncio.Future[Any] = asyncio.ensure_future(stream.connected.wait())
        try:
            await asyncio.wait(
                {connected, cast("asyncio.Future[Any]", streaming)},
                timeout=5,
                return_when=asyncio.FIRST_COMPLETED,
            )
        finally:
            connected.cancel()
        if not stream.connected.is_set():
            server.forget(stream_id)
            if streaming.done():
                streaming.result()  # the caller hung up: raises it
            else:
                streaming.add_done_callback(_ignore_result)
            raise ActionError(
                f"Asterisk's AudioSocket() did not connect to {server.address}: can Asterisk "
                "reach this address (AGI_SERVER_HOST)?"
            )
        self._stream, self._streaming = stream, streaming
        return stream

    async def _detach(self) -> None:
        """Close the stream; once ``AudioSocket()`` has returned the channel is ours again."""
        stream, self._stream = self._stream, None
        streaming, self._streaming = self._streaming, None
        if stream is not None:
            await stream.close()
        if streaming is not None:
            # AudioSocket()'s own failure is no error; the next command says if the caller left
            with contextlib.suppress(core.AGIAppError):
                await streaming

    async def close(self) -> None:
        if self._streaming is not None and not self.agi.closed:
            with contextlib.suppress(core.AGIException):
                await self._detach()

    async def answer(self) -> None:
        await self._run(core.Answer())

    async def hangup(self) -> None:
        await self._run(core.Hangup())

    async def play(
        self, sound: str, escape_digits: str = ALL_KEYS, interrupt: asyncio.Event | None = None
    ) -> str | None:
        result = await self._run(core.StreamFile(sound, escape_digits))
        return result[0] if result else None

    async def wait_digit(self, timeout: float) -> str | None:
        stream = self._stream
        if stream is not None and not stream.closed.is_set():
            key = await stream.next_key(timeout)  # the keys come over the stream meanwhile
            if key is None and stream.closed.is_set():
                await self._detach()  # raises the hangup if that is why it closed
            return key
        return await self._run(core.WaitForDigit(int(timeout * 1000)))

    async def send_dtmf(self, digits: str) -> None:
        await self._run(core.Exec("SendDTMF", [digits]))

    async def say_digits(self, digits: str, escape_digits: str = ALL_KEYS) -> str | None:
        return await self._run(core.SayDigits(digits, escape_digits))

    async def say_number(self, number: int, escape_digits: str = ALL_KEYS) -> str | None:
        return await self._run(core.SayNumber(number, escape_digits))

    async def record(
        self, path: str, *, max_seconds: float, silence: int | None, beep: bool, finish_on_key: str
    ) -> str:
        await self._run(core.SetAutohangup(0))
        await self._run(
            core.RecordFile(
                path, core.FORMAT_WAV, finish_on_key, int(max_seconds * 1000), 0, beep, silence
            )
        )
        return f"{path}.wav"

    async def transfer(self, destination: str) -> None:
        target = (
            destination if "/" in destination else (f"PJSIP/{destination}@{self.pstn_endpoint}")
        )
        await self._run(core.Exec("Dial", [target, "60"]))

    async def variable(self, name: str) -> str | None:
        return await self._run(core.GetFullVariable("${" + name + "}"))


def _ignore_result(future: asyncio.Future[Any]) -> None:
    if not future.cancelled():
        future.exception()


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
        pstn_endpoint: str = "pstn",
        routes: dict[str, ARIControl] | None = None,
        audio_host: str = "127.0.0.1",
    ) -> None:
        self.ari = ari
        self.channel_id = channel_id
        self.pstn_endpoint = pstn_endpoint
        self.routes = routes if routes is not None else {}
        """Where the server looks up the control of a channel's events; ``transfer`` adds the
        new leg here, so that its events reach this control."""
        self._leg_up: asyncio.Future[None] | None = None
        self._leg_gone = asyncio.Event()
        self.keys: asyncio.Queue[str] = asyncio.Queue()
        self.gone = asyncio.Event()
        self._waiting: dict[str, asyncio.Future[dict[str, Any]]] = {}
        self.audio_host = audio_host
        self._stream: AudioStream | None = None
        self._media_channels: list[str] = []
        self._media_bridge = ""
        self._releasing: asyncio.Task[None] | None = None

    # -- events, routed by the server ----------------------------------------------------

    def on_event(self, event: dict[str, Any]) -> None:
        kind = event.get("type")
        channel_id = str((event.get("channel") or {}).get("id", ""))
        if channel_id in self._media_channels:
            return
        if channel_id and channel_id != self.channel_id:  # the leg of a transfer
            if kind == "StasisStart" and self._leg_up is not None and not self._leg_up.done():
                self._leg_up.set_result(None)
            elif kind in ("StasisEnd", "ChannelDestroyed"):
                self._leg_gone.set()
            return
        if kind == "ChannelDtmfReceived":
            self.keys.put_nowait(str(event.get("digit", "")))
        elif kind in ("PlaybackFinished", "PlaybackFailed"):
            self._resolve(str(event.get("playback", {}).get("id", "")), event)
        elif kind in ("RecordingFinished", "RecordingFailed"):
            self._resolve(str(event.get("recording", {}).get("name", "")), event)
        elif kind in ("StasisEnd", "ChannelDestroyed", "ChannelHangupRequest"):
            self.gone.set()
            if self._media_channels and self._releasing is None:
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
        try:
            await self.ari.request("channels", "get", channelId=self.channel_id)
        except ActionError:
            return False
        return True

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
        playing = asyncio.ensure_future(
            self._request(
                "channels", "play", channelId=self.channel_id, media=media, playbackId=playback_id
            )
        )
        try:
            await asyncio.shield(playing)
            return await self._until_played(playback_id, finished, escape_digits, interrupt)
        except asyncio.CancelledError:
            # The app stopped waiting: the caller stops hearing it, at once.
            await self.ari.cleanup("playbacks", "stop", after=playing, playbackId=playback_id)
            raise
        finally:
            self._waiting.pop(playback_id, None)

    async def _until_played(
        self,
        playback_id: str,
        finished: asyncio.Future[dict[str, Any]],
        escape_digits: str,
        interrupt: asyncio.Event | None,
    ) -> str | None:
        while True:
            key_task: asyncio.Future[Any] = asyncio.ensure_future(self.keys.get())
            gone_task: asyncio.Future[Any] = asyncio.ensure_future(self.gone.wait())
            waiters: set[asyncio.Future[Any]] = {finished, key_task, gone_task}
            if interrupt is not None:
                waiters.add(asyncio.ensure_future(interrupt.wait()))
            try:
                done, _ = await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
            finally:
                for waiter in waiters - {finished}:
                    waiter.cancel()
            if finished in done:
                return None
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
    ) -> str:
        name = path.rsplit("/", 1)[-1]
        finished: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._waiting[name] = finished
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
        event = await self._until(finished)
        if event.get("type") == "RecordingFailed":
            raise ActionError(f"ARI recording {name} failed: {event.get('recording', {})}")
        # ARI keeps recordings in Asterisk's recording spool, under their name.
        return f"/var/spool/asterisk/recording/{name}.wav"

    async def transfer(self, destination: str) -> None:
        """Bridge the caller with a new call to ``destination`` until one side hangs up."""
        target = (
            destination if "/" in destination else (f"PJSIP/{destination}@{self.pstn_endpoint}")
        )
        leg_id = f"transfer-{uuid.uuid4().hex}"
        bridge = await self._request("bridges", "create", type="mixing")
        bridge_id = bridge.id
        self._leg_up = asyncio.get_running_loop().create_future()
        self._leg_gone.clear()
        self.routes[leg_id] = self
        originating: asyncio.Future[Any] | None = None
        try:
            await self._request(
                "bridges", "addChannel", bridgeId=bridge_id, channel=self.channel_id
            )
            originating = asyncio.ensure_future(
                self._request(
                    "channels",
                    "originate",
                    endpoint=target,
                    app=self.ari.app,
                    appArgs="asteramisk-transfer",
                    channelId=leg_id,
                    timeout=60,
                )
            )
            await asyncio.shield(originating)  # cancelled, the hangup below waits for it
            await self._until(self._leg_up, 70)
            await self._request("bridges", "addChannel", bridgeId=bridge_id, channel=leg_id)
            await self._until(asyncio.ensure_future(self._leg_gone.wait()))
        except TimeoutError:
            raise ActionError(f"transfer to {destination}: not answered") from None
        finally:
            self.routes.pop(leg_id, None)
            if originating is not None:
                await self.ari.hang_up(leg_id, made_by=originating)
            await self.ari.cleanup("bridges", "destroy", bridgeId=bridge_id)

    async def listen(self) -> AudioStream:
        """The call's audio both ways over AudioSocket: a snoop channel that hears what the
        caller says and whispers to them, bridged with an ``externalMedia`` channel that
        streams to this process (``stream.send`` plays to the caller, mixed with any
        playback)."""
        if self._stream is not None and not self._stream.closed.is_set():
            return self._stream
        if self.gone.is_set():
            raise HangupException("the caller hung up")
        server = await shared_audio_server(self.audio_host)
        stream_id = str(uuid.uuid4())
        stream = server.expect(stream_id)
        snoop_id, media_id = f"snoop-{stream_id}", f"media-{stream_id}"
        self._media_channels += [snoop_id, media_id]
        for channel_id in (snoop_id, media_id):
            self.routes[channel_id] = self
        try:
            await self._request(
                "channels",
                "snoopChannelWithId",
                channelId=self.channel_id,
                snoopId=snoop_id,
                app=self.ari.app,
                spy="in",  # what the caller says, to us
                whisper="out",  # what we send over the stream, to the caller
            )
            await self._request(
                "channels",
                "externalMedia",
                channelId=media_id,
                app=self.ari.app,
                external_host=server.address,
                encapsulation="audiosocket",
                transport="tcp",
                format="slin",
                data=stream_id,
            )
            bridge = await self._request("bridges", "create", type="mixing")
            self._media_bridge = bridge.id
            await self._request(
                "bridges", "addChannel", bridgeId=bridge.id, channel=f"{snoop_id},{media_id}"
            )
            await self._until(asyncio.ensure_future(stream.connected.wait()), 5)
        except TimeoutError:
            server.forget(stream_id)
            raise ActionError(
                f"Asterisk did not connect its audio to {server.address}: can it reach this "
                "address (AGI_SERVER_HOST)?"
            ) from None
        except BaseException:
            server.forget(stream_id)
            raise
        self._stream = stream
        return stream

    async def carry_stream_audio(self) -> None:
        # The snoop channel whispers into what Asterisk writes to the caller; a channel that
        # is only waiting in Stasis is written nothing, so a silence generator carries it.
        await self._request("channels", "startSilence", channelId=self.channel_id)

    async def close(self) -> None:
        """Hang up the audio stream's channels and destroy its bridge."""
        channels, self._media_channels = self._media_channels, []
        bridge, self._media_bridge = self._media_bridge, ""
        for channel_id in channels:
            self.routes.pop(channel_id, None)
            await self.ari.hang_up(channel_id)
        if bridge:
            await self.ari.cleanup("bridges", "destroy", bridgeId=bridge)

    async def variable(self, name: str) -> str | None:
        try:
            result = await self._request(
                "channels", "getChannelVar", channelId=self.channel_id, variable=name
            )
        except ActionError:
            return None
        value = result.get("value") if isinstance(result, dict) else None
        return None if value is None else str(value)
