"""Asteramisk: async phone-call and text-message applications on the Asterisk PBX."""

from asteramisk._version import __version__
from asteramisk.config import config
from asteramisk.exceptions import (
    ActionError,
    AsteramiskException,
    AsteriskConnectionError,
    AuthenticationError,
    CallFailedException,
    ConfigurationError,
    HangupException,
    MediaError,
    PlaybackError,
    RecordingError,
    TextLostError,
)
from asteramisk.runner import run

__all__ = [
    "ActionError",
    "AsteramiskException",
    "AsteriskConnectionError",
    "AuthenticationError",
    "CallFailedException",
    "ConfigurationError",
    "HangupException",
    "MediaError",
    "PlaybackError",
    "RecordingError",
    "TextLostError",
    "__version__",
    "config",
    "run",
]
