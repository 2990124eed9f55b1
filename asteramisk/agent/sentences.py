"""Split streamed text into sentences, so that speech can start before the reply is complete."""

from __future__ import annotations

import re

__all__ = ["SentenceSplitter"]

_END = re.compile(r"(?<=[.!?;:])\s+|\n+")


class SentenceSplitter:
    """Feed text deltas; get back the sentences completed so far."""

    def __init__(self, min_chars: int = 12) -> None:
        self._buffer = ""
        self.min_chars = min_chars

    def feed(self, delta: str) -> list[str]:
        self._buffer += delta
        sentences: list[str] = []
        start = 0
        for match in _END.finditer(self._buffer):
            candidate = self._buffer[start : match.start()].strip()
            if len(candidate) >= self.min_chars:
                sentences.append(candidate)
                start = match.end()
        self._buffer = self._buffer[start:]
        return sentences

    def flush(self) -> list[str]:
        rest, self._buffer = self._buffer.strip(), ""
        return [rest] if rest else []
