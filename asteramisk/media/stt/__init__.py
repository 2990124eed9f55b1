"""Speech to text: one interface, an offline engine and a network one.

``pocketsphinx`` (offline, bundled en-US model) runs in a worker process of its own (it holds
the GIL while it decodes). ``openai`` sends the audio to OpenAI's transcription endpoint.
``get_stt_engine()`` returns the engine ``STT_ENGINE`` names, one per event loop.
"""

from __future__ import annotations

import asyncio
import importlib.util
import io
import wave
from typing import Any, Protocol

from asteramisk.config import config
from asteramisk.exceptions import ConfigurationError
from asteramisk.media.stt.pocketsphinx import PocketsphinxEngine
from asteramisk.media.stt.worker import SpeechWorker

__all__ = [
    "OpenAITranscriber",
    "PocketsphinxEngine",
    "PocketsphinxTranscriber",
    "Transcriber",
    "get_stt_engine",
    "pcm_to_wav",
]


class Transcriber(Protocol):
    """What an STT engine does: 8 kHz 16-bit mono PCM in, words out."""

    name: str

    async def transcribe(self, pcm: bytes, phrases: list[str] | None = None) -> str:
        """The words said in ``pcm``; ``phrases``, when given, are what may be said."""
        ...

    async def close(self) -> None: ...


class PocketsphinxTranscriber:
    """Pocketsphinx in a worker process (see :mod:`asteramisk.media.stt.worker`)."""

    name = "pocketsphinx"

    def __init__(self) -> None:
        self._worker = SpeechWorker()

    async def transcribe(self, pcm: bytes, phrases: list[str] | None = None) -> str:
        return await self._worker.transcribe(pcm, phrases)

    async def close(self) -> None:
        await self._worker.close()


def pcm_to_wav(pcm: bytes, rate: int = 8000) -> bytes:
    """8 kHz 16-bit mono PCM as the bytes of a WAV file."""
    out = io.BytesIO()
    with wave.open(out, "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(rate)
        wav.writeframes(pcm)
    return out.getvalue()


class OpenAITranscriber:
    """OpenAI's transcription endpoint (``OPENAI_STT_MODEL``), through the openai library.

    ``client`` is an ``openai.AsyncOpenAI`` (default: one from the environment, which reads
    ``OPENAI_API_KEY``). ``phrases`` become the transcription prompt, which steers spelling.
    """

    name = "openai"

    def __init__(self, client: Any = None, model: str | None = None) -> None:
        if client is None:
            from openai import AsyncOpenAI

            client = AsyncOpenAI()
        self.client = client
        self.model = model or config.OPENAI_STT_MODEL

    async def transcribe(self, pcm: bytes, phrases: list[str] | None = None) -> str:
        if len(pcm) < 320:
            return ""
        wav = await asyncio.to_thread(pcm_to_wav, pcm)
        options: dict[str, Any] = {}
        if phrases:
            options["prompt"] = "Expected phrases: " + "; ".join(phrases)
        result = await self.client.audio.transcriptions.create(
            model=self.model, file=("speech.wav", wav, "audio/wav"), **options
        )
        return str(getattr(result, "text", result)).strip()

    async def close(self) -> None:
        return None


_engines: dict[str, tuple[asyncio.AbstractEventLoop, Transcriber]] = {}


def get_stt_engine(name: str | None = None) -> Transcriber:
    """The engine ``name`` (default ``config.STT_ENGINE``) of the running event loop."""
    name = (name or config.STT_ENGINE).lower()
    if name == "auto":
        name = "pocketsphinx" if importlib.util.find_spec("pocketsphinx") else "openai"
    loop = asyncio.get_running_loop()
    known = _engines.get(name)
    if known is not None and known[0] is loop:
        return known[1]
    engine: Transcriber
    if name == "pocketsphinx":
        if importlib.util.find_spec("pocketsphinx") is None:
            raise ConfigurationError(
                "STT_ENGINE is 'pocketsphinx' but it is not installed: "
                "pip install 'asteramisk[local]'."
            )
        engine = PocketsphinxTranscriber()
    elif name == "openai":
        engine = OpenAITranscriber()
    else:
        raise ConfigurationError(
            f"STT_ENGINE is {name!r}; it must be 'pocketsphinx', 'openai' or 'auto' "
            "(config.STT_ENGINE = ... or export STT_ENGINE=...)."
        )
    _engines[name] = (loop, engine)  # one of another (finished) loop is dropped
    return engine
