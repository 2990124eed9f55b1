"""The conversation objects handlers receive: ``VoiceUI`` for calls, ``TextUI`` for texts."""

from asteramisk.ui.base import UI
from asteramisk.ui.text import TextUI
from asteramisk.ui.voice import VoiceUI

__all__ = ["UI", "TextUI", "VoiceUI"]
