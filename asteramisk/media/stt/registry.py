"""The STT engines by name: what ``STT_ENGINE`` may say, and how each engine is made.

A new engine is a module beside this one (a :class:`~asteramisk.media.stt.base.Transcriber`)
and one line in ``ENGINES``. Engines are made by their owner (a ``Speech``), which closes them.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Callable

from asteramisk.config import Settings
from asteramisk.exceptions import ConfigurationError
from asteramisk.media.stt.base import Transcriber

__all__ = ["ENGINES", "create_transcriber", "engine_name"]


def _moonshine(settings: Settings) -> Transcriber:
    from asteramisk.media.stt.moonshine import MoonshineTranscriber

    return MoonshineTranscriber()


def _pocketsphinx(settings: Settings) -> Transcriber:
    from asteramisk.media.stt.pocketsphinx import PocketsphinxTranscriber

    return PocketsphinxTranscriber()


def _openai(settings: Settings) -> Transcriber:
    from asteramisk.media.stt.openai import OpenAITranscriber

    return OpenAITranscriber(model=settings.OPENAI_STT_MODEL)


ENGINES: dict[str, Callable[[Settings], Transcriber]] = {
    "moonshine": _moonshine,
    "pocketsphinx": _pocketsphinx,
    "openai": _openai,
}
"""Engine name -> factory (given the owner's settings)."""


_OFFLINE = {"moonshine": "moonshine_voice", "pocketsphinx": "pocketsphinx"}
"""The offline engines, in the order ``auto`` prefers them, and the module each needs."""


def engine_name(name: str) -> str:
    """``name`` as a known engine; ``auto`` is the first installed of moonshine and
    pocketsphinx, else openai."""
    name = name.lower()
    if name == "auto":
        for offline, module in _OFFLINE.items():
            if importlib.util.find_spec(module):
                return offline
        return "openai"
    if name not in ENGINES:
        raise ConfigurationError(
            f"STT_ENGINE is {name!r}; it must be one of {', '.join(sorted(ENGINES))} or "
            "'auto' (config.STT_ENGINE = ... or export STT_ENGINE=...)."
        )
    if name in _OFFLINE and importlib.util.find_spec(_OFFLINE[name]) is None:
        raise ConfigurationError(
            f"STT_ENGINE is {name!r} but it is not installed: pip install 'asteramisk[local]'."
        )
    return name


def create_transcriber(settings: Settings) -> Transcriber:
    """A new engine as ``settings.STT_ENGINE`` names it (not started: it starts on first use)."""
    return ENGINES[engine_name(settings.STT_ENGINE)](settings)
