"""What the verbs accept, checked once above both transports.

Every verb's arguments are checked here before anything reaches Asterisk, the same way for
ARI and AGI: a comma in a sound name would add media to an ARI playback (``a,sound:b``), one
in a dial string would add options to ``Dial()`` (``Local/x,20,D(4242)``), and CR, LF or NUL
would end an AGI command line. A refused argument raises ``ValueError`` naming the verb, the
argument and what it may hold.
"""

from __future__ import annotations

import math
import re

from asteramisk.asterisk.messaging import check_number
from asteramisk.media.format import DTMF_KEYS

__all__ = [
    "DIAL_KEYS",
    "check_channel",
    "check_destination",
    "check_keys",
    "check_positive",
    "check_sound",
    "check_text",
]

DIAL_KEYS = DTMF_KEYS + "ABCD"
"""What ``send_dtmf`` sends: the keypad and the four extra DTMF tones."""

_CHANNEL = re.compile(r"^[A-Za-z0-9_-]+/[^\s,;\"'<>()|&$\\{}]+$")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def check_text(verb: str, text: object, name: str = "text") -> str:
    """Words to speak or send: a string with no NUL and no lone surrogate."""
    if not isinstance(text, str):
        raise TypeError(f"{verb}(): {name} must be a string, not {type(text).__name__}")
    if "\x00" in text:
        raise ValueError(f"{verb}(): {name} contains a NUL character; remove it.")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise ValueError(
            f"{verb}(): {name} is not valid text: {exc.reason} at position {exc.start} "
            f"({text[exc.start : exc.end]!r})."
        ) from None
    return text


def check_sound(verb: str, sound: str, name: str = "sound") -> str:
    """A sound for Asterisk to play: a name, a path or a URL, with no comma and no control
    character."""
    check_text(verb, sound, name)
    if not sound.strip():
        raise ValueError(f"{verb}(): {name} is empty.")
    if "," in sound or _CONTROL.search(sound):
        raise ValueError(
            f"{verb}(): {name} {sound!r} contains a comma or a control character, which "
            "Asterisk would read as more than one sound or command; rename the file."
        )
    return sound


def check_keys(verb: str, keys: str, allowed: str, name: str = "digits") -> str:
    """Keys from ``allowed`` only (at least one)."""
    keys = str(keys)
    if not keys or any(key not in allowed for key in keys):
        raise ValueError(f"{verb}(): {name} {keys!r} must be made of {allowed!r} only.")
    return keys


def check_positive(verb: str, value: float, name: str) -> float:
    """A finite number above zero (seconds, counts)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TypeError(f"{verb}(): {name} must be a number, not {type(value).__name__}")
    if not (math.isfinite(value) and value > 0):
        raise ValueError(f"{verb}(): {name} must be more than 0, not {value!r}.")
    return value


def check_channel(verb: str, channel: str, name: str = "channel") -> str:
    """A dial string such as ``PJSIP/100`` or ``PJSIP/5550100@trunk``: no options, no
    second destination."""
    if not _CHANNEL.match(str(channel)):
        raise ValueError(
            f"{verb}(): {name} {channel!r} is not a dial string like 'PJSIP/100' or "
            "'PJSIP/5550100@trunk' (no commas, spaces, quotes or dial options)."
        )
    return str(channel)


def check_destination(verb: str, destination: str) -> str:
    """A number (dialled through the PSTN trunk) or a channel."""
    destination = str(destination)
    if "/" in destination:
        return check_channel(verb, destination, "destination")
    try:
        return check_number(destination, "destination")
    except ValueError as exc:
        raise ValueError(f"{verb}(): {exc}") from None
