"""The complete AGI command set, one class per command, run with ``await agi.execute(...)``.

All of these belong to the ``agi.core`` namespace::

    from asteramisk.agi import core
    await agi.execute(core.Answer())
    digits, timed_out = await agi.execute(core.GetData("beep", timeout=3000, max_digits=4))

Every command of Asterisk 22's ``agi show commands`` is here: the 37 of the classic reference
(``Answer`` ... ``WaitForDigit``) and ``AsyncAGIBreak``, ``Gosub`` and the eight ``Speech*``
commands. ``escape_digits`` arguments take a string (``"123#"``) or a sequence of ints and
strings (``[1, 2, "#"]``).

The exceptions::

    AGIException                    (also an AsteramiskException)
    ├── AGIError
    │   ├── AGIUnknownError             Asterisk sent a response code we do not know
    │   ├── AGIAppError                 the command failed (result -1, usually a hangup)
    │   │   └── AGIDBError                  the database key could not be read or written
    │   ├── AGIDeadChannelError         511: not permitted on a dead channel
    │   ├── AGIInvalidCommandError      510: Asterisk does not know the command
    │   └── AGIUsageError               520: wrong arguments (the usage text is the message)
    ├── AGINoResultError            a 200 response without ``result=``
    └── AGIHangup                   (also a HangupException) the caller is gone
        ├── AGIResultHangup             Asterisk said HANGUP, or a result said (hangup)
        └── AGISIGPIPEHangup            the connection closed
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from typing import Any, ClassVar, Generic, TypeVar

from asteramisk.agi.protocol import Response, encode_command
from asteramisk.exceptions import AsteramiskException, HangupException

T = TypeVar("T")

# Channel states (CHANNEL STATUS).
CHANNEL_DOWN_AVAILABLE = 0
CHANNEL_DOWN_RESERVED = 1
CHANNEL_OFFHOOK = 2
CHANNEL_DIALED = 3
CHANNEL_ALERTING = 4
CHANNEL_REMOTE_ALERTING = 5
CHANNEL_UP = 6
CHANNEL_BUSY = 7

# Recording formats (RECORD FILE).
FORMAT_SLN = "sln"
FORMAT_G723 = "g723"
FORMAT_G729 = "g729"
FORMAT_GSM = "gsm"
FORMAT_ALAW = "alaw"
FORMAT_ULAW = "ulaw"
FORMAT_VOX = "vox"
FORMAT_WAV = "wav"

# Verbosity levels (VERBOSE).
LOG_DEBUG = 4
LOG_INFO = 3
LOG_WARN = 2
LOG_ERROR = 1
LOG_CRITICAL = 0

# TDD modes (TDD MODE).
TDD_ON = "on"
TDD_OFF = "off"
TDD_MATE = "mate"


# -- exceptions ---------------------------------------------------------------------------


class AGIException(AsteramiskException):
    """The root of the AGI errors. ``items`` holds the response's parts, when there was one."""

    def __init__(self, message: str, items: object = None) -> None:
        super().__init__(message)
        self.items = items


class AGIError(AGIException):
    """Asterisk reported an error."""


class AGINoResultError(AGIException):
    """Asterisk answered 200 without a ``result=``."""


class AGIUnknownError(AGIError):
    """Asterisk answered with a response code we do not know."""


class AGIAppError(AGIError):
    """The command failed; most commonly because the channel hung up."""


class AGIDBError(AGIAppError):
    """Asterisk's database could not read, write or remove the key."""


class AGIDeadChannelError(AGIError):
    """511: the command is not permitted on a dead (hung-up) channel."""


class AGIInvalidCommandError(AGIError):
    """510: Asterisk does not know this command."""


class AGIUsageError(AGIError):
    """520: the command's arguments were wrong; the message is Asterisk's usage text."""


class AGIHangup(AGIException, HangupException):
    """The caller is gone."""


class AGIResultHangup(AGIHangup):
    """Asterisk said the caller hung up (a ``HANGUP`` line, or ``(hangup)`` in a result)."""


class AGISIGPIPEHangup(AGIHangup):
    """The connection to Asterisk closed."""


# -- the base -----------------------------------------------------------------------------


class Action(Generic[T]):
    """One AGI command. Subclasses set ``name`` and turn a 200 response into a value."""

    name: ClassVar[str] = ""
    interruptible: ClassVar[bool] = False
    """Whether Asterisk stops this command when another command line arrives while it runs.

    Asterisk 22 does so for ``STREAM FILE``, ``GET OPTION`` and ``GET DATA`` (which then send
    no answer) and ``WAIT FOR DIGIT`` (which answers ``result=1``). The server therefore
    sends a call's commands one at a time, and sends one on purpose to stop such a command
    whose task was cancelled."""
    __slots__ = ("_interrupts", "arguments", "command")

    def __init__(self, *arguments: object) -> None:
        self.arguments = arguments
        self._interrupts = self.interruptible  # a slot: the server reads it per command
        self.command: bytes = encode_command(self.name, *arguments)
        """The command line, encoded and quoted. Encoded when the action is made, so that
        text with CR, LF or NUL is refused (``ValueError``) before anything is sent; an
        action can be executed again and again."""

    def process_response(self, response: Response) -> T:
        """Turn Asterisk's 200 response into this command's value (or raise)."""
        raise NotImplementedError

    def __repr__(self) -> str:
        args = ", ".join(repr(a) for a in self.arguments)
        return f"{type(self).__name__}({args})"


def _result_int(response: Response) -> int:
    try:
        return int(response.result or "")
    except ValueError:
        raise AGIUnknownError(
            f"non-numeric result from Asterisk: {response.line!r}", response
        ) from None


_USUAL = ("0", "1")


def _check(response: Response, action: Action[Any]) -> int:
    """The numeric result; -1 raises AGIResultHangup if it says (hangup), else AGIAppError."""
    result = response.result
    if result == "1":  # the usual answers, without int() or a call
        return 1
    if result == "0":
        return 0
    number = _result_int(response)
    if number == -1:
        if response.data == "hangup":
            raise AGIResultHangup(f"{action.name}: the caller hung up", response)
        raise AGIAppError(f"{action.name} failed: {response.line}", response)
    return number


def _digits(escape_digits: str | Iterable[int | str]) -> str:
    if isinstance(escape_digits, str):
        return escape_digits
    return "".join(str(d) for d in escape_digits)


def _dtmf(result: int) -> str | None:
    return chr(result) if result > 0 else None


class _Success(Action[None]):
    """Commands whose result 0 or 1 is success and -1 failure."""

    def process_response(self, response: Response) -> None:
        if response.result not in _USUAL:  # "0" and "1", the usual answers, need no call
            _check(response, self)


class _Database(Action[None]):
    def process_response(self, response: Response) -> None:
        if _check(response, self) != 1:
            raise AGIDBError(f"{self.name} {self.arguments!r} failed", response)


class _Say(Action[str | None]):
    """SAY ...: None, or the escape digit that interrupted playback."""

    def process_response(self, response: Response) -> str | None:
        return _dtmf(_check(response, self))


class _SpeechOk(Action[None]):
    """SPEECH ...: result 1 is success, 0 failure (no speech object, no engine, ...)."""

    def process_response(self, response: Response) -> None:
        if _check(response, self) != 1:
            raise AGIAppError(f"{self.name} failed: {response.line}", response)


# -- the classic 37 ------------------------------------------------------------------------


class Answer(_Success):
    """Answers the call; a no-op when already answered."""

    name = "ANSWER"

    def __init__(self) -> None:
        super().__init__()


class ChannelStatus(Action[int]):
    """The state of this channel, or of ``channel``: one of the ``CHANNEL_*`` constants."""

    name = "CHANNEL STATUS"

    def __init__(self, channel: str | None = None) -> None:
        super().__init__(channel)

    def process_response(self, response: Response) -> int:
        return _check(response, self)


class ControlStreamFile(Action[str | None]):
    """Plays ``filename`` with seek and pause keys; returns the escape digit pressed, or None.

    ``sample_offset`` starts playback that many milliseconds in. ``forward``, ``rewind`` and
    ``pause`` are the DTMF keys for those features, disabled when empty (the default).
    """

    name = "CONTROL STREAM FILE"

    def __init__(
        self,
        filename: str,
        escape_digits: str | Iterable[int | str] = "",
        sample_offset: int = 0,
        forward: str = "",
        rewind: str = "",
        pause: str = "",
    ) -> None:
        # Asterisk falls back to '#' and '*' for an empty key; a key no phone has disables it.
        super().__init__(
            filename,
            _digits(escape_digits),
            3000,
            forward or "X",
            rewind or "X",
            pause or "X",
            int(sample_offset),
        )

    def process_response(self, response: Response) -> str | None:
        return _dtmf(_check(response, self))


class DatabaseDel(_Database):
    """Deletes ``family/key`` from Asterisk's database (AGIDBError if it was not there)."""

    name = "DATABASE DEL"

    def __init__(self, family: str, key: str) -> None:
        super().__init__(family, key)


class DatabaseDeltree(Action[None]):
    """Deletes ``family`` (or ``family/keytree``) from Asterisk's database.

    AGIDBError if nothing was there to delete.
    """

    name = "DATABASE DELTREE"

    def __init__(self, family: str, keytree: str | None = None) -> None:
        super().__init__(family, keytree)

    def process_response(self, response: Response) -> None:
        # Asterisk answers DELTREE the other way round from its siblings: result=0 when
        # entries were deleted, result=1 when there was nothing to delete.
        if _check(response, self) != 0:
            raise AGIDBError(f"{self.name} {self.arguments!r}: nothing to delete", response)


class DatabaseGet(Action[str]):
    """The value of ``family/key`` in Asterisk's database (AGIDBError if absent)."""

    name = "DATABASE GET"

    def __init__(self, family: str, key: str) -> None:
        super().__init__(family, key)

    def process_response(self, response: Response) -> str:
        if _check(response, self) != 1:
            raise AGIDBError(f"no database key {self.arguments[0]}/{self.arguments[1]}", response)
        return response.data or ""


class DatabasePut(_Database):
    """Inserts or updates ``family/key`` = ``value`` in Asterisk's database."""

    name = "DATABASE PUT"

    def __init__(self, family: str, key: str, value: str) -> None:
        super().__init__(family, key, value)


class Exec(Action[str]):
    """Runs the dialplan application ``application`` with ``options``; returns its result.

    ``options`` is a sequence of arguments, joined with commas (escape commas and double
    quotes inside an option yourself). AGIAppError if the application does not exist.
    """

    name = "EXEC"

    def __init__(self, application: str, options: Sequence[object] = ()) -> None:
        if isinstance(options, str):
            options = (options,)
        joined = ",".join(str(option) for option in options)
        super().__init__(application, joined if options else None)

    def process_response(self, response: Response) -> str:
        if response.result == "-2":
            raise AGIAppError(f"no such application: {self.arguments[0]}", response)
        return response.result or ""


class GetData(Action[tuple[str, bool]]):
    """Plays ``filename`` and collects up to ``max_digits`` keys ('#' ends input).

    Returns ``(digits, timed_out)``; digits is empty when nothing was pressed.
    """

    name = "GET DATA"
    interruptible = True

    def __init__(self, filename: str, timeout: int = 2000, max_digits: int = 255) -> None:
        super().__init__(filename, int(timeout), int(max_digits))

    def process_response(self, response: Response) -> tuple[str, bool]:
        if response.result == "-1":
            raise AGIAppError(f"GET DATA failed: {response.line}", response)
        return response.result or "", response.data == "timeout"


class GetFullVariable(Action[str | None]):
    """The value of ``variable`` (an expression like ``${CALLERID(num)}``), or None."""

    name = "GET FULL VARIABLE"

    def __init__(self, variable: str, channel: str | None = None) -> None:
        super().__init__(variable, channel)

    def process_response(self, response: Response) -> str | None:
        # "1", the usual answer, is read without a call
        return response.data if response.result == "1" or _check(response, self) == 1 else None


class GetOption(Action[tuple[str, int] | None]):
    """Plays ``filename``, waiting ``timeout`` ms after it for one of ``escape_digits``.

    Returns ``(dtmf_key, offset_ms)``, or None if no key was pressed.
    """

    name = "GET OPTION"
    interruptible = True

    def __init__(
        self, filename: str, escape_digits: str | Iterable[int | str] = "", timeout: int = 2000
    ) -> None:
        super().__init__(filename, _digits(escape_digits), int(timeout))

    def process_response(self, response: Response) -> tuple[str, int] | None:
        key = _dtmf(_check(response, self))
        return (key, response.endpos or 0) if key else None


class GetVariable(Action[str | None]):
    """The value of the channel variable ``variable``, or None if it is not set."""

    name = "GET VARIABLE"

    def __init__(self, variable: str) -> None:
        super().__init__(variable)

    def process_response(self, response: Response) -> str | None:
        # "1", the usual answer, is read without a call
        return response.data if response.result == "1" or _check(response, self) == 1 else None


class Hangup(_Success):
    """Hangs up this channel, or ``channel``."""

    name = "HANGUP"

    def __init__(self, channel: str | None = None) -> None:
        super().__init__(channel)


class Noop(_Success):
    """Does nothing: a ping."""

    name = "NOOP"

    def __init__(self) -> None:
        super().__init__()


class ReceiveChar(Action[tuple[str, bool] | None]):
    """One character of text: ``(char, timed_out)``, or None if the channel has no text."""

    name = "RECEIVE CHAR"

    def __init__(self, timeout: int = 0) -> None:
        super().__init__(int(timeout))

    def process_response(self, response: Response) -> tuple[str, bool] | None:
        result = _result_int(response)
        if result == -1:
            # Asterisk says "(hangup)" for a channel without text support too; the session
            # knows a real hangup from Asterisk's HANGUP line and raises before we get here.
            return None
        return (chr(result) if result > 0 else ""), response.data == "timeout"


class ReceiveText(Action[str]):
    """A block of text from the channel."""

    name = "RECEIVE TEXT"

    def __init__(self, timeout: int = 0) -> None:
        super().__init__(int(timeout))

    def process_response(self, response: Response) -> str:
        _check(response, self)
        return response.data or ""


class RecordFile(Action[tuple[str, int, bool]]):
    """Records to ``filename`` (no extension) in ``format``.

    Returns ``(dtmf_key, offset_ms, timed_out)``; dtmf_key is empty if no key ended it.
    """

    name = "RECORD FILE"

    def __init__(
        self,
        filename: str,
        format: str = FORMAT_WAV,
        escape_digits: str | Iterable[int | str] = "",
        timeout: int = -1,
        sample_offset: int = 0,
        beep: bool = True,
        silence: int | None = None,
    ) -> None:
        arguments: list[object] = [filename, format, _digits(escape_digits), int(timeout)]
        arguments.append(int(sample_offset))
        if beep:
            arguments.append("BEEP")
        if silence is not None:
            arguments.append(f"s={int(silence)}")
        super().__init__(*arguments)

    def process_response(self, response: Response) -> tuple[str, int, bool]:
        offset = response.endpos or 0
        if response.data == "hangup":
            raise AGIResultHangup("the caller hung up while recording", response)
        result = _result_int(response)
        if response.data == "randomerror" and result > 0:
            # A key pressed during the beep: Asterisk stops before recording anything.
            return chr(result), offset, False
        if response.data in ("randomerror", "writefile") or result == -1:
            raise AGIAppError(f"RECORD FILE failed: {response.line}", response)
        if response.data == "dtmf":
            return _dtmf(_result_int(response)) or "", offset, False
        return "", offset, response.data == "timeout"


class SayAlpha(_Say):
    """Spells ``characters`` letter by letter."""

    name = "SAY ALPHA"

    def __init__(self, characters: str, escape_digits: str | Iterable[int | str] = "") -> None:
        super().__init__(characters, _digits(escape_digits))


def _now(seconds: int | None) -> int:
    return int(time.time()) if seconds is None else int(seconds)


class SayDate(_Say):
    """Says the date of ``seconds`` since the epoch (now if None)."""

    name = "SAY DATE"

    def __init__(
        self, seconds: int | None = None, escape_digits: str | Iterable[int | str] = ""
    ) -> None:
        super().__init__(_now(seconds), _digits(escape_digits))


class SayDatetime(_Say):
    """Says the date and time of ``seconds`` since the epoch, in ``format`` and ``timezone``."""

    name = "SAY DATETIME"

    def __init__(
        self,
        seconds: int | None = None,
        escape_digits: str | Iterable[int | str] = "",
        format: str | None = None,
        timezone: str | None = None,
    ) -> None:
        if format is None:
            timezone = None  # as documented: without a format, the timezone is ignored
        super().__init__(_now(seconds), _digits(escape_digits), format, timezone)


class SayDigits(_Say):
    """Says ``digits`` one by one."""

    name = "SAY DIGITS"

    def __init__(self, digits: str | int, escape_digits: str | Iterable[int | str] = "") -> None:
        super().__init__(digits, _digits(escape_digits))


class SayNumber(_Say):
    """Says ``number`` naturally ("forty two")."""

    name = "SAY NUMBER"

    def __init__(self, number: int | str, escape_digits: str | Iterable[int | str] = "") -> None:
        super().__init__(number, _digits(escape_digits))


class SayPhonetic(_Say):
    """Says ``characters`` with the phonetic alphabet ("alpha bravo")."""

    name = "SAY PHONETIC"

    def __init__(self, characters: str, escape_digits: str | Iterable[int | str] = "") -> None:
        super().__init__(characters, _digits(escape_digits))


class SayTime(_Say):
    """Says the time of ``seconds`` since the epoch (now if None)."""

    name = "SAY TIME"

    def __init__(
        self, seconds: int | None = None, escape_digits: str | Iterable[int | str] = ""
    ) -> None:
        super().__init__(_now(seconds), _digits(escape_digits))


class SendImage(_Success):
    """Sends the image ``filename`` on channels that support images."""

    name = "SEND IMAGE"

    def __init__(self, filename: str) -> None:
        super().__init__(filename)


class SendText(_Success):
    """Sends ``text`` on channels that support text."""

    name = "SEND TEXT"

    def __init__(self, text: str) -> None:
        super().__init__(text)


class SetAutohangup(_Success):
    """Hangs the channel up after ``seconds`` (0 disables)."""

    name = "SET AUTOHANGUP"

    def __init__(self, seconds: int = 0) -> None:
        super().__init__(int(seconds))


class SetCallerid(_Success):
    """Sets the caller ID of this channel to ``number`` (and ``name``)."""

    name = "SET CALLERID"

    def __init__(self, number: str, name: str | None = None) -> None:
        callerid = f'"{name}" <{number}>' if name else str(number)
        super().__init__(callerid)


class SetContext(_Success):
    """Sets the dialplan context the channel continues in after AGI."""

    name = "SET CONTEXT"

    def __init__(self, context: str) -> None:
        super().__init__(context)


class SetExtension(_Success):
    """Sets the dialplan extension the channel continues at after AGI."""

    name = "SET EXTENSION"

    def __init__(self, extension: str) -> None:
        super().__init__(extension)


class SetMusic(_Success):
    """Turns music on hold on or off (of class ``moh_class``)."""

    name = "SET MUSIC"

    def __init__(self, on: bool, moh_class: str | None = None) -> None:
        super().__init__("on" if on else "off", moh_class)


class SetPriority(_Success):
    """Sets the dialplan priority (a number or a label) the channel continues at after AGI."""

    name = "SET PRIORITY"

    def __init__(self, priority: int | str) -> None:
        super().__init__(priority)


class SetVariable(_Success):
    """Sets the channel variable ``name`` to ``value``."""

    name = "SET VARIABLE"

    def __init__(self, name: str, value: object) -> None:
        super().__init__(name, value)


class StreamFile(Action[tuple[str, int] | None]):
    """Plays ``filename``; returns ``(dtmf_key, offset_ms)`` if a key interrupted it, else None.

    None also when the file could not be opened (Asterisk logs why).
    """

    name = "STREAM FILE"
    interruptible = True

    def __init__(
        self,
        filename: str,
        escape_digits: str | Iterable[int | str] = "",
        sample_offset: int = 0,
    ) -> None:
        super().__init__(filename, _digits(escape_digits), int(sample_offset))

    def process_response(self, response: Response) -> tuple[str, int] | None:
        result = _result_int(response)
        if result == -1 and response.endpos is None:
            raise AGIAppError(f"STREAM FILE failed: {response.line}", response)
        key = _dtmf(result)
        return (key, response.endpos or 0) if key else None


class TDDMode(Action[bool]):
    """Sets TDD mode (``TDD_ON``, ``TDD_OFF``, ``TDD_MATE``); False if not capable."""

    name = "TDD MODE"

    def __init__(self, mode: str) -> None:
        super().__init__(mode)

    def process_response(self, response: Response) -> bool:
        return _check(response, self) == 1


class Verbose(_Success):
    """Logs ``message`` in Asterisk at ``level`` (a ``LOG_*`` constant)."""

    name = "VERBOSE"

    def __init__(self, message: str, level: int = LOG_INFO) -> None:
        super().__init__(message, int(level))


class WaitForDigit(Action[str | None]):
    """Waits up to ``timeout`` ms (-1: forever) for a key; returns it, or None."""

    name = "WAIT FOR DIGIT"
    interruptible = True

    def __init__(self, timeout: int = -1) -> None:
        super().__init__(int(timeout))

    def process_response(self, response: Response) -> str | None:
        return _dtmf(_check(response, self))


# -- the ten more of Asterisk 22 --------------------------------------------------------------


class AsyncAGIBreak(_Success):
    """Ends an Async AGI session; on a FastAGI session Asterisk accepts it and goes on."""

    name = "ASYNCAGI BREAK"

    def __init__(self) -> None:
        super().__init__()


class Gosub(_Success):
    """Runs the dialplan subroutine at ``context,extension,priority`` with ``arguments``."""

    name = "GOSUB"

    def __init__(
        self,
        context: str,
        extension: str,
        priority: int | str,
        arguments: Sequence[object] = (),
    ) -> None:
        joined = ",".join(str(argument) for argument in arguments) if arguments else None
        super().__init__(context, extension, priority, joined)


class SpeechCreate(_SpeechOk):
    """Creates a speech recogniser on the channel with ``engine``."""

    name = "SPEECH CREATE"

    def __init__(self, engine: str) -> None:
        super().__init__(engine)


class SpeechSet(_SpeechOk):
    """Sets ``name`` = ``value`` on the speech engine."""

    name = "SPEECH SET"

    def __init__(self, name: str, value: object) -> None:
        super().__init__(name, value)


class SpeechDestroy(_SpeechOk):
    """Destroys the channel's speech recogniser."""

    name = "SPEECH DESTROY"

    def __init__(self) -> None:
        super().__init__()


class SpeechLoadGrammar(_SpeechOk):
    """Loads the grammar at ``path`` under ``name``."""

    name = "SPEECH LOAD GRAMMAR"

    def __init__(self, name: str, path: str) -> None:
        super().__init__(name, path)


class SpeechUnloadGrammar(_SpeechOk):
    """Unloads the grammar ``name``."""

    name = "SPEECH UNLOAD GRAMMAR"

    def __init__(self, name: str) -> None:
        super().__init__(name)


class SpeechActivateGrammar(_SpeechOk):
    """Activates the grammar ``name``."""

    name = "SPEECH ACTIVATE GRAMMAR"

    def __init__(self, name: str) -> None:
        super().__init__(name)


class SpeechDeactivateGrammar(_SpeechOk):
    """Deactivates the grammar ``name``."""

    name = "SPEECH DEACTIVATE GRAMMAR"

    def __init__(self, name: str) -> None:
        super().__init__(name)


class SpeechRecognize(Action[dict[str, str]]):
    """Plays ``prompt`` and recognises speech for ``timeout`` ms.

    Returns the result's ``key=value`` pairs (``results``, ``score0``, ``text0``, ...).
    AGIAppError when there is no speech recogniser on the channel.
    """

    name = "SPEECH RECOGNIZE"

    def __init__(self, prompt: str, timeout: int, offset: int | None = None) -> None:
        super().__init__(prompt, int(timeout), offset)

    def process_response(self, response: Response) -> dict[str, str]:
        if _check(response, self) != 1:
            raise AGIAppError(f"SPEECH RECOGNIZE failed: {response.line}", response)
        return {"result": response.data or "", **response.extra}


COMMANDS: tuple[type[Action[Any]], ...] = tuple(
    cls
    for cls in list(globals().values())
    if isinstance(cls, type) and issubclass(cls, Action) and cls.__dict__.get("name")
)
"""Every command class, one per AGI command."""
