"""The AGI wire protocol, sans I/O: bytes in, events out; commands in, bytes out.

Asterisk opens an AGI session by sending its environment, ``agi_name: value`` lines ended by
an empty line. Then the script sends one command per line and Asterisk answers each with::

    200 result=<value> [(<data>)] [key=value ...]     success (the result may still say failure)
    510 Invalid or unknown command
    511 Command Not Permitted on a dead channel or intercepted channel
    520-Invalid command syntax.  Proper usage follows:
    <usage text lines>
    520 End of proper usage.

(``GOSUB`` first sends a provisional ``100 result=0 Trying...``, then its final answer) and,
at any time, a line ``HANGUP`` when the caller hangs up. :class:`AGIParser` turns received
bytes (in chunks of any size, one byte at a time included) into :class:`Environment`,
:class:`Response` and :class:`HangupNotice` events. :func:`encode_command` quotes arguments and
refuses CR, LF and NUL, so that a caller's text can never inject a second command.

This module imports no asyncio; it is tested byte by byte. The one step every command goes
through, reading a plain answer, has a C twin (``asteramisk.agi._speedups``, built at install
when a C compiler is there): :data:`SPEEDUPS` says whether it is in use; both are held to the
same answers by property tests.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from dataclasses import dataclass, field

__all__ = [
    "MAX_LINE",
    "MAX_VARIABLES",
    "SPEEDUPS",
    "AGIParser",
    "Environment",
    "Event",
    "HangupNotice",
    "ProtocolError",
    "Response",
    "encode_command",
    "quote",
]

MAX_LINE = 65536
"""The longest line accepted from Asterisk; a longer one is a protocol error."""

MAX_VARIABLES = 1024
"""The most ``agi_*`` variables accepted (Asterisk sends some twenty, plus up to 127
arguments), and the most lines of a 520 usage text; more is a protocol error, so that a peer
cannot make the parser hold ever more."""

_NEEDS_QUOTES = re.compile(r'[\s"\\]')
_FORBIDDEN = ("\r", "\n", "\x00")
_RESULT = re.compile(r"^result=(\S*)\s?(.*)$", re.DOTALL)
_DATA_THEN_PAIRS = re.compile(r"^\((.*)\)((?:\s+[A-Za-z0-9_]+=\S*)*)\s*$", re.DOTALL)
_PAIR = re.compile(r"([A-Za-z0-9_]+)=(\S*)")
_PLAIN = re.compile(r"200 result=([^\s()]*)(?: \(([^()\n]*)\))?\n")
_ENV_LINE = re.compile(r"^(agi_[^:\n]*): *([^\n]*)\n", re.MULTILINE)


class ProtocolError(ValueError):
    """Asterisk sent something that is not AGI (a line too long, a malformed environment)."""


@dataclass(frozen=True, slots=True)
class Environment:
    """The ``agi_*`` variables Asterisk sends first, keyed as sent (``agi_channel``, ...)."""

    variables: dict[str, str]


@dataclass(slots=True)
class Response:
    """Asterisk's answer to one command.

    ``code`` is 200, 510, 511 or 520 (or another code Asterisk may invent). For 200, ``result``
    is the text after ``result=``, ``data`` what stood in parentheses (None if nothing did) and
    ``extra`` the ``key=value`` pairs after it (``endpos``, ...). ``usage`` holds the usage
    text of a 520 answer. ``line`` is the raw first line.
    """

    code: int
    line: str
    result: str | None = None
    data: str | None = None
    extra: dict[str, str] = field(default_factory=dict)
    usage: str = ""

    @property
    def endpos(self) -> int | None:
        value = self.extra.get("endpos")
        return int(value) if value is not None and value.lstrip("-").isdigit() else None


@dataclass(frozen=True, slots=True)
class HangupNotice:
    """Asterisk's ``HANGUP`` line: the caller hung up."""


_new_response = object.__new__


Event = Environment | Response | HangupNotice


def quote(argument: object) -> str:
    """One AGI argument, quoted when it has to be.

    Arguments with white space, double quotes or backslashes, and empty ones, are wrapped in
    double quotes with ``"`` and ``\\`` escaped by a backslash, which is how Asterisk splits a
    command line. CR, LF and NUL cannot be sent at all: they raise ``ValueError``.
    """
    text = str(argument)
    if any(c in text for c in _FORBIDDEN):
        raise ValueError(
            f"AGI argument {text[:40]!r} contains a CR, LF or NUL character, which would end "
            "the command and start another; remove or replace them."
        )
    if text and not _NEEDS_QUOTES.search(text):
        return text
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def encode_command(command: str, *arguments: object) -> bytes:
    """The bytes of one command line.

    ``encode_command("GET VARIABLE", "x") == b"GET VARIABLE x\\n"``.
    Trailing ``None`` arguments are left out (optional arguments not given).
    """
    if any(c in command for c in _FORBIDDEN):
        raise ValueError("AGI command name contains CR, LF or NUL")
    args = list(arguments)
    while args and args[-1] is None:
        args.pop()
    if any(argument is None for argument in args):
        raise ValueError(f"{command}: an optional argument before a given one is missing")
    line = command + " " + " ".join(quote(a) for a in args) if args else command
    try:
        return (line + "\n").encode()
    except UnicodeEncodeError as exc:
        raise ValueError(
            f"{command}: an argument is not valid text ({exc.reason} at position {exc.start}); "
            "clean it before sending it to Asterisk."
        ) from None


def unquote_words(line: str) -> list[str]:
    """Split a command line the way Asterisk does (the inverse of :func:`quote`)."""
    words: list[str] = []
    current: list[str] = []
    in_word = quoted = escaped = False
    for char in line:
        if escaped:
            current.append(char)
            escaped = False
        elif char == "\\":
            escaped = in_word = True
        elif char == '"':
            quoted = not quoted
            in_word = True
        elif char in " \t" and not quoted:
            if in_word:
                words.append("".join(current))
                current, in_word = [], False
        else:
            current.append(char)
            in_word = True
    if in_word:
        words.append("".join(current))
    return words


def _plain_answer(text: str) -> Response | None:
    """``200 result=<value>`` with an optional `` (<data>)`` and nothing else, then LF, read
    in one step (most answers are such); None for any other text. The response is the one
    :func:`_parse_general` gives for the line (property-tested). Built slot by slot: the
    dataclass's ``__init__`` would cost this path more than the match."""
    match = _PLAIN.fullmatch(text)
    if match is None:
        return None
    response = _new_response(Response)
    response.code = 200
    response.line = text[:-1]
    response.result, response.data = match.groups()
    response.extra = {}
    response.usage = ""
    return response


def _python_plain_bytes(data: bytes) -> Response | None:
    """:func:`_plain_answer` of the bytes; None also for what is not UTF-8 (the general way
    reads that, with U+FFFD)."""
    try:
        return _plain_answer(data.decode())
    except UnicodeDecodeError:
        return None


_plain_bytes: Callable[[bytes], Response | None] = _python_plain_bytes
SPEEDUPS = False
"""True when the C twin of :func:`_python_plain_bytes` (``asteramisk.agi._speedups``, built
at install when a C compiler is there) is in use; ``ASTERAMISK_NO_EXTENSIONS=1`` turns it off."""
if not os.environ.get("ASTERAMISK_NO_EXTENSIONS"):
    try:
        from asteramisk.agi import _speedups
    except ImportError:  # not built (no compiler at install): the Python way, same answers
        pass
    else:
        _speedups.use_response_type(Response)
        _plain_bytes, SPEEDUPS = _speedups.plain_answer, True


def _no_answer(data: bytes) -> None:
    """:attr:`AGIParser.feed_answer` while the parser is not between plain answers."""
    return None


def parse_response_line(line: str) -> Response:
    """Parse a single-line response (``200 ...``, ``510 ...``, ``511 ...``)."""
    plain = _plain_answer(line + "\n")
    return plain if plain is not None else _parse_general(line)


def _parse_general(line: str) -> Response:
    code_text, _, rest = line.partition(" ")
    if not (len(code_text) == 3 and code_text.isdigit()):
        raise ProtocolError(f"not an AGI response: {line[:80]!r}")
    code = int(code_text)
    if code != 200:
        return Response(code=code, line=line)
    match = _RESULT.match(rest)
    if match is None:
        return Response(code=code, line=line)
    result, tail = match.group(1), match.group(2)
    data: str | None = None
    pairs_text = tail
    if tail.startswith("("):
        data_match = _DATA_THEN_PAIRS.match(tail)
        if data_match is not None:
            data, pairs_text = data_match.group(1), data_match.group(2)
        else:
            data, pairs_text = tail[1:], ""  # unbalanced: keep it all as data
    extra = dict(_PAIR.findall(pairs_text))
    return Response(code=code, line=line, result=result, data=data, extra=extra)


class AGIParser:
    """Turns the bytes Asterisk sends into events. Feed it with :meth:`feed`."""

    __slots__ = ("_buffer", "_environment", "_in_environment", "_plain", "_usage", "feed_answer")

    feed_answer: Callable[[bytes], Response | None]
    """The fast path for the common case: ``feed_answer(data)`` is the response when ``data``
    is exactly one plain answer (``200 result=<value> [(<data>)]`` and LF) and nothing is
    pending; otherwise it is None and nothing is consumed: then :meth:`feed` the same bytes.
    A plain function, set anew as the parser's state changes, so that calling it costs no
    Python frame."""

    def __init__(self) -> None:
        self._buffer = b""
        self._in_environment = True
        self._environment: dict[str, str] = {}
        self._usage: list[str] | None = None
        self._plain = False  # neither in the environment nor in a 520 usage text
        self.feed_answer = _no_answer

    def feed(self, data: bytes) -> list[Event]:
        """Add received bytes; return the events they complete (possibly none)."""
        simple = self.feed_answer(data)
        if simple is not None:
            return [simple]
        try:
            return self._feed(data)
        finally:
            self.feed_answer = _plain_bytes if self._plain and not self._buffer else _no_answer

    def _feed(self, data: bytes) -> list[Event]:
        buffer = self._buffer + data if self._buffer else data
        events: list[Event] = []
        start = 0
        if self._in_environment and b"\r" not in buffer:
            start = self._environment_lines(buffer, events)
        while True:
            end = buffer.find(b"\n", start)
            if end < 0:
                break
            line = buffer[start:end].rstrip(b"\r").decode("utf-8", "replace")
            start = end + 1
            event = self._line(line)
            if event is not None:
                events.append(event)
        self._buffer = buffer[start:]
        if len(self._buffer) > MAX_LINE:
            self._buffer = b""
            raise ProtocolError(f"Asterisk sent a line longer than {MAX_LINE} bytes")
        return events

    def _line(self, line: str) -> Event | None:
        if self._in_environment:
            return self._environment_line(line)
        if self._usage is not None:
            if line.startswith("520 "):
                usage, self._usage = "\n".join(self._usage), None
                self._plain = True
                return Response(code=520, line=line, usage=usage)
            self._usage.append(line)
            if len(self._usage) > MAX_VARIABLES:
                raise ProtocolError(
                    f"a 520 usage text of more than {MAX_VARIABLES} lines without its end "
                    "(520 End of proper usage.): not Asterisk, or a broken connection"
                )
            return None
        if line == "HANGUP":
            return HangupNotice()
        if line.startswith("520-"):
            self._usage = []
            self._plain = False
            return None
        if not line:
            return None  # stray blank line
        return parse_response_line(line)

    def _environment_lines(self, buffer: bytes, events: list[Event]) -> int:
        """Take the environment's complete lines in ``buffer`` at once (a call starts with
        some twenty of them, and one line at a time costs); append the :class:`Environment`
        if its end is there. Returns how many bytes were used. Lines ended by CR LF are left
        to the line by line way."""
        if buffer[:1] == b"\n":
            block, ended = b"", True
        else:
            end = buffer.find(b"\n\n")
            ended = end >= 0
            block = buffer[: end + 1] if ended else buffer[: buffer.rfind(b"\n") + 1]
        text = block.decode("utf-8", "replace")
        pairs = _ENV_LINE.findall(text)
        if len(pairs) != text.count("\n"):
            for line in text[:-1].split("\n"):
                self._environment_line(line)  # raises at the first malformed line
        self._environment.update(pairs)
        self._check_size()
        if not ended:
            return len(block)
        events.append(self._end_environment())
        return len(block) + 1

    def _environment_line(self, line: str) -> Event | None:
        if not line:
            return self._end_environment()
        name, separator, value = line.partition(":")
        if not separator or not name.startswith("agi_"):
            raise ProtocolError(f"malformed AGI environment line: {line[:80]!r}")
        self._environment[name] = value.lstrip(" ")
        self._check_size()
        return None

    def _check_size(self) -> None:
        if len(self._environment) > MAX_VARIABLES:
            raise ProtocolError(
                f"the AGI environment has more than {MAX_VARIABLES} variables without its end "
                "(an empty line): not Asterisk, or a broken connection"
            )

    def _end_environment(self) -> Environment:
        self._in_environment = False
        self._plain = True
        return Environment(self._environment)
