"""A disk cache of synthesised phrases, as 8 kHz WAV files Asterisk plays without transcoding.

The file name is a hash of the engine, the voice and the exact text, so "1.5" and "15" never
collide and a restart finds what was made before. Long text is synthesised in pieces
(:mod:`asteramisk.media.tts.chunks`), so no text can take unbounded time or memory at once.
Synthesis and conversion run in a thread; two calls asking for the same new phrase at once
share one synthesis.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
from pathlib import Path

from asteramisk.media.format import to_phone_rate, write_wav
from asteramisk.media.tts.base import Audio, TTSEngine
from asteramisk.media.tts.chunks import split_text

__all__ = ["TTSCache", "phrase_key", "to_wav_8k"]


def phrase_key(engine: TTSEngine, text: str) -> str:
    style = f"{engine.style}\0" if engine.style else ""  # no style: keys as they always were
    digest = hashlib.sha256(f"{engine.name}\0{engine.voice}\0{style}{text}".encode()).hexdigest()
    return f"tts-{digest[:32]}"


def to_wav_8k(audio: Audio, path: Path) -> None:
    """Write ``audio`` as 8 kHz 16-bit mono WAV, atomically (no half file is ever seen)."""
    write_wav(path, to_phone_rate(audio.pcm, audio.rate))


class TTSCache:
    """Phrases of one engine, cached as ``<directory>/<key>.wav``."""

    def __init__(self, engine: TTSEngine, directory: str | os.PathLike[str]) -> None:
        self.engine = engine
        self.directory = Path(directory)
        self._pending: dict[str, asyncio.Future[Path]] = {}
        self.syntheses = 0

    def path(self, text: str) -> Path:
        return self.directory / f"{phrase_key(self.engine, text)}.wav"

    async def get(self, text: str) -> Path:
        """The WAV file of ``text``, synthesised (off the event loop) only if not cached."""
        path = self.path(text)
        if path.exists():
            return path
        key = path.stem
        pending = self._pending.get(key)
        if pending is not None:
            return await asyncio.shield(pending)
        future: asyncio.Future[Path] = asyncio.get_running_loop().create_future()
        self._pending[key] = future
        try:
            await asyncio.to_thread(self._make, text, path)
            future.set_result(path)
        except BaseException as exc:
            future.set_exception(exc)
            raise
        finally:
            del self._pending[key]
            if future.done() and not future.cancelled():
                future.exception()  # retrieved: no "never retrieved" warning
        return path

    def _make(self, text: str, path: Path) -> None:
        """Synthesise ``text`` piece by piece (bounded time and memory a piece), as one file."""
        self.syntheses += 1
        pieces = split_text(text) or [""]
        pcm = b"".join(
            to_phone_rate(audio.pcm, audio.rate)
            for audio in (self.engine.synthesize(piece) for piece in pieces)
        )
        write_wav(path, pcm)
