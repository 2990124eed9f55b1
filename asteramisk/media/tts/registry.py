"""The TTS engines by name: what ``TTS_ENGINE`` may say, and how each engine is made.

A new engine is a module beside this one (a :class:`~asteramisk.media.tts.base.TTSEngine`
subclass) and one line in ``ENGINES``. Engines are made by their owner (a ``Speech``), never
kept here.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Callable

from asteramisk.exceptions import ConfigurationError
from asteramisk.media.tts.base import TTSEngine

__all__ = ["ENGINES", "create_engine", "engine_name"]


def _piper() -> TTSEngine:
    from asteramisk.media.tts.piper import PiperEngine

    return PiperEngine()


def _gtts() -> TTSEngine:
    from asteramisk.media.tts.gtts import GTTSEngine

    return GTTSEngine()


ENGINES: dict[str, Callable[[], TTSEngine]] = {"piper": _piper, "gtts": _gtts}
"""Engine name -> factory."""


def engine_name(name: str) -> str:
    """``name`` as a known engine name; ``auto`` is piper when installed, else gtts."""
    name = name.lower()
    if name == "auto":
        return "piper" if importlib.util.find_spec("piper") else "gtts"
    if name not in ENGINES:
        raise ConfigurationError(
            f"TTS_ENGINE is {name!r}; it must be one of {', '.join(sorted(ENGINES))} or 'auto'. "
            "Set config.TTS_ENGINE = 'piper' or export TTS_ENGINE=piper."
        )
    return name


def create_engine(name: str = "auto") -> TTSEngine:
    """A new engine ``name`` (see :func:`engine_name`)."""
    return ENGINES[engine_name(name)]()
