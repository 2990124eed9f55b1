"""Text cut into pieces a synthesiser can take: bounded time and memory whatever the text.

A neural synthesiser's time and memory grow faster than the length of what it is given at
once (piper took 12 s and 3 GB for 1,000 characters without a full stop). Text is cut at
sentence ends, then, for a sentence still too long, at the last space before ``max_chars``
(or at ``max_chars`` in a word that long).
"""

from __future__ import annotations

import re

__all__ = ["MAX_CHARS", "split_text"]

MAX_CHARS = 240
"""The longest piece given to a synthesiser at once."""

_SENTENCE = re.compile(r"(?<=[.!?;:])\s+|\n+")


def split_text(text: str, max_chars: int = MAX_CHARS) -> list[str]:
    """``text`` in pieces of at most ``max_chars`` characters, cut where speech pauses;
    joined with spaces they say the same words. Text that fits is one piece, as it is (its
    speech is what it always was); longer text is cut at sentence ends, each sentence still
    too long at a space, and the parts packed into as few pieces as fit. No piece is empty."""
    if max_chars < 1:
        raise ValueError(f"max_chars must be at least 1, not {max_chars}")
    if len(text) <= max_chars:
        return [text] if text.strip() else []
    parts: list[str] = []
    for sentence in _SENTENCE.split(text):
        rest = sentence.strip()
        while len(rest) > max_chars:
            cut = rest.rfind(" ", 0, max_chars + 1)
            if cut <= 0:
                cut = max_chars
            parts.append(rest[:cut].strip())
            rest = rest[cut:].strip()
        if rest:
            parts.append(rest)
    pieces: list[str] = []
    for part in parts:
        if pieces and len(pieces[-1]) + 1 + len(part) <= max_chars:
            pieces[-1] += " " + part
        else:
            pieces.append(part)
    return pieces
