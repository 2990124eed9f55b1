"""The configuration variables: their names, types, defaults and help (what
:mod:`asteramisk.config` reads, and the docs' table lists)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

__all__ = ["REQUIRED", "VARIABLES", "Variable"]

REQUIRED = object()


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


def _hosts(value: object) -> tuple[str, ...]:
    if isinstance(value, str):
        items = value.split(",")
    elif isinstance(value, (list, tuple)):
        items = [str(item) for item in value]
    else:
        raise ValueError("is not a comma-separated list of host names")
    hosts = tuple(str(item).strip() for item in items if str(item).strip())
    for host in hosts:
        if any(c.isspace() or c in "/@" for c in host):
            raise ValueError(f"is not a list of host names ({host!r} is not one)")
    return hosts


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
        return self.default is REQUIRED

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
    Variable(
        "ASTERISK_HOSTS",
        _hosts,
        (),
        "Several Asterisk servers (a cluster behind a SIP load balancer), comma-separated; "
        "when set, ASTERISK_HOST is not used. Every one has the same AMI and ARI ports and "
        "credentials. See docs/deployment.rst.",
    ),
    Variable("ASTERISK_AMI_PORT", _port, 5038, "Port of the Asterisk Manager Interface (AMI)."),
    Variable("ASTERISK_AMI_USER", _str, REQUIRED, "AMI user, a section of manager.conf."),
    Variable("ASTERISK_AMI_PASS", _str, REQUIRED, "Secret of the AMI user.", secret=True),
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
    Variable("ASTERISK_ARI_USER", _str, REQUIRED, "ARI user, a section of ari.conf."),
    Variable("ASTERISK_ARI_PASS", _str, REQUIRED, "Password of the ARI user.", secret=True),
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
    Variable(
        "AGI_SERVER_PORT",
        _port,
        4753,
        "Port our FastAGI server binds to (with ASTERISK_HOSTS, the first Asterisk's; the "
        "next ones' are the ports after it).",
    ),
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
        "REDIS_URL",
        _str,
        "",
        "Redis that several app hosts share (redis:// or rediss://, with its password): who "
        "holds each text conversation, and texts handed between hosts. Empty: one host. "
        "Needs the 'cluster' extra (pip install asteramisk[cluster]).",
        secret=True,
    ),
    Variable(
        "CONVERSATION_TTL",
        _positive_float,
        60.0,
        "Seconds Redis remembers which host holds a conversation after the host last said so "
        "(it says so every third of that while the conversation lives).",
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
