"""Pocketsphinx: offline speech recognition with its bundled US English model.

Free transcription with the general language model is rough on telephone audio. Given the
phrases that may be said (``phrases=``), recognition runs on a grammar of those phrases, in any
order and number, and is exact on clear speech: tests list what the app may say, wrong
alternatives included, and check which one it said.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Iterable
from typing import Any

import numpy as np

from asteramisk.exceptions import ConfigurationError
from asteramisk.media.format import FRAME_BYTES, RATE, SAMPLE_WIDTH
from asteramisk.media.stt.phrases import normalise
from asteramisk.media.stt.worker import POCKETSPHINX, SpeechWorker

__all__ = ["PocketsphinxEngine", "PocketsphinxTranscriber", "normalise"]


MODEL_RATE = 16000
"""The bundled model is trained on 16 kHz speech."""


def interpolate(pcm: bytes, rate: int, to_rate: int) -> bytes:
    """16-bit ``pcm`` at ``to_rate`` by linear interpolation, not soxr: the bundled 16 kHz
    model hears the images linear interpolation leaves above 4 kHz, and without them (soxr's
    clean band) made twice the word errors on the phone-audio test set (24 % -> 52 %,
    ``benchmarks/stt_accuracy.py``)."""
    samples = np.frombuffer(pcm, dtype=np.int16, count=len(pcm) // SAMPLE_WIDTH)
    times = np.arange(len(samples) * to_rate // rate) * (rate / to_rate)
    converted: np.ndarray = np.interp(times, np.arange(len(samples)), samples)
    return converted.astype(np.int16).tobytes()


class PocketsphinxEngine:
    """Transcribes 16-bit mono PCM. ``transcribe`` blocks: run it in a thread."""

    name = "pocketsphinx"

    def __init__(self) -> None:
        try:
            from pocketsphinx import Decoder
        except ImportError:
            raise ConfigurationError(
                "pocketsphinx is not installed: pip install 'asteramisk[local]'."
            ) from None
        self._factory = Decoder
        self._decoder: Any = None
        self._default_search = ""
        self._grammars: set[str] = set()
        self._lock = threading.Lock()

    def _search(self, phrases: Iterable[str] | None) -> str:
        decoder = self._decoder
        if decoder is None:
            decoder = self._decoder = self._factory()
            self._default_search = decoder.current_search()
        if not phrases:
            return self._default_search
        alternatives = sorted({normalise(p) for p in phrases if normalise(p)})
        grammar = (
            "#JSGF V1.0;\ngrammar heard;\npublic <s> = <phrase>+;\n"
            f"<phrase> = {' | '.join(alternatives)};\n"
        )
        name = "g" + hashlib.sha256(grammar.encode()).hexdigest()[:16]
        if name not in self._grammars:
            decoder.add_jsgf_string(name, grammar)
            self._grammars.add(name)
        return name

    def transcribe(
        self, pcm: bytes, rate: int = RATE, *, phrases: Iterable[str] | None = None
    ) -> str:
        """The words in ``pcm`` (see :func:`normalise` for their form; '' for none)."""
        if len(pcm) < FRAME_BYTES:
            return ""
        if rate != MODEL_RATE:
            pcm = interpolate(pcm, rate, MODEL_RATE)
        with self._lock:
            search = self._search(phrases)
            decoder = self._decoder
            decoder.activate_search(search)
            decoder.start_utt()
            decoder.process_raw(pcm, full_utt=True)
            decoder.end_utt()
            hypothesis = decoder.hyp()
        return str(hypothesis.hypstr).strip() if hypothesis is not None else ""


class PocketsphinxTranscriber:
    """Pocketsphinx in a worker process of its own (see :mod:`asteramisk.media.stt.worker`):
    started on first use, ended by ``close()``."""

    name = "pocketsphinx"

    def __init__(self) -> None:
        self._worker = SpeechWorker(POCKETSPHINX)

    async def transcribe(self, pcm: bytes, phrases: list[str] | None = None) -> str:
        return await self._worker.transcribe(pcm, phrases)

    async def close(self) -> None:
        await self._worker.close()
