"""The TTS engine interface: text in, 16-bit mono PCM out (synchronous; run it in a thread)."""

from __future__ import annotations

import importlib.util
from abc import ABC, abstractmethod
from dataclasses import dataclass

from asteramisk.config import config
from asteramisk.exceptions import ConfigurationError

__all__ = ["Audio", "TTSEngine", "get_engine"]


@dataclass(frozen=True)
class Audio:
    """Signed 16-bit little-endian mono PCM at ``rate`` Hz."""

    pcm: bytes
    rate: int

    @property
    def seconds(self) -> float:
        return len(self.pcm) / 2 / self.rate


class TTSEngine(ABC):
    """A speech synthesiser. ``synthesize`` blocks: callers run it off the event loop."""

    name: str = ""
    voice: str = ""

    @abstractmethod
    def synthesize(self, text: str) -> Audio:
        """Speak ``text``; return the audio."""

    def __repr__(self) -> str:
        return f"<{type(self).__name__} voice={self.voice!r}>"


_engines: dict[str, TTSEngine] = {}


def get_engine(name: str | None = None) -> TTSEngine:
    """The engine ``name`` (default: ``config.TTS_ENGINE``), created once per process."""
    name = (name or config.TTS_ENGINE).lower()
    if name == "auto":
        name = "piper" if importlib.util.find_spec("piper") else "gtts"
    if name not in _engines:
        if name == "piper":
            from asteramisk.media.tts.piper import PiperEngine

            _engines[name] = PiperEngine()
        elif name == "gtts":
            from asteramisk.media.tts.gtts import GTTSEngine

            _engines[name] = GTTSEngine()
        else:
            raise ConfigurationError(
                f"TTS_ENGINE is {name!r}; it must be 'piper', 'gtts' or 'auto'. "
                "Set config.TTS_ENGINE = 'piper' or export TTS_ENGINE=piper."
            )
    return _engines[name]
