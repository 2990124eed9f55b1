"""OpenAI's transcription endpoint (``OPENAI_STT_MODEL``), through the openai library."""

from __future__ import annotations

import asyncio
from typing import Any

from asteramisk.exceptions import STTError
from asteramisk.media.format import FRAME_BYTES, wav_bytes
from asteramisk.media.stt.phrases import phrases_heard

__all__ = ["OpenAITranscriber"]


class OpenAITranscriber:
    """``client`` is an ``openai.AsyncOpenAI`` (default: one from the environment, which reads
    ``OPENAI_API_KEY``). ``phrases`` become the transcription prompt, which steers spelling, and
    the phrases said are then found in the transcript, as with every engine
    (:func:`~asteramisk.media.stt.phrases.phrases_heard`)."""

    name = "openai"

    def __init__(self, client: Any = None, model: str = "gpt-4o-mini-transcribe") -> None:
        if client is None:
            from openai import AsyncOpenAI

            client = AsyncOpenAI()
        self.client = client
        self.model = model

    async def transcribe(self, pcm: bytes, phrases: list[str] | None = None) -> str:
        if len(pcm) < FRAME_BYTES:
            return ""
        wav = await asyncio.to_thread(wav_bytes, pcm)
        options: dict[str, Any] = {}
        if phrases:
            options["prompt"] = "Expected phrases: " + "; ".join(phrases)
        try:
            result = await self.client.audio.transcriptions.create(
                model=self.model, file=("speech.wav", wav, "audio/wav"), **options
            )
        except Exception as exc:  # the openai library's errors, and its transport's
            raise STTError(
                f"OpenAI transcription ({self.model}) failed: {type(exc).__name__}: {exc}. "
                "Check OPENAI_API_KEY and the network, or use STT_ENGINE=pocketsphinx."
            ) from exc
        text = str(getattr(result, "text", result)).strip()
        return phrases_heard(text, phrases) if phrases else text

    async def close(self) -> None:
        return None
