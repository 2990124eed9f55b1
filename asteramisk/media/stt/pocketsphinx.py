"""Pocketsphinx: offline speech recognition with its bundled US English model.

Free transcription with the general language model is rough on telephone audio. Given the
phrases that may be said (``phrases=``), recognition runs on a grammar of those phrases, in any
order and number, and is exact on clear speech: tests list what the app may say, wrong
alternatives included, and check which one it said.
"""

from __future__ import annotations

import audioop
import hashlib
import re
import threading
from collections.abc import Iterable
from typing import Any

from asteramisk.exceptions import ConfigurationError

__all__ = ["PocketsphinxEngine", "normalise"]

_DIGITS = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"]


def normalise(text: str) -> str:
    """Lower case words, digits spelt out, punctuation dropped: how pocketsphinx writes."""
    words = []
    for word in re.findall(r"[a-z']+|\d+", text.lower()):
        if word.isdigit():
            words.append("ten" if word == "10" else " ".join(_DIGITS[int(d)] for d in word))
        else:
            words.append(word)
    return " ".join(words)


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
        self, pcm: bytes, rate: int = 8000, *, phrases: Iterable[str] | None = None
    ) -> str:
        """The words in ``pcm`` (see :func:`normalise` for their form; '' for none)."""
        if len(pcm) < 320:
            return ""
        if rate != 16000:  # the bundled model is trained on 16 kHz speech
            pcm, _ = audioop.ratecv(pcm, 2, 1, rate, 16000, None)
        with self._lock:
            search = self._search(phrases)
            decoder = self._decoder
            decoder.activate_search(search)
            decoder.start_utt()
            decoder.process_raw(pcm, full_utt=True)
            decoder.end_utt()
            hypothesis = decoder.hyp()
        return str(hypothesis.hypstr).strip() if hypothesis is not None else ""
