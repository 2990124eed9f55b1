"""The AudioSocket server: calls' audio streamed to this process in real time.

Asterisk connects to it (ARI ``externalMedia`` with ``encapsulation=audiosocket``, or the
``AudioSocket`` application) and sends the call's UUID first. A stream is expected by that UUID
(:meth:`AudioSocketServer.expect`) before Asterisk is asked to connect; a connection with any
other UUID, or none within ``HELLO_TIMEOUT`` seconds, is closed at once and never delays a
real call. Each stream runs voice activity detection on what it hears and paces what it sends
at real time in 20 ms frames (silence when there is nothing to say); ``flush()`` drops what is
queued at once (barge-in).

Asterisk does not always send audio while the line is quiet: a ``Local`` channel with nothing
playing, or a phone that suppresses silence, sends no frames at all, and an utterance would
never end. So time without audio, past ``GAP_TOLERANCE``, counts as silence.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from typing import Any, TypeVar

from asteramisk.config import Settings
from asteramisk.lifecycle import LISTEN_BACKLOG, AsyncResource, next_or_none
from asteramisk.media.audiosocket import (
    KIND_AUDIO,
    KIND_DTMF,
    KIND_ERROR,
    KIND_HANGUP,
    KIND_UUID,
    AudioSocketParser,
    encode_frame,
)
from asteramisk.media.format import FRAME_BYTES, FRAME_SECONDS, SILENT_FRAME
from asteramisk.media.vad import VoiceActivityDetector, VoiceEvent
from asteramisk.media.voicing import (
    EnergyVoicing,
    SileroModels,
    SileroVoicing,
    Voicing,
    voicing_engine,
)

__all__ = ["AudioSocketServer", "AudioStream"]

log = logging.getLogger(__name__)

T = TypeVar("T")
HELLO_TIMEOUT = 2.0
PLAYOUT_DELAY = 0.3
"""Seconds after its last frame is sent that the caller may still be hearing it (Asterisk's
mixing and whisper buffers, then the network): what :meth:`AudioStream.played` waits."""
GAP_TOLERANCE = 0.2
"""Seconds without audio from Asterisk (more than its usual jitter) after which the missing
time is heard as silence (see the module docstring)."""


class AudioStream:
    """One call's audio: voice events from what the caller says, and audio to send back."""

    def __init__(self, stream_id: str, voicing: Voicing | None = None, *, end_ms: int = 0) -> None:
        self.id = stream_id
        self.connected = asyncio.Event()
        self.closed = asyncio.Event()
        self.vad = VoiceActivityDetector(voicing, end_ms=end_ms or None)
        self.events: asyncio.Queue[VoiceEvent] = asyncio.Queue()
        self.speaking = asyncio.Event()
        """Set while the caller speaks."""
        self.keys = ""
        self.frame_listeners: list[Callable[[bytes, bool], None]] = []
        """Told each 20 ms frame of the caller's audio, and whether the VAD found voice in
        it (answering-machine and beep detection listen so)."""
        self.on_pause: Callable[[bytes], None] | None = None
        """Told the caller's words so far each time they pause mid-turn (what the turn's
        audio will be if it ends there): for recognition to start early."""
        self.last_voice_at = 0.0
        """When the caller's voice was last heard (``time.monotonic()``), 0 if never."""
        self.frames_received = 0
        self.gap_frames = 0
        """Silent frames heard for the time Asterisk sent nothing (see the module docstring)."""
        self._heard_until = 0.0
        self.late_frames = 0
        """Frames the pacer sent more than one frame late (the loop was too busy)."""
        self._outgoing = bytearray()
        self._drained = asyncio.Event()
        self._drained.set()
        self._tap: asyncio.Queue[bytes] | None = None
        self._last_audio_at = 0.0
        self._writer: asyncio.StreamWriter | None = None
        self._keys: asyncio.Queue[str] = asyncio.Queue()

    def __repr__(self) -> str:
        return f"<AudioStream {self.id} frames={self.frames_received}>"

    # -- what the caller says ------------------------------------------------------------

    def tap(self) -> asyncio.Queue[bytes]:
        """A queue that gets every piece of the caller's audio as it arrives (8 kHz 16-bit;
        an empty piece when the call ends), for an engine that wants the raw stream."""
        if self._tap is None:
            self._tap = asyncio.Queue()
        return self._tap

    def untap(self) -> None:
        self._tap = None

    def on_audio(self, pcm: bytes) -> None:
        self._heard_until = time.monotonic()
        self._hear(pcm)

    def fill_gap(self) -> None:
        """Hear silence for the time past ``GAP_TOLERANCE`` that Asterisk sent no audio
        (called every frame by the stream's pacer; nothing before the first audio)."""
        if not self._heard_until:
            return
        missing = time.monotonic() - self._heard_until
        if missing > GAP_TOLERANCE:
            count = int(missing / FRAME_SECONDS)
            self._heard_until += count * FRAME_SECONDS
            self.gap_frames += count
            self._hear(SILENT_FRAME * count)

    def _hear(self, pcm: bytes) -> None:
        if self._tap is not None:
            self._tap.put_nowait(pcm)
        for start in range(0, len(pcm) - FRAME_BYTES + 1, FRAME_BYTES):
            self.frames_received += 1
            frame = pcm[start : start + FRAME_BYTES]
            event = self.vad.feed(frame)
            if self.vad.voiced:
                self.last_voice_at = time.monotonic()
            if self.frame_listeners:
                self._tell_listeners(frame, self.vad.voiced)
            if event is not None:
                self._emit(event)

    def _tell_listeners(self, frame: bytes, voiced: bool) -> None:
        for listener in tuple(self.frame_listeners):
            try:
                listener(frame, voiced)
            except Exception:  # a listener's bug must not end the call's audio
                log.exception("A frame listener of stream %s failed; it is removed", self.id)
                self.frame_listeners.remove(listener)

    def _emit(self, event: VoiceEvent) -> None:
        if event.kind == "pause":
            if self.on_pause is not None:
                try:
                    self.on_pause(event.audio)
                except Exception:  # early recognition is an optimisation: never fatal
                    log.exception("Starting recognition at a pause of stream %s failed", self.id)
            return
        if event.kind == "start":
            self.speaking.set()
        else:
            self.speaking.clear()
        self.events.put_nowait(event)

    def on_close(self) -> None:
        event = self.vad.finish()
        if event is not None:
            self._emit(event)
        self.closed.set()
        self._drained.set()
        if self._tap is not None:
            self._tap.put_nowait(b"")

    def on_keys(self, keys: str) -> None:
        self.keys += keys
        for key in keys:
            self._keys.put_nowait(key)

    async def next_key(self, timeout: float) -> str | None:
        """The next key the caller presses (sent over the stream), None if none comes within
        ``timeout`` seconds or the stream closes."""
        return await self._next(self._keys, timeout)

    async def _next(self, queue: asyncio.Queue[T], timeout: float) -> T | None:
        """The next item of ``queue``; None after ``timeout`` seconds, or once the stream has
        closed and the queue is empty."""
        return await next_or_none(queue, self.closed, timeout)

    async def close(self) -> None:
        """Close the connection from this side and wait until it is closed: a hangup frame
        first, so that Asterisk's ``AudioSocket()`` ends gracefully (returns 0, logs nothing)
        instead of on a reset connection."""
        if self._writer is not None and not self.closed.is_set():
            if not self._writer.is_closing():
                self._writer.write(encode_frame(KIND_HANGUP))
            self._writer.close()
        if self.connected.is_set():
            await self.closed.wait()

    def clear(self) -> None:
        """Forget the voice events so far (before listening for a new answer)."""
        while not self.events.empty():
            self.events.get_nowait()

    async def utterance(self, timeout: float, *, max_seconds: float = 30.0) -> bytes | None:
        """The next thing the caller says, once they stop (None if they say nothing within
        ``timeout`` seconds, or the call ends)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        started = False
        while True:
            remaining = deadline - loop.time()
            if not started and remaining <= 0:
                return None
            event = await self._next(self.events, remaining if not started else max_seconds)
            if event is None:
                return None  # silence until the deadline, or the call ended
            if event.kind == "start":
                started = True
                continue
            return event.audio

    # -- what we send ----------------------------------------------------------------------

    def send(self, pcm: bytes) -> None:
        """Queue 8 kHz 16-bit audio to play to the call, paced at real time."""
        self._outgoing += pcm
        if self._outgoing:
            self._drained.clear()

    def flush(self) -> None:
        """Drop everything queued, at once (the caller interrupted)."""
        self._outgoing.clear()
        self._drained.set()

    @property
    def sending(self) -> bool:
        """True while queued audio is still being sent."""
        return not self._drained.is_set()

    async def drained(self) -> None:
        """Wait until everything queued has been sent."""
        await self._drained.wait()

    async def played(self) -> None:
        """Wait until everything queued has been sent and heard (``PLAYOUT_DELAY`` later):
        before hanging up after the last words."""
        await self._drained.wait()
        if self.closed.is_set():
            return
        remaining = self._last_audio_at + PLAYOUT_DELAY - time.monotonic()
        if remaining > 0:
            await asyncio.sleep(remaining)

    def next_frame(self) -> bytes:
        if not self._outgoing:
            self._drained.set()
            return SILENT_FRAME
        frame = bytes(self._outgoing[:FRAME_BYTES]).ljust(FRAME_BYTES, b"\0")
        del self._outgoing[:FRAME_BYTES]
        self._last_audio_at = time.monotonic()
        if not self._outgoing:
            self._drained.set()
        return frame


class AudioSocketServer(AsyncResource):
    """Accepts Asterisk's AudioSocket connections for expected streams (see the module)."""

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        advertise_host: str = "",
        vad: str = "energy",
        end_ms: int = 0,
    ) -> None:
        self.host = host
        self.port = port
        self.advertise_host = advertise_host or host
        """The address Asterisk is told to connect to (see :mod:`asteramisk.addresses`)."""
        self._server: asyncio.Server | None = None
        self._expected: dict[str, AudioStream] = {}
        self.vad, self.end_ms = vad, end_ms
        """The streams' voice detector (``silero`` or ``energy``) and end-of-turn wait in ms
        (0: the detector's tuned default)."""
        self._models = SileroModels() if vad == "silero" else None
        self._connections: set[asyncio.Task[Any]] = set()
        self._starting = asyncio.Lock()
        self._closed = False
        self.refused = 0

    def __repr__(self) -> str:
        return f"<AudioSocketServer {self.host}:{self.port} streams={len(self._expected)}>"

    @classmethod
    def for_settings(
        cls, settings: Settings, host: str, advertise_host: str = ""
    ) -> AudioSocketServer:
        """A server with the voice detector ``VAD_ENGINE`` and ``VAD_END_MS`` name (a wrong
        name raises ConfigurationError now)."""
        return cls(
            host,
            advertise_host=advertise_host,
            vad=voicing_engine(settings.VAD_ENGINE),
            end_ms=settings.VAD_END_MS,
        )

    @property
    def address(self) -> str:
        """``host:port``, as Asterisk dials it."""
        return f"{self.advertise_host}:{self.port}"

    async def _open(self) -> None:
        await self.start()

    async def start(self) -> None:
        if self._closed:
            raise RuntimeError("This AudioSocketServer is closed; its owner makes a new one.")
        self._server = await asyncio.start_server(
            self._on_connection, self.host, self.port, backlog=LISTEN_BACKLOG
        )
        self.port = self._server.sockets[0].getsockname()[1]

    @property
    def listening(self) -> bool:
        return self._server is not None and self._server.is_serving()

    async def ensure_started(self) -> AudioSocketServer:
        """Start listening on first use (a Server whose calls never stream opens no port);
        returns the server."""
        async with self._starting:
            if not self.listening:
                await self.start()
        return self

    async def expect(self, stream_id: str) -> AudioStream:
        """The stream Asterisk will open with ``stream_id`` (a UUID, lower case)."""
        voicing: Voicing = (
            await self._models.take() if self._models is not None else EnergyVoicing()
        )
        stream = AudioStream(stream_id, voicing, end_ms=self.end_ms)
        self._expected[stream_id] = stream
        return stream

    def forget(self, stream_id: str) -> None:
        """The stream has ended, or will never come: its detector goes back for the next."""
        stream = self._expected.pop(stream_id, None)
        voicing = stream.vad.voicing if stream is not None else None
        if self._models is not None and isinstance(voicing, SileroVoicing):
            self._models.give(voicing)

    async def _on_connection(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._connections.add(task)
        parser = AudioSocketParser()
        stream: AudioStream | None = None
        pacer: asyncio.Task[None] | None = None
        try:
            async with asyncio.timeout(HELLO_TIMEOUT):
                stream, pending = await self._hello(reader, parser)
            if stream is None:
                self.refused += 1
                return
            stream._writer = writer
            stream.connected.set()
            pacer = asyncio.create_task(_pace(stream, writer))
            frames = pending
            while True:
                for frame in frames:
                    if frame.kind == KIND_AUDIO:
                        stream.on_audio(frame.payload)
                    elif frame.kind == KIND_DTMF:
                        stream.on_keys(frame.payload.decode("ascii", "replace"))
                    elif frame.kind in (KIND_HANGUP, KIND_ERROR):
                        return
                data = await reader.read(65536)
                if not data:
                    return
                frames = parser.feed(data)
        except (TimeoutError, ConnectionError, ValueError):
            self.refused += stream is None
        finally:
            if pacer is not None:
                pacer.cancel()
            if stream is not None:
                stream.on_close()
                self.forget(stream.id)
            writer.close()
            self._connections.discard(task)

    async def _hello(
        self, reader: asyncio.StreamReader, parser: AudioSocketParser
    ) -> tuple[AudioStream | None, list[Any]]:
        while True:
            data = await reader.read(4096)
            if not data:
                return None, []
            frames = parser.feed(data)
            if frames:
                first = frames[0]
                if first.kind != KIND_UUID or len(first.payload) != 16:
                    return None, []
                return self._expected.get(first.uuid), frames[1:]

    async def close(self) -> None:
        """Stop listening and end every stream (idempotent)."""
        self._closed = True
        server, self._server = self._server, None
        if server is not None:
            server.close()
        for task in list(self._connections):
            task.cancel()
        await asyncio.gather(*self._connections, return_exceptions=True)
        if self._models is not None:
            self._models.clear()
        if server is not None:
            await server.wait_closed()


async def _pace(stream: AudioStream, writer: asyncio.StreamWriter) -> None:
    """Send the stream's audio (or silence) every 20 ms, on an absolute clock; hear the
    time the caller's audio is missing as silence."""
    loop = asyncio.get_running_loop()
    start = loop.time()
    sent = 0
    with contextlib.suppress(ConnectionError):
        while not writer.is_closing():
            writer.write(encode_frame(KIND_AUDIO, stream.next_frame()))
            stream.fill_gap()
            sent += 1
            delay = start + sent * FRAME_SECONDS - loop.time()
            if delay < -FRAME_SECONDS:
                stream.late_frames += 1
            await asyncio.sleep(max(0.0, delay))
