"""Speech to text. ``pocketsphinx`` (offline, bundled en-US model) is the built-in engine."""

from asteramisk.media.stt.pocketsphinx import PocketsphinxEngine

__all__ = ["PocketsphinxEngine"]
