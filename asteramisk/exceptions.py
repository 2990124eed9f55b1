"""Every error Asteramisk raises, under one root.

The tree::

    AsteramiskException
    ├── ConfigurationError          a config variable is missing or malformed
    ├── AsteriskError               something went wrong talking to Asterisk
    │   ├── AsteriskConnectionError     Asterisk cannot be reached, or the connection dropped
    │   │   └── AuthenticationError         Asterisk refused our AMI or ARI credentials
    │   └── ActionError                 an AMI action or ARI request was refused or timed out
    ├── HangupException             the other party hung up (an outcome, not a crash)
    ├── CallFailedException         an outgoing call was not answered (carries the hangup cause)
    ├── MediaError                  Asterisk could not play or record what it was asked to
    │   ├── PlaybackError               a sound, speech or URL did not play
    │   └── RecordingError              a recording could not be made
    ├── TextLostError               a text reached Asterisk but its body did not reach us
    ├── SandboxError                the Asterisk sandbox could not be provisioned or started
    ├── TTSError                    speech could not be synthesised
    ├── STTError                    speech could not be recognised
    └── agi.core.AGIException       the AGI errors (see :mod:`asteramisk.agi.core`)

Transport errors (``OSError``, ``aiohttp`` and ``panoramisk`` errors) are translated at the
boundary, and so are the speech engines' own errors (in each engine's adapter): none of them
escapes the public API raw.
"""

from __future__ import annotations

__all__ = [
    "ActionError",
    "AsteramiskException",
    "AsteriskConnectionError",
    "AsteriskError",
    "AuthenticationError",
    "CallFailedException",
    "ConfigurationError",
    "HangupException",
    "MediaError",
    "PlaybackError",
    "RecordingError",
    "STTError",
    "SandboxError",
    "TTSError",
    "TextLostError",
]


class AsteramiskException(Exception):
    """The root of every exception raised by Asteramisk."""


class ConfigurationError(AsteramiskException, ValueError):
    """A configuration variable is missing or malformed.

    The message names the variable and both ways to set it.
    """


class AsteriskError(AsteramiskException):
    """Something went wrong while talking to Asterisk."""


class AsteriskConnectionError(AsteriskError, ConnectionError):
    """Asterisk cannot be reached, or the connection to it was lost."""


class AuthenticationError(AsteriskConnectionError):
    """Asterisk refused the AMI or ARI credentials."""


class ActionError(AsteriskError):
    """An AMI action or an ARI request failed or timed out.

    ``response`` holds what Asterisk answered, when it answered.
    """

    def __init__(self, message: str, response: object = None) -> None:
        super().__init__(message)
        self.response = response


class HangupException(AsteramiskException):
    """The other party hung up, or the conversation ended.

    Raised by a UI verb called after the caller has gone; it is an outcome, not a crash.
    """


class CallFailedException(AsteramiskException):
    """An outgoing call could not be completed.

    ``cause`` is the Q.850 hangup cause code (17 busy, 19 no answer, ...) when known,
    ``cause_txt`` its text.
    """

    def __init__(self, message: str, cause: int | None = None, cause_txt: str = "") -> None:
        super().__init__(message)
        self.cause = cause
        self.cause_txt = cause_txt


class SandboxError(AsteramiskException):
    """The Asterisk sandbox could not be provisioned, started or stopped."""


class TTSError(AsteramiskException):
    """A speech engine could not synthesise the text (its service unreachable, ...)."""


class STTError(AsteramiskException):
    """A speech recogniser could not transcribe (its worker died, its service failed, ...)."""


class MediaError(AsteramiskException):
    """Asterisk could not play or record what it was asked to: the caller heard nothing, or
    nothing was recorded. ``sound`` is what Asterisk was given."""

    def __init__(self, message: str, sound: str = "") -> None:
        super().__init__(message)
        self.sound = sound


class PlaybackError(MediaError):
    """A sound, synthesised speech or URL did not play (Asterisk could not find or fetch it).
    The message names the sound, how Asterisk was asked for it and what to check."""


class RecordingError(MediaError):
    """Asterisk could not make a recording (its recording directory is missing, ...)."""


class TextLostError(AsteramiskException):
    """A text reached Asterisk but its body did not reach the app: Asterisk's PJSIP drops the
    body of an incoming SIP MESSAGE of 1024 bytes or more (``MAX_BODY_SIZE`` in
    res_pjsip_messaging). Raised by the ``prompt`` that waited for it; ``length`` is the size
    the sender's message had."""

    def __init__(self, message: str, length: int = 0) -> None:
        super().__init__(message)
        self.length = length
