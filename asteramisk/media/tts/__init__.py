"""Text to speech: one module per engine on a small base, and a disk cache.

``get_engine()`` returns the engine named by ``config.TTS_ENGINE``: ``piper`` (offline, the
bundled joe voice of ``asteramisk[local]``; the default when installed) or ``gtts`` (Google's
service, needs the internet).
"""

from asteramisk.media.tts.base import Audio, TTSEngine, get_engine
from asteramisk.media.tts.cache import TTSCache

__all__ = ["Audio", "TTSCache", "TTSEngine", "get_engine"]
