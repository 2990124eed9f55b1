"""Asteramisk configuration: one object, the README's names, environment overrides.

Set a variable at the entry point of your program::

    from asteramisk.config import config
    config.ASTERISK_HOST = "127.0.0.1"
    config.ASTERISK_AMI_USER = "yourusername"

or in the environment, under the same name (``export ASTERISK_AMI_USER=yourusername``).
A value set in code wins over the environment; the environment wins over the default.
Values are read when they are used, never frozen at import time, and coerced to their type
(ports are ``int`` whatever their source). Each ``Server`` and ``Communicator`` takes a frozen
snapshot (:meth:`Config.snapshot`) when it starts, so two of them in one process can differ and
a change made later does not reach one that is running. A missing or malformed value raises
:class:`~asteramisk.exceptions.ConfigurationError`, naming the variable and how to set it.
"""

from __future__ import annotations

import difflib
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from asteramisk.exceptions import ConfigurationError

__all__ = ["VARIABLES", "Config", "Settings", "Variable", "config"]

_REQUIRED = object()


def _str(value: object) -> str:
    if not isinstance(value, str | int):
        raise TypeError("expected a string")
    text = str(value)
    if any(c in text for c in "\r\n\x00"):
        raise ValueError("must not contain CR, LF or NUL characters")
    return text


def _port(value: object) -> int:
    port = _int(value)
    if not 1 <= port <= 65535:
        raise ValueError("must be a port number between 1 and 65535")
    return port


def _int(value: object) -> int:
    if isinstance(value, bool):
        raise TypeError("expected a whole number, not a boolean")
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return int(value.strip())
    raise ValueError("must be a whole number")


def _end_ms(value: object) -> int:
    number = _int(value)
    if not (number == 0 or 100 <= number <= 10_000):
        raise ValueError("must be 0 (the default) or from 100 to 10000")
    return number


def _positive_int(value: object) -> int:
    number = _int(value)
    if number < 1:
        raise ValueError("must be 1 or more")
    return number


def _positive_float(value: object) -> float:
    if isinstance(value, bool):
        raise TypeError("expected a number of seconds, not a boolean")
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise ValueError("must be a number of seconds") from None
    if not number > 0:
        raise ValueError("must be more than 0")
    return number


def _bool(value: object) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("1", "yes", "true", "on"):
        return True
    if text in ("", "0", "no", "false", "off"):
        return False
    raise ValueError("must be yes or no (1/0, true/false, on/off)")


@dataclass(frozen=True)
class Variable:
    """One configuration variable: its name, type, default and meaning."""

    name: str
    coerce: Callable[[object], Any]
    default: object
    help: str
    secret: bool = False

    @property
    def required(self) -> bool:
        return self.default is _REQUIRED

    @property
    def type_name(self) -> str:
        names: dict[Callable[[object], Any], str] = {
            _str: "str",
            _port: "int (port)",
            _int: "int",
            _positive_int: "int",
            _positive_float: "float (seconds)",
            _bool: "bool",
        }
        return names.get(self.coerce, "str")


VARIABLES: tuple[Variable, ...] = (
    Variable("ASTERISK_HOST", _str, "127.0.0.1", "Host name or IP address of the Asterisk PBX."),
    Variable("ASTERISK_AMI_PORT", _port, 5038, "Port of the Asterisk Manager Interface (AMI)."),
    Variable("ASTERISK_AMI_USER", _str, _REQUIRED, "AMI user, a section of manager.conf."),
    Variable("ASTERISK_AMI_PASS", _str, _REQUIRED, "Secret of the AMI user.", secret=True),
    Variable("ASTERISK_ARI_PORT", _port, 8088, "Port of Asterisk's http server, which serves ARI."),
    Variable(
        "ASTERISK_AMI_TLS",
        _bool,
        False,
        "Connect to AMI over TLS (manager.conf [general] tlsenable = yes); ASTERISK_AMI_PORT "
        "is then the port of its tlsbindaddr (5039 by convention).",
    ),
    Variable(
        "ASTERISK_ARI_TLS",
        _bool,
        False,
        "Connect to ARI over https and wss (http.conf [general] tlsenable = yes); "
        "ASTERISK_ARI_PORT is then the port of its tlsbindaddr (8089 by convention).",
    ),
    Variable(
        "ASTERISK_TLS_CA_FILE",
        _str,
        "",
        "PEM file of the CA that signed Asterisk's TLS certificate (default: the system's "
        "trusted CAs). The certificate must name ASTERISK_HOST.",
    ),
    Variable("ASTERISK_ARI_USER", _str, _REQUIRED, "ARI user, a section of ari.conf."),
    Variable("ASTERISK_ARI_PASS", _str, _REQUIRED, "Password of the ARI user.", secret=True),
    Variable("ASTERISK_ARI_APP", _str, "asteramisk", "Name of the Stasis application we register."),
    Variable(
        "ASTERISK_INCOMING_CALL_CONTEXT",
        _str,
        "from-pstn",
        "Dialplan context of incoming calls (context= of the PSTN endpoint in pjsip.conf).",
    ),
    Variable(
        "ASTERISK_INCOMING_TEXT_CONTEXT",
        _str,
        "from-pstn",
        "Dialplan context of incoming texts (message_context= of the PSTN endpoint).",
    ),
    Variable("ASTERISK_PSTN_GATEWAY_HOST", _str, "", "Host name or IP of your SIP provider."),
    Variable("ASTERISK_PSTN_GATEWAY_PORT", _port, 5060, "SIP port of your SIP provider."),
    Variable("ASTERISK_PSTN_GATEWAY_USER", _str, "", "Your account name at your SIP provider."),
    Variable("ASTERISK_PSTN_ENDPOINT", _str, "pstn", "PJSIP endpoint of the PSTN trunk."),
    Variable("SYSTEM_PHONE_NUMBER", _str, "", "Our phone number, used as caller ID."),
    Variable("SYSTEM_NAME", _str, "Asteramisk", "Our name, used as caller ID name."),
    Variable(
        "ASTERISK_SOUNDS_DIR",
        _str,
        "/usr/share/asterisk/sounds",
        "Asterisk's sounds directory, as Asterisk sees it.",
    ),
    Variable(
        "ASTERISK_TTS_SOUNDS_SUBDIR",
        _str,
        "asteramisk",
        "Subdirectory of ASTERISK_SOUNDS_DIR for our synthesised speech.",
    ),
    Variable(
        "TTS_ENGINE",
        _str,
        "auto",
        "Speech synthesiser: 'piper' (offline), 'gtts' (internet), or 'auto' (piper if installed).",
    ),
    Variable(
        "STT_ENGINE",
        _str,
        "auto",
        "Speech recogniser: 'moonshine' (offline), 'pocketsphinx' (offline), 'openai' (OpenAI "
        "transcription, network), or 'auto' (the first of moonshine and pocketsphinx that is "
        "installed, else openai).",
    ),
    Variable(
        "VAD_ENGINE",
        _str,
        "auto",
        "How the app hears when a caller starts and stops speaking: 'silero' (Silero's trained "
        "model, offline, in the local extra), 'energy' (a level detector), or 'auto' (silero if "
        "installed).",
    ),
    Variable(
        "VAD_END_MS",
        _end_ms,
        0,
        "Milliseconds of quiet after which a caller's turn has ended (0: the detector's tuned "
        "default, 500 for silero and 700 for energy; longer for callers who pause mid-answer).",
    ),
    Variable(
        "OPENAI_STT_MODEL",
        _str,
        "gpt-4o-mini-transcribe",
        "The OpenAI transcription model when STT_ENGINE is 'openai' (the key is "
        "OPENAI_API_KEY, read by the openai library).",
    ),
    Variable(
        "TTS_CACHE_DIR",
        _str,
        "",
        "Where we write synthesised speech, on this machine: the directory Asterisk reads as "
        "ASTERISK_SOUNDS_DIR/ASTERISK_TTS_SOUNDS_SUBDIR (default: that same path).",
    ),
    Variable(
        "TTS_DELIVERY",
        _str,
        "auto",
        "How speech reaches Asterisk: 'file' (TTS_CACHE_DIR is the directory Asterisk reads; "
        "checked at start), 'http' (a small server of ours on AGI_SERVER_HOST serves it; "
        "Asterisk fetches it), or 'auto' (file if Asterisk plays a probe file written there, "
        "else http).",
    ),
    Variable(
        "AGI_SERVER_HOST",
        _str,
        "127.0.0.1",
        "Address our FastAGI, AudioSocket and media servers bind to (0.0.0.0: every address; "
        "beyond loopback it needs AGI_ALLOWED_CLIENTS).",
    ),
    Variable(
        "ASTERAMISK_ADVERTISE_HOST",
        _str,
        "",
        "Address Asterisk is told to connect to for FastAGI, AudioSocket and speech over http "
        "(default: AGI_SERVER_HOST, or for 0.0.0.0 this machine's address on its AMI "
        "connection to Asterisk).",
    ),
    Variable(
        "AGI_ALLOWED_CLIENTS",
        _str,
        "",
        "Addresses or networks, comma-separated, that may connect to our FastAGI server when "
        "AGI_SERVER_HOST is not loopback (e.g. Asterisk's address), or 'any'.",
    ),
    Variable("AGI_SERVER_PORT", _port, 4753, "Port our FastAGI server binds to."),
    Variable("MAX_CONCURRENT_CALLS", _positive_int, 100, "Calls one server handles at once."),
    Variable(
        "MAX_CONCURRENT_CONVERSATIONS",
        _positive_int,
        100,
        "Text conversations one server handles at once.",
    ),
    Variable(
        "TEXT_IDLE_TIMEOUT",
        _positive_float,
        600.0,
        "Seconds a text conversation waits for a reply before it ends.",
    ),
    Variable(
        "ASTERISK_CONNECT_TIMEOUT",
        _positive_float,
        10.0,
        "Seconds to wait for Asterisk to accept a connection and a login.",
    ),
    Variable(
        "ASTERISK_ACTION_TIMEOUT",
        _positive_float,
        10.0,
        "Seconds to wait for Asterisk to answer an AMI action or ARI request.",
    ),
)

_BY_NAME = {variable.name: variable for variable in VARIABLES}


class Config:
    """The configuration object. Use the module-level :data:`config` instance."""

    def __init__(self) -> None:
        object.__setattr__(self, "_values", {})

    def _variable(self, name: str) -> Variable:
        try:
            return _BY_NAME[name]
        except KeyError:
            close = difflib.get_close_matches(name, _BY_NAME, n=1)
            hint = f" Did you mean {close[0]}?" if close else ""
            raise AttributeError(f"Unknown configuration variable {name}.{hint}") from None

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        variable = self._variable(name)
        values: dict[str, object] = self._values
        if name in values:
            raw, source = values[name], f"config.{name}"
        elif name in os.environ:
            raw, source = os.environ[name], f"the environment variable {name}"
        elif variable.required:
            raise ConfigurationError(
                f"{name} is not set. {variable.help} Set it at your entry point with "
                f"`config.{name} = ...` (from asteramisk.config import config), "
                f"or in the environment with `export {name}=...`."
            )
        else:
            return variable.default
        try:
            return variable.coerce(raw)
        except (TypeError, ValueError) as exc:
            shown = "(hidden)" if variable.secret else repr(raw)
            raise ConfigurationError(
                f"{name} is malformed: {source} is {shown}, which {exc}. {variable.help} "
                f"Fix it with `config.{name} = ...` or `export {name}=...`."
            ) from None

    def __setattr__(self, name: str, value: object) -> None:
        self._variable(name)
        self._values[name] = value

    def __delattr__(self, name: str) -> None:
        self._variable(name)
        self._values.pop(name, None)

    def reset(self) -> None:
        """Forget every value set in code (the environment and defaults apply again)."""
        self._values.clear()

    def is_set(self, name: str) -> bool:
        """Whether ``name`` has a value in code or in the environment."""
        self._variable(name)
        return name in self._values or name in os.environ

    def validate(self, *names: str) -> None:
        """Read each named variable (all of them by default), raising the first problem."""
        for name in names or tuple(_BY_NAME):
            getattr(self, name)

    def snapshot(self) -> Settings:
        """Every variable's value now, frozen (a variable that is unset or malformed raises
        its :class:`ConfigurationError` when the snapshot is asked for it)."""
        values: dict[str, object] = {}
        for name in _BY_NAME:
            try:
                values[name] = getattr(self, name)
            except ConfigurationError as exc:
                values[name] = _Problem(str(exc))
        return Settings(values, frozenset(n for n in _BY_NAME if self.is_set(n)))

    def __repr__(self) -> str:
        shown = []
        for variable in VARIABLES:
            if not self.is_set(variable.name):
                continue
            value = "***" if variable.secret else repr(getattr(self, variable.name))
            shown.append(f"{variable.name}={value}")
        return f"<Config {' '.join(shown)}>"

    def __dir__(self) -> list[str]:
        return [*_BY_NAME, "reset", "is_set", "validate", "snapshot"]


@dataclass(frozen=True)
class _Problem:
    message: str


class Settings:
    """A frozen snapshot of the configuration, read by attribute like :data:`config`.

    ``Server`` and ``Communicator`` take one at ``start()`` and pass it to what they build.
    """

    __slots__ = ("_set", "_values")

    def __init__(self, values: Mapping[str, object], set_names: frozenset[str]) -> None:
        object.__setattr__(self, "_values", dict(values))
        object.__setattr__(self, "_set", set_names)

    def __getattr__(self, name: str) -> Any:
        try:
            value = self._values[name]
        except KeyError:
            raise AttributeError(f"Unknown configuration variable {name}.") from None
        if isinstance(value, _Problem):
            raise ConfigurationError(value.message)
        return value

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError("Settings are a frozen snapshot: change asteramisk.config.config")

    def is_set(self, name: str) -> bool:
        """Whether ``name`` had a value in code or in the environment."""
        return name in self._set

    def validate(self, *names: str) -> None:
        """Read each named variable, raising the first problem."""
        for name in names or tuple(_BY_NAME):
            getattr(self, name)

    def __repr__(self) -> str:
        shown = []
        for variable in VARIABLES:
            if variable.name not in self._set:
                continue
            value = self._values[variable.name]
            text = "***" if variable.secret or isinstance(value, _Problem) else repr(value)
            shown.append(f"{variable.name}={text}")
        return f"<Settings {' '.join(shown)}>"


config = Config()
