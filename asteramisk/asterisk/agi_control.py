"""The call primitives over a FastAGI session (see :class:`AGIControl`)."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from typing import Any, TypeVar, cast

from asteramisk.agi import AGI, core
from asteramisk.agi.protocol import Response
from asteramisk.asterisk.agi_stasis import StasisVisit
from asteramisk.asterisk.ari import ARIClient
from asteramisk.asterisk.ari_control import ARIControl, hang_up_leg
from asteramisk.asterisk.causes import describe_cause
from asteramisk.asterisk.control import ALL_KEYS, CallControl, dial_target
from asteramisk.asterisk.recordings import RECORDING_SPOOL, Recording, recording_name
from asteramisk.asterisk.stasis import StasisRouter
from asteramisk.exceptions import ActionError, CallFailedException, PlaybackError, RecordingError
from asteramisk.media.audio_server import AudioSocketServer, AudioStream

__all__ = ["AGIControl"]

T = TypeVar("T")

_DIAL_CAUSES = {"BUSY": 17, "NOANSWER": 19, "CONGESTION": 34, "CHANUNAVAIL": 3}
"""The Q.850 cause of a failed ``Dial()`` when Asterisk gives none (``HANGUPCAUSE``)."""


class AGIControl(CallControl):
    """The primitives over a FastAGI session.

    The caller's audio streams with ``EXEC AudioSocket``, which holds the AGI session while
    it runs: the stream carries audio both ways (and the caller's keys), and any other
    primitive first closes it, which ends ``AudioSocket()`` and frees the channel.
    """

    can_listen = True

    def __init__(
        self,
        agi: AGI,
        pstn_endpoint: str,
        *,
        audio: AudioSocketServer,
        ari: ARIClient | None = None,
        router: StasisRouter | None = None,
    ) -> None:
        self.agi = agi
        self.call_id = agi.env.get("agi_uniqueid", "")
        self.ari = ari
        """The owner's ARI connection, if any: what a :class:`Recording` is fetched over."""
        self.pstn_endpoint = pstn_endpoint
        self.audio = audio
        """The AudioSocket server of the call's owner, which Asterisk streams the audio to."""
        self.router = router
        """The owner's Stasis router, for visits to ARI (:meth:`in_stasis`)."""
        self._stream: AudioStream | None = None
        self._streaming: asyncio.Future[str] | None = None  # the EXEC AudioSocket
        self._visit: StasisVisit | None = None  # the EXEC Stasis
        self._entering = asyncio.Lock()
        self.legs: list[CallControl] = []

    async def _run(self, action: core.Action[T]) -> T:
        """Execute ``action``; a failure because the caller is gone becomes a hangup.

        Asterisk answers ``result=-1`` to a command the hangup interrupted, a moment before
        its ``HANGUP`` line: the channel's status tells the two apart.
        """
        if self._streaming is not None or self._visit is not None:
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
        server = await self.audio.ensure_started()
        stream_id = str(uuid.uuid4())
        stream = await server.expect(stream_id)
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

    async def in_stasis(self) -> ARIControl:
        """The call in the owner's Stasis application, driven over ARI until the next AGI
        primitive brings it back (:class:`~asteramisk.asterisk.agi_stasis.StasisVisit`).
        Asked from two places at once (an agent's bridge and the caller's queue), both get
        the one visit."""
        async with self._entering:
            if self._visit is not None and not self._visit.control.gone.is_set():
                return self._visit.control
            if self.ari is None or self.router is None:
                raise NotImplementedError(
                    "Bridges, conferences and queues need ARI: set ASTERISK_ARI_USER and "
                    "ASTERISK_ARI_PASS, and a FastAGI call visits the server's ARI application."
                )
            await self._detach()
            visit = StasisVisit(
                self.agi, self.ari, self.router, self.audio, self.pstn_endpoint, self.call_id
            )
            visit.control.music_check = self.music_check
            try:
                control = await visit.enter()
            except core.AGIHangup:
                raise core.AGIResultHangup("the caller hung up") from None
            self._visit = visit
            return control

    async def _detach(self) -> None:
        """Close the stream (once ``AudioSocket()`` has returned the channel is ours again),
        or end the visit to Stasis."""
        visit, self._visit = self._visit, None
        if visit is not None:
            self.legs += await visit.leave()
        stream, self._stream = self._stream, None
        streaming, self._streaming = self._streaming, None
        if stream is not None:
            await stream.close()
        if streaming is not None:
            # AudioSocket()'s own failure is no error; the next command says if the caller left
            with contextlib.suppress(core.AGIAppError):
                await streaming

    async def close(self) -> None:
        if (self._streaming is not None or self._visit is not None) and not self.agi.closed:
            with contextlib.suppress(core.AGIException):
                await self._detach()
        if self._visit is not None:  # the session had gone: the visit ends with the call
            self.legs += await self._visit.leave()
            self._visit = None
        legs, self.legs = self.legs, []
        for leg in legs:
            await hang_up_leg(leg)

    async def dial(
        self, destination: str, *, timeout: float, caller_id: str | None = None
    ) -> CallControl:
        # Placed from the call's visit to Stasis, where the caller's hangup is seen at once.
        visit = await self.in_stasis()
        leg = await visit.dial(destination, timeout=timeout, caller_id=caller_id)
        return leg

    async def answer(self) -> None:
        await self._run(core.Answer())

    async def hangup(self) -> None:
        await self._run(core.Hangup())

    async def _start_music(self, music_class: str) -> None:
        # The music is a generator on the channel: it plays while the session waits for the
        # next command, and a command that plays (or the stream) stops it.
        await self._run(core.SetMusic(True, music_class))

    async def unhold(self) -> None:
        await self._run(core.SetMusic(False))

    async def play(
        self, sound: str, escape_digits: str = ALL_KEYS, interrupt: asyncio.Event | None = None
    ) -> str | None:
        try:
            result = await self._run(_PlayFile(sound, escape_digits))
        except core.AGIAppError:  # the channel is up (a hangup was raised as one): not played
            raise PlaybackError(
                f"Asterisk could not play {sound!r} (AGI STREAM FILE answered -1, nothing "
                "played): check that the file exists where Asterisk looks (its sounds "
                "directory, ASTERISK_SOUNDS_DIR/ASTERISK_TTS_SOUNDS_SUBDIR for speech with "
                "TTS_DELIVERY=file) and that Asterisk may read it, or for a URL that Asterisk "
                "can fetch it.",
                sound,
            ) from None
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
    ) -> Recording:
        name = recording_name(path)
        await self._run(core.SetAutohangup(0))
        action = core.RecordFile(
            f"{RECORDING_SPOOL}/{name}",
            core.FORMAT_WAV,
            finish_on_key,
            int(max_seconds * 1000),
            0,
            beep,
            silence,
        )
        try:
            await self._run(action)
        except core.AGIAppError as exc:  # the caller is there (a hangup was raised as one)
            raise RecordingError(
                f"Asterisk could not record {name!r} (AGI RECORD FILE: {exc}). Check that "
                f"its recording directory ({RECORDING_SPOOL}) exists and Asterisk may write "
                "to it.",
                name,
            ) from None
        return Recording(name, self.ari)

    async def transfer(self, destination: str) -> None:
        """``Dial()`` the destination: returns once the bridged call has ended; raises
        :class:`CallFailedException` if it was not answered (``DIALSTATUS``)."""
        await self._run(core.Exec("Dial", [dial_target(destination, self.pstn_endpoint), "60"]))
        status = await self._run(core.GetVariable("DIALSTATUS")) or ""
        if status == "ANSWER":
            return
        raw = await self._run(core.GetVariable("HANGUPCAUSE")) or ""
        cause = int(raw) if raw.isdigit() else _DIAL_CAUSES.get(status, 0)
        raise CallFailedException(
            f"The transfer to {destination} failed: {describe_cause(cause, status.lower())} "
            f"(DIALSTATUS {status or 'unset'}, cause {cause}).",
            cause,
            status,
        )

    async def variable(self, name: str) -> str | None:
        return await self._run(core.GetFullVariable("${" + name + "}"))


def _ignore_result(future: asyncio.Future[Any]) -> None:
    if not future.cancelled():
        future.exception()


class _PlayFile(core.StreamFile):
    """STREAM FILE that says when nothing played: Asterisk answers ``result=-1 endpos=0``
    for a file it cannot open (the seed's ``StreamFile`` returns None for it)."""

    def process_response(self, response: Response) -> tuple[str, int] | None:
        if response.result == "-1" and not response.endpos:
            raise core.AGIAppError(f"STREAM FILE played nothing: {response.line}", response)
        return super().process_response(response)
