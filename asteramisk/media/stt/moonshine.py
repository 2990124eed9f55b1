"""Moonshine (``moonshine-voice``): offline speech recognition with the tiny English model
shipped inside its wheel, the ``local`` extra's default.

Chosen by measurement on phone audio (``benchmarks/stt_accuracy.py``, figures in
``benchmarks/RESULTS.md``): far fewer word errors than pocketsphinx on clean and noisy G.711
speech, at about a tenth of real time. Its decoder is C++ on onnxruntime, called through ctypes,
which releases the GIL: transcriptions run in a pool of threads (one model each, about 150 MB),
one per two cores (a decoding uses two cores; more threads only fight over them), while the
event loop goes on. Requests beyond what the pool can start within a few seconds
(``max_waiting``) fail at once with :class:`~asteramisk.exceptions.STTError` rather than
queue without bound.

With ``phrases=`` the phrases said are found in the free transcript
(:func:`~asteramisk.media.stt.phrases.phrases_heard`).

Recognition starts before the turn ends: when the caller pauses (``AudioStream.on_pause``,
300 ms of quiet, while the turn's end waits 500), :meth:`MoonshineTranscriber.prefetch`
decodes what they said so far; if they say nothing more, the turn's audio is the same and its
transcription is already done or under way.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import threading
from collections import OrderedDict
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np
import numpy.typing as npt

from asteramisk.exceptions import ConfigurationError, STTError
from asteramisk.media.format import FRAME_BYTES, RATE, SAMPLE_WIDTH
from asteramisk.media.stt.phrases import phrases_heard

__all__ = ["MoonshineTranscriber", "available", "hear", "transcribe_blocking"]

_PACKAGE = "moonshine-voice==0.0.73"


def available() -> bool:
    """Whether moonshine-voice is installed."""
    import importlib.util

    return importlib.util.find_spec("moonshine_voice") is not None


EARLY_KEPT = 64
"""Prefetched transcriptions kept for their turn's end (a caller who spoke on leaves one)."""

_local = threading.local()
"""Each pool thread's own loaded model (a model is not shared between threads)."""


def _key(pcm: bytes) -> bytes:
    return hashlib.blake2b(pcm, digest_size=16).digest()


def hear(pcm: bytes, phrases: list[str] | None = None) -> str:
    """The transcript of 8 kHz ``pcm``, or the phrases heard in it; blocks (what the pool's
    threads run), loading this thread's model on first use."""
    text = transcribe_blocking(pcm)
    return phrases_heard(text, phrases) if phrases else text


def transcribe_blocking(pcm: bytes) -> str:
    """The free transcript of 8 kHz ``pcm``; blocks."""
    model = getattr(_local, "model", None)
    if model is None:
        from moonshine_voice import ModelArch, Transcriber, get_model_path

        model = _local.model = Transcriber(get_model_path("tiny-en"), ModelArch.TINY)
    samples = np.frombuffer(pcm[: len(pcm) - len(pcm) % SAMPLE_WIDTH], dtype=np.int16)
    transcript = model.transcribe_without_streaming((samples / 32768.0).tolist(), RATE)
    return " ".join(_voiced_lines(transcript.lines, samples)).strip()


QUIET_LINE_DB = 20.0
"""A line of the transcript whose audio is this much below the loudest line's is dropped."""


def _voiced_lines(lines: list[Any], samples: npt.NDArray[np.int16]) -> list[str]:
    """The text of the transcript's ``lines`` (moonshine's own segments, with their times)
    but those heard in quiet: its segmenter can cut the quiet before the words into a segment
    of its own, which tiny-en hears as "You" (200-400 ms of it, measured)."""
    texts, levels = [], []
    for line in lines:
        first = max(0, int(float(line.start_time) * RATE))
        part = samples[first : first + max(1, int(float(line.duration) * RATE))]
        levels.append(float(np.sqrt(np.mean(part.astype(np.float32) ** 2))) if len(part) else 0.0)
        texts.append(str(line.text).strip())
    floor = max(levels, default=0.0) * 10 ** (-QUIET_LINE_DB / 20)
    return [text for text, level in zip(texts, levels, strict=True) if text and level >= floor]


class MoonshineTranscriber:
    """Moonshine tiny-en in ``workers`` threads, one model each. Each decoding already runs on
    two cores (its onnxruntime threads), so the default is one thread per two cores: on 2
    cores one thread decodes 15 utterances a second, two threads 12.7 (they only fight over
    the cores). At most ``max_waiting`` requests wait for a free thread (default: 60 per
    thread, about 4 s of work at 65 ms an utterance: past that, a caller would wait longer for
    the answer to be heard than for a retry)."""

    name = "moonshine"

    def __init__(self, workers: int | None = None, max_waiting: int | None = None) -> None:
        if not available():
            raise ConfigurationError(
                f"STT_ENGINE is 'moonshine' but it is not installed: pip install "
                f"'asteramisk[local]' (or pip install '{_PACKAGE}')."
            )
        self.workers = workers or max(1, (os.cpu_count() or 1) // 2)
        self.max_waiting = self.workers * 60 if max_waiting is None else max_waiting
        self._pool: ThreadPoolExecutor | None = None
        self._pending = 0
        self._closed = False
        self._early: OrderedDict[bytes, asyncio.Future[str]] = OrderedDict()
        self.early_kept = EARLY_KEPT
        self.prefetched = 0
        """Transcriptions that were ready, or under way, when asked for (see prefetch)."""

    async def transcribe(self, pcm: bytes, phrases: list[str] | None = None) -> str:
        if self._closed:
            raise STTError("The speech recogniser is closed (its Server was closed).")
        if len(pcm) < FRAME_BYTES:
            return ""
        future = self._early.pop(_key(pcm), None)
        if future is None:
            if self._pending >= self.workers + self.max_waiting:
                raise STTError(
                    f"The speech recogniser is overloaded: {self._pending} transcriptions are "
                    f"running or waiting for its {self.workers} threads. Lower "
                    "MAX_CONCURRENT_CALLS, or use a machine with more cores."
                )
            future = self._submit(pcm)
        else:
            self.prefetched += 1
        try:
            text = await future
        except (OSError, RuntimeError, ValueError) as exc:
            raise STTError(f"Moonshine could not transcribe: {exc}") from exc
        except Exception as exc:
            if type(exc).__module__.startswith("moonshine_voice"):
                raise STTError(f"Moonshine could not transcribe: {exc}") from exc
            raise
        return phrases_heard(text, phrases) if phrases else text

    def prefetch(self, pcm: bytes) -> None:
        """Start on ``pcm`` (the caller paused): :meth:`transcribe` of the same audio takes
        the result. Only on a thread that would otherwise be idle (a caller who speaks on
        makes the work wasted: under load it would delay the others); the oldest unclaimed
        ones are dropped past ``early_kept``."""
        if self._closed or len(pcm) < FRAME_BYTES or self._pending >= self.workers:
            return
        key = _key(pcm)
        if key not in self._early:
            self._early[key] = self._submit(pcm)
            while len(self._early) > self.early_kept:
                _, dropped = self._early.popitem(last=False)
                dropped.cancel()

    def _submit(self, pcm: bytes) -> asyncio.Future[str]:
        if self._pool is None:
            self._pool = ThreadPoolExecutor(self.workers, thread_name_prefix="moonshine")
        self._pending += 1
        future = asyncio.get_running_loop().run_in_executor(self._pool, transcribe_blocking, pcm)
        future.add_done_callback(self._done)
        return future

    def _done(self, future: asyncio.Future[str]) -> None:
        self._pending -= 1
        if not future.cancelled():
            future.exception()  # retrieved: a prefetch nobody claims is not an error

    @property
    def pending(self) -> int:
        """Transcriptions running or waiting now."""
        return self._pending

    async def close(self) -> None:
        self._closed = True
        for future in self._early.values():
            future.cancel()
        self._early.clear()
        pool, self._pool = self._pool, None
        if pool is not None:
            await asyncio.to_thread(pool.shutdown, wait=True, cancel_futures=True)
