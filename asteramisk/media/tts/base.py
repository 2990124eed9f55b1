"""The TTS engine interface: text in, 16-bit mono PCM out (synchronous; run it in a thread)."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass

__all__ = ["Audio", "TTSEngine"]


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
    style: str = ""
    """How the voice is set (speed, variation): part of a cached phrase's key, so a phrase
    made with other settings is made anew."""

    @abstractmethod
    def synthesize(self, text: str) -> Audio:
        """Speak ``text``; return the audio. An engine's own failure is raised as
        :class:`~asteramisk.exceptions.TTSError` (mapped in the engine's adapter)."""

    def __repr__(self) -> str:
        return f"<{type(self).__name__} voice={self.voice!r}>"
