"""Speech: one owner for a Server's or Communicator's speech, both ways.

Text -> synthesised 8 kHz audio, cached on disk -> the name Asterisk plays it by: a path in the
directory Asterisk reads (``TTS_DELIVERY=file``) or a URL of a small http server this object
runs (``http``). With ``auto`` (the default) a probe file decides at start-up: if Asterisk
plays it from its side of the cache directory (same machine, or a shared volume), by file;
otherwise over http. ``file`` runs the same probe and refuses to start if Asterisk cannot
read the directory. The same audio as PCM, for a call's audio stream; local sound files converted
for Asterisk; and the caller's words back to text with the ``STT_ENGINE``.

::

    async with Speech.from_settings(config.snapshot()) as speech:
        name = await speech.file("Hello")        # what Asterisk plays
        pcm = await speech.pcm("Hello")          # 8 kHz 16-bit PCM
        words = await speech.transcribe(pcm)

It owns its TTS engine and cache, its media server and its STT engine (a worker process for
pocketsphinx): ``close()`` ends all of them. A ``Server`` or ``Communicator`` makes one at
``start()`` and hands it to every ``VoiceUI``.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import time
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path

from asteramisk.config import Settings
from asteramisk.exceptions import AsteramiskException, ConfigurationError
from asteramisk.lifecycle import AsyncResource
from asteramisk.media.format import read_wav, to_phone_rate, write_wav
from asteramisk.media.http import MediaServer
from asteramisk.media.stt.base import Prefetching, Transcriber
from asteramisk.media.stt.registry import create_transcriber
from asteramisk.media.stt.registry import engine_name as stt_engine_name
from asteramisk.media.tts.base import TTSEngine
from asteramisk.media.tts.cache import TTSCache
from asteramisk.media.tts.registry import create_engine
from asteramisk.media.tts.registry import engine_name as tts_engine_name

__all__ = ["DELIVERIES", "SoundCheck", "Speech"]

log = logging.getLogger(__name__)

DELIVERIES = ("auto", "file", "http")

SoundCheck = Callable[[str], Awaitable[bool]]
"""``await check(sound)``: whether Asterisk plays ``sound`` (see
:func:`asteramisk.asterisk.sound_probe.sound_plays`)."""


class Speech(AsyncResource):
    """Speech synthesis, its delivery to Asterisk, and recognition (see the module).

    ``tts`` is the synthesiser (or None: made from ``tts_engine`` on first use), ``transcriber``
    the recogniser (or None: made from ``settings`` on first use). ``cache_dir`` is where the
    audio is written on this machine; with ``delivery="file"`` Asterisk reads the same directory
    as ``asterisk_dir``; with ``"http"`` a media server on ``http_host`` serves it; ``"auto"``
    becomes one or the other at :meth:`start`, by asking ``sound_check`` (without one,
    ``auto`` means ``file``).
    """

    def __init__(
        self,
        tts: TTSEngine | None = None,
        transcriber: Transcriber | None = None,
        *,
        cache_dir: str | Path,
        delivery: str = "auto",
        asterisk_dir: str = "",
        http_host: str = "127.0.0.1",
        tts_engine: str = "auto",
        settings: Settings | None = None,
    ) -> None:
        if delivery not in DELIVERIES:
            raise ConfigurationError(
                f"TTS_DELIVERY is {delivery!r}: it must be 'auto', 'file' or 'http' "
                "(config.TTS_DELIVERY = 'http' or export TTS_DELIVERY=http)."
            )
        if tts is None:
            tts_engine_name(tts_engine)  # a wrong name is refused now, not at the first say
        if transcriber is None and settings is not None:
            stt_engine_name(settings.STT_ENGINE)
        self.directory = Path(cache_dir)
        self.delivery = delivery
        self.asterisk_dir = asterisk_dir or str(self.directory)
        self.http_host = http_host
        self.advertise_host = ""
        """Where Asterisk fetches speech over http (default ``http_host``); its owner sets it
        before :meth:`start` (see :mod:`asteramisk.addresses`)."""
        self.sound_check: SoundCheck | None = None
        self.on_timing: Callable[[str, float, bool], None] | None = None
        """Told how long each synthesis (``"tts"``) and recognition (``"stt"``) took, and
        whether the phrase was cached (its owner publishes it as an event)."""
        """How to ask Asterisk whether it plays a file; its owner sets it before :meth:`start`
        (``auto`` and ``file`` deliveries use it once there)."""
        self._tts = tts
        self._tts_engine = tts_engine
        self._cache: TTSCache | None = None
        self._transcriber = transcriber
        self._settings = settings
        self._media: MediaServer | None = None
        self._closed = False

    @classmethod
    def from_settings(cls, settings: Settings, *, http_host: str | None = None) -> Speech:
        """The speech a Server or Communicator configured by ``settings`` uses."""
        asterisk_dir = f"{settings.ASTERISK_SOUNDS_DIR}/{settings.ASTERISK_TTS_SOUNDS_SUBDIR}"
        return cls(
            cache_dir=settings.TTS_CACHE_DIR or asterisk_dir,
            delivery=settings.TTS_DELIVERY,
            asterisk_dir=asterisk_dir,
            http_host=http_host or settings.AGI_SERVER_HOST,
            tts_engine=settings.TTS_ENGINE,
            settings=settings,
        )

    def __repr__(self) -> str:
        where = self.media_url if self.delivery == "http" else self.asterisk_dir
        return f"<Speech {self.delivery} {where or '(not started)'}>"

    # -- lifecycle ---------------------------------------------------------------------------

    async def _open(self) -> None:
        await self.start()

    async def start(self) -> None:
        """Settle ``auto`` (or check ``file``) with a probe, then start the media server when
        delivery is over http."""
        if self.delivery in ("auto", "file") and self._media is None:
            await self._settle_delivery()
        if self.delivery == "http" and self._media is None:
            self._media = MediaServer(
                self.directory, self.http_host, 0, advertise_host=self.advertise_host
            )
            await self._media.start()

    async def _settle_delivery(self) -> None:
        """Write a probe into the cache and ask Asterisk to play it from its side."""
        if self.sound_check is None:
            self.delivery = "file"  # nobody to ask: as configured (auto: the same machine)
            return
        probe = self.directory / f"probe-{uuid.uuid4().hex}.wav"
        try:
            await asyncio.to_thread(write_wav, probe, bytes(320))  # 20 ms of silence
        except OSError as exc:
            raise ConfigurationError(
                f"Cannot write speech to TTS_CACHE_DIR {self.directory}: {exc.strerror}. Make "
                "it a directory this app may write to."
            ) from None
        sound = f"{self.asterisk_dir}/{probe.stem}"
        try:
            plays = await self.sound_check(sound)
        except ValueError as exc:
            raise ConfigurationError(
                f"Asterisk's speech directory {self.asterisk_dir!r} cannot be played from: "
                f"{exc} Set ASTERISK_SOUNDS_DIR and ASTERISK_TTS_SOUNDS_SUBDIR to plain paths."
            ) from None
        except AsteramiskException as exc:
            log.warning(
                "Could not ask Asterisk whether it reads %s (%s); speech goes by file, as "
                "Asterisk's path %s. Set TTS_DELIVERY to 'file' or 'http' to skip the check.",
                self.directory,
                exc,
                self.asterisk_dir,
            )
            self.delivery = "file"
            return
        finally:
            probe.unlink(missing_ok=True)
        if plays:
            log.info("Speech reaches Asterisk by file: it plays %s as %s", probe, sound)
            self.delivery = "file"
        elif self.delivery == "auto":
            log.info(
                "Asterisk cannot read %s as %s (another machine or container): speech "
                "goes to Asterisk over http",
                self.directory,
                self.asterisk_dir,
            )
            self.delivery = "http"
        else:
            raise ConfigurationError(
                f"TTS_DELIVERY is 'file', but Asterisk could not play a file written to "
                f"{self.directory} when asked for it as {sound}: Asterisk does not read that "
                "directory. Set TTS_CACHE_DIR to the directory Asterisk reads as "
                "ASTERISK_SOUNDS_DIR/ASTERISK_TTS_SOUNDS_SUBDIR (as this machine sees it), "
                "or set TTS_DELIVERY to 'auto' or 'http' to serve speech over http."
            )

    async def close(self) -> None:
        """Stop the media server and the recogniser (idempotent)."""
        self._closed = True
        media, self._media = self._media, None
        if media is not None:
            await media.close()
        transcriber, self._transcriber = self._transcriber, None
        if transcriber is not None:
            await transcriber.close()

    @property
    def closed(self) -> bool:
        """Whether :meth:`close` has run (its owner closed it)."""
        return self._closed

    @property
    def media_url(self) -> str:
        """Where the media server serves the cache ('' when delivery is by file)."""
        return self._media.base_url if self._media is not None else ""

    # -- speech out --------------------------------------------------------------------------

    @property
    def cache(self) -> TTSCache:
        """The cache of synthesised phrases (its engine made on first use)."""
        if self._cache is None:
            self._cache = TTSCache(self._tts or create_engine(self._tts_engine), self.directory)
        return self._cache

    async def file(self, text: str) -> str:
        """The name Asterisk plays the synthesised ``text`` by (made if not cached)."""
        return self.asterisk_name(await self._phrase(text))

    async def pcm(self, text: str) -> bytes:
        """The synthesised ``text`` as 8 kHz 16-bit PCM (made if not cached)."""
        pcm, _rate = await asyncio.to_thread(read_wav, await self._phrase(text))
        return pcm

    async def _phrase(self, text: str) -> Path:
        cache = self.cache
        started, cached = time.perf_counter(), cache.path(text).exists()
        path = await cache.get(text)
        if self.on_timing is not None:
            self.on_timing("tts", time.perf_counter() - started, cached)
        return path

    async def local_file(self, path: str | Path) -> str:
        """A local sound file (any format ffmpeg reads) converted once to 8 kHz WAV in the
        cache, and the name Asterisk plays it by."""
        return self.asterisk_name(await asyncio.to_thread(_convert, Path(path), self.directory))

    def asterisk_name(self, path: Path) -> str:
        """How Asterisk finds a file of the cache: by path (without extension) or by URL."""
        if self.delivery == "http":
            if self._media is None:
                raise ConfigurationError(
                    "TTS_DELIVERY is 'http' but the media server is not running: it starts "
                    "with the Server or Communicator (await speech.start() when used alone)."
                )
            return f"{self._media.base_url}/{path.name}"
        return f"{self.asterisk_dir}/{path.stem}"

    # -- speech in ---------------------------------------------------------------------------

    @property
    def transcriber(self) -> Transcriber:
        """The recogniser (made on first use; closed with this object)."""
        if self._closed:
            raise RuntimeError("This Speech is closed.")
        if self._transcriber is None:
            if self._settings is None:
                raise ConfigurationError("No speech recogniser: give Speech a transcriber.")
            self._transcriber = create_transcriber(self._settings)
        return self._transcriber

    def prefetch(self, pcm: bytes) -> None:
        """The caller has paused with ``pcm`` said so far: an engine that can starts on it,
        so that little is left to do if the turn ends there (``AudioStream.on_pause``)."""
        engine = self._transcriber
        if engine is None and self._settings is not None and not self._closed:
            engine = self.transcriber
        if isinstance(engine, Prefetching):
            engine.prefetch(pcm)

    async def transcribe(self, pcm: bytes, phrases: list[str] | None = None) -> str:
        """The words said in 8 kHz 16-bit ``pcm`` (``phrases``: what may be said)."""
        started = time.perf_counter()
        text = await self.transcriber.transcribe(pcm, phrases)
        if self.on_timing is not None:
            self.on_timing("stt", time.perf_counter() - started, False)
        return text


def _convert(source: Path, directory: Path) -> Path:
    """``source`` as 8 kHz WAV in ``directory``, converted once per version of the file."""
    from pydub import AudioSegment

    stamp = f"{source.resolve()}\0{source.stat().st_mtime_ns}"
    target = directory / f"file-{hashlib.sha256(stamp.encode()).hexdigest()[:32]}.wav"
    if not target.exists():
        segment = AudioSegment.from_file(source).set_channels(1).set_sample_width(2)
        write_wav(target, to_phone_rate(segment.raw_data, segment.frame_rate))
    return target
