"""Text to speech: one module per engine on a small base, a registry, and a disk cache.

``create_engine(name)`` makes the engine ``TTS_ENGINE`` names: ``piper`` (offline, the bundled
joe voice of ``asteramisk[local]``; the default when installed) or ``gtts`` (Google's service,
needs the internet). A :class:`~asteramisk.media.speech.Speech` owns the engine and cache of a
Server or Communicator.
"""

from asteramisk.media.tts.base import Audio, TTSEngine
from asteramisk.media.tts.cache import TTSCache
from asteramisk.media.tts.registry import create_engine

__all__ = ["Audio", "TTSCache", "TTSEngine", "create_engine"]
