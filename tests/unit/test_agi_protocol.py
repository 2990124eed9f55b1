"""The sans-I/O AGI codec, on a transcript recorded from Asterisk 22, whole and byte by byte."""

from __future__ import annotations

import os
import shutil
import sysconfig
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from asteramisk.agi import core
from asteramisk.agi.protocol import (
    MAX_LINE,
    MAX_VARIABLES,
    SPEEDUPS,
    AGIParser,
    Environment,
    Event,
    HangupNotice,
    ProtocolError,
    Response,
    _parse_general,
    _plain_answer,
    _python_plain_bytes,
    encode_command,
    parse_response_line,
    quote,
    unquote_words,
)

TRANSCRIPTS = Path(__file__).parent / "transcripts"
RECEIVED = (TRANSCRIPTS / "session.received").read_bytes()
SENT = (TRANSCRIPTS / "session.sent").read_bytes()


def feed_all(parser: AGIParser, chunks: list[bytes]) -> list[Event]:
    events: list[Event] = []
    for chunk in chunks:
        events.extend(parser.feed(chunk))
    return events


def check_session(events: list[Event]) -> None:
    env = events[0]
    assert isinstance(env, Environment)
    assert env.variables["agi_network_script"] == "rec?lang=en&x=1"
    assert env.variables["agi_channel"].startswith("Local/rec@ctx-")
    assert env.variables["agi_arg_1"] == "arg one"
    assert env.variables["agi_accountcode"] == ""
    responses = [e for e in events if isinstance(e, Response)]
    codes = [r.code for r in responses]
    assert codes == [200, 200, 200, 200, 510, 520, 200, 200, 100, 200, 200]
    assert responses[2].result == "1"
    assert responses[2].data == 'a "quoted" (value) with (parens'
    assert responses[3].data is None
    assert "Proper usage follows" not in responses[5].usage
    assert responses[5].usage.startswith("Stream the given")
    assert responses[7].endpos == 3520
    assert isinstance(events[-1], HangupNotice)


def test_recorded_session_whole() -> None:
    check_session(AGIParser().feed(RECEIVED))


def test_recorded_session_one_byte_at_a_time() -> None:
    check_session(feed_all(AGIParser(), [RECEIVED[i : i + 1] for i in range(len(RECEIVED))]))


@pytest.mark.parametrize("size", [2, 3, 7, 64])
def test_recorded_session_in_chunks(size: int) -> None:
    chunks = [RECEIVED[i : i + size] for i in range(0, len(RECEIVED), size)]
    check_session(feed_all(AGIParser(), chunks))


def test_sent_commands_are_what_encode_command_makes() -> None:
    lines = SENT.decode().splitlines()
    assert lines[1] == 'SET VARIABLE V "a \\"quoted\\" (value) with (parens"'
    assert encode_command("SET VARIABLE", "V", 'a "quoted" (value) with (parens') == (
        lines[1].encode() + b"\n"
    )
    assert encode_command("STREAM FILE", "beep", "") == b'STREAM FILE beep ""\n'
    assert encode_command("GOSUB", "ctx", "sub", 1) == b"GOSUB ctx sub 1\n"
    assert core.GetVariable("V").command == b"GET VARIABLE V\n"


@pytest.mark.parametrize("bad", ["a\nHANGUP", "a\rb", "nul\x00", "x\r\nANSWER"])
def test_cr_lf_nul_never_reach_the_wire(bad: str) -> None:
    with pytest.raises(ValueError, match="CR, LF or NUL"):
        encode_command("SET VARIABLE", "X", bad)
    with pytest.raises(ValueError):
        _ = core.SendText(bad).command


def test_text_that_is_not_unicode_is_a_clear_value_error() -> None:
    with pytest.raises(ValueError, match="not valid text"):
        encode_command("SET VARIABLE", "X", "broken \ud800 surrogate")


def test_trailing_optional_arguments_are_left_out() -> None:
    assert core.ChannelStatus().command == b"CHANNEL STATUS\n"
    assert core.Hangup("PJSIP/x-1").command == b"HANGUP PJSIP/x-1\n"
    assert core.DatabaseDeltree("fam").command == b"DATABASE DELTREE fam\n"
    with pytest.raises(ValueError, match="optional argument"):
        encode_command("X", None, "given")


TEXT = st.characters(blacklist_characters="\r\n\x00", blacklist_categories=("Cs",))


@given(st.text(alphabet=TEXT, max_size=60))
def test_quoting_round_trips_any_argument(argument: str) -> None:
    line = encode_command("SET VARIABLE", "NAME", argument).decode()
    assert line.endswith("\n") and line.count("\n") == 1
    assert unquote_words(line[:-1]) == ["SET", "VARIABLE", "NAME", argument]


@given(st.lists(st.text(alphabet=TEXT), max_size=5))
def test_quoting_keeps_argument_boundaries(arguments: list[str]) -> None:
    line = " ".join(quote(a) for a in arguments)
    assert unquote_words(line) == arguments


@pytest.mark.parametrize(
    ("line", "result", "data", "extra"),
    [
        ("200 result=1 (value)", "1", "value", {}),
        ("200 result=0 endpos=3520", "0", None, {"endpos": "3520"}),
        ("200 result=53 endpos=120", "53", None, {"endpos": "120"}),
        ("200 result= (timeout)", "", "timeout", {}),
        ("200 result=35 (dtmf) endpos=8000", "35", "dtmf", {"endpos": "8000"}),
        ("200 result=1 (a) b (c)", "1", "a) b (c", {}),
        ("200 result=1 (unbalanced", "1", "unbalanced", {}),
        ("200 result=0 Gosub complete", "0", None, {}),
        (
            "200 result=1 (speech) endpos=0 results=1 score0=900",
            "1",
            "speech",
            {"endpos": "0", "results": "1", "score0": "900"},
        ),
    ],
)
def test_response_lines(line: str, result: str, data: str | None, extra: dict[str, str]) -> None:
    response = parse_response_line(line)
    assert (response.code, response.result, response.data, response.extra) == (
        200,
        result,
        data,
        extra,
    )


_ANSWER_PIECES = st.sampled_from(
    [
        *["1", "0", "-1", "", " ", "(", ")", "x", "a b", "=", " endpos=5", "é", "\ufffd"],
        # what is not a plain space: control characters, NEL, Unicode spaces, line ends
        *["\t", "\r", "\n", "\x1c", "\x85", "\xa0", "\u2028"],
    ]
)


def _outcome(parser: AGIParser, chunks: list[bytes]) -> list[Event] | str:
    try:
        return feed_all(parser, chunks)
    except ProtocolError as exc:
        return f"ProtocolError: {exc}"


@given(st.lists(_ANSWER_PIECES, max_size=8).map("".join))
@example("1 (a\nb)")  # two lines, the first unbalanced: not one answer with data "a\nb"
@example("1 (x)\r")
def test_the_fast_way_parses_as_the_general_way(tail: str) -> None:
    """Most answers are parsed by a fast path; any answer it takes comes out as the general
    parser has it, and the parser fed the bytes gives the same, whole or byte by byte (a LF
    inside is the end of a line either way)."""
    line = "200 result=" + tail
    plain = _plain_answer(line + "\n")
    if plain is not None:
        assert "\n" not in line
        assert plain == _parse_general(line)
    whole, split = AGIParser(), AGIParser()
    whole.feed(b"agi_channel: x\n\n")
    split.feed(b"agi_channel: x\n\n")
    data = (line + "\n").encode()
    outcome = _outcome(whole, [data])
    assert outcome == _outcome(split, [bytes([byte]) for byte in data])
    if "\n" not in line:
        assert outcome == [_parse_general(line.rstrip("\r"))]


try:
    from asteramisk.agi import _speedups
except ImportError:  # not built here (no C compiler or headers at install)
    _speedups = None  # type: ignore[assignment]
else:
    _speedups.use_response_type(Response)  # as protocol does (not with ASTERAMISK_NO_EXTENSIONS)

_PLAIN_WAYS = [_python_plain_bytes] + ([_speedups.plain_answer] if _speedups else [])
_ANSWER_BYTES = st.lists(
    st.sampled_from(
        [
            *[b"200 result=", b"1", b"0", b"-1", b" ", b"(", b")", b"x", b"\n", b"\r", b"\t"],
            *[b"\x0b", b"\x1c", b"\x1f", b"\x00", b"\x7f", b"\x85", b"\xc3\xa9", b"\xff", b"a=1"],
        ]
    ),
    max_size=10,
).map(b"".join)


@pytest.mark.parametrize("plain", _PLAIN_WAYS, ids=lambda way: way.__module__)
@settings(max_examples=500)
@given(
    data=st.one_of(
        _ANSWER_BYTES,
        _ANSWER_BYTES.map(lambda b: b"200 result=" + b + b"\n"),
        st.binary(),
    )
)
@example(data=b"200 result=1 (1700000000.123)\n")
@example(data=b"200 result=\n")
@example(data=b"200 result=1\x1c\n")  # \s in a str pattern: str.isspace(), \x1c-\x1f too
@example(data=b"200 result=1 (x)\n\n")
def test_each_way_of_reading_a_plain_answer_agrees(
    plain: Callable[[bytes], Response | None], data: bytes
) -> None:
    """The Python way and its C twin (asteramisk.agi._speedups, where built) read any bytes
    as the regular expression does; the C twin leaves what is not ASCII to the general way."""
    try:
        expected = _plain_answer(data.decode())
    except UnicodeDecodeError:
        expected = None
    if plain is not _python_plain_bytes and not data.isascii():
        expected = None
    assert plain(data) == expected


class _NotSlotted:
    code = line = result = data = extra = usage = None


def test_the_c_twin_is_built_where_it_can_be() -> None:
    """Where the install had a C compiler and Python's headers, the C twin was built, and the
    codec uses it unless ASTERAMISK_NO_EXTENSIONS is set."""
    headers = Path(sysconfig.get_paths()["include"], "Python.h").is_file()
    assert (_speedups is not None) == (shutil.which("cc") is not None and headers)
    in_use = _speedups is not None and not os.environ.get("ASTERAMISK_NO_EXTENSIONS")
    assert in_use == SPEEDUPS
    if _speedups is not None:
        with pytest.raises(TypeError, match="needs bytes"):
            _speedups.plain_answer("200 result=1\n")  # type: ignore[arg-type]
        with pytest.raises(TypeError, match="not a writable object slot"):
            _speedups.use_response_type(_NotSlotted)  # type: ignore[arg-type]


_ENV_NAMES = st.from_regex(r"agi_[a-z_0-9]{1,12}", fullmatch=True)
_ENV_VALUES = st.lists(
    st.sampled_from([" ", "x", ": ", "é", "\t", "agi_y: 2", "(", "\\"])
    | st.text(st.characters(blacklist_categories=["Cs"], blacklist_characters="\n\r")),
    max_size=5,
).map("".join)


@given(
    st.lists(st.tuples(_ENV_NAMES, _ENV_VALUES), max_size=25),
    st.booleans(),
    st.lists(st.integers(1, 40), min_size=1, max_size=10),
)
def test_the_environment_is_read_in_any_chunks(
    pairs: list[tuple[str, str]], crlf: bool, sizes: list[int]
) -> None:
    """The environment is read a block at a time when it can be: whatever the chunks and line
    ends, it comes out as the lines say (the last of a repeated name wins), then the answers."""
    end = "\r\n" if crlf else "\n"
    text = "".join(f"{name}: {value}{end}" for name, value in pairs) + end
    data = (text + "200 result=1 (x)\nHANGUP\n").encode()
    chunks, start = [], 0
    while start < len(data):
        size = sizes[len(chunks) % len(sizes)]
        chunks.append(data[start : start + size])
        start += size
    expected = {name: value.lstrip(" ") for name, value in pairs}
    for feeding in (chunks, [data]):
        events = feed_all(AGIParser(), feeding)
        assert events[0] == Environment(expected)
        assert events[1:] == [_parse_general("200 result=1 (x)"), HangupNotice()]


@pytest.mark.parametrize("bad", ["agi_x value", "x_agi: 1", " agi_x: 1", "GET / HTTP/1.1"])
@pytest.mark.parametrize("size", [1, 5, 1000])
def test_a_malformed_environment_line_is_refused_whatever_the_chunks(bad: str, size: int) -> None:
    data = f"agi_a: 1\nagi_b: 2\n{bad}\nagi_c: 3\n\n".encode()
    with pytest.raises(ProtocolError, match="malformed AGI environment line"):
        feed_all(AGIParser(), [data[i : i + size] for i in range(0, len(data), size)])


@pytest.mark.parametrize("crlf", [False, True])
def test_an_environment_that_never_ends_is_refused(crlf: bool) -> None:
    end = "\r\n" if crlf else "\n"
    parser = AGIParser()
    with pytest.raises(ProtocolError, match="more than 1024 variables"):
        for n in range(0, MAX_VARIABLES + 100, 50):
            parser.feed("".join(f"agi_v{i}: x{end}" for i in range(n, n + 50)).encode())


def test_a_usage_text_that_never_ends_is_refused() -> None:
    parser = AGIParser()
    parser.feed(b"agi_channel: x\n\n520-Invalid command syntax.  Proper usage follows:\n")
    with pytest.raises(ProtocolError, match="520 usage text of more than"):
        for _ in range(MAX_VARIABLES // 100 + 2):
            parser.feed(b"usage line\n" * 100)


def test_malformed_lines_are_protocol_errors() -> None:
    with pytest.raises(ProtocolError):
        parse_response_line("garbage here")
    parser = AGIParser()
    with pytest.raises(ProtocolError, match="environment"):
        parser.feed(b"this is not agi\n")


def test_a_line_that_never_ends_is_refused() -> None:
    parser = AGIParser()
    parser.feed(b"agi_channel: x\n\n")
    with pytest.raises(ProtocolError, match="longer than"):
        for _ in range(MAX_LINE // 4096 + 2):
            parser.feed(b"2" * 4096)


@pytest.mark.parametrize(
    ("action", "line", "expected"),
    [
        (core.GetData("beep"), "200 result=123 (timeout)", ("123", True)),
        (core.GetData("beep"), "200 result=12", ("12", False)),
        (core.WaitForDigit(), "200 result=0", None),
        (core.WaitForDigit(), "200 result=55", "7"),
        (core.StreamFile("x"), "200 result=0 endpos=100", None),
        (core.StreamFile("x"), "200 result=-1 endpos=0", None),
        (core.StreamFile("x", "5"), "200 result=53 endpos=640", ("5", 640)),
        (core.GetOption("x", "1"), "200 result=49 endpos=10", ("1", 10)),
        (core.RecordFile("f"), "200 result=0 (timeout) endpos=800", ("", 800, True)),
        (core.RecordFile("f"), "200 result=35 (dtmf) endpos=800", ("#", 800, False)),
        (core.DatabaseGet("f", "k"), "200 result=1 (v)", "v"),
        (core.GetVariable("V"), "200 result=1 (v)", "v"),
        (core.GetVariable("V"), "200 result=1", None),
        (core.GetVariable("V"), "200 result=0", None),
        (core.GetFullVariable("${V}"), "200 result=1 (a b)", "a b"),
        (core.GetFullVariable("${V}"), "200 result=0", None),
        (core.Answer(), "200 result=0", None),
        (core.SetVariable("V", "x"), "200 result=1", None),
        (core.ChannelStatus(), "200 result=6", core.CHANNEL_UP),
        (core.TDDMode(core.TDD_ON), "200 result=0", False),
        (core.Exec("Wait", [1]), "200 result=0", "0"),
        (core.ReceiveChar(10), "200 result=0 (timeout)", ("", True)),
        (core.ReceiveChar(10), "200 result=-1 (hangup)", None),
        (
            core.SpeechRecognize("p", 10),
            "200 result=1 (speech) results=1 text0=hi",
            {"result": "speech", "results": "1", "text0": "hi"},
        ),
    ],
)
def test_command_results(action: core.Action[object], line: str, expected: object) -> None:
    assert action.process_response(parse_response_line(line)) == expected


@pytest.mark.parametrize(
    ("action", "line", "error"),
    [
        (core.DatabaseGet("f", "k"), "200 result=0", core.AGIDBError),
        (core.DatabasePut("f", "k", "v"), "200 result=0", core.AGIDBError),
        (core.DatabaseDeltree("f"), "200 result=1", core.AGIDBError),
        (core.Exec("Nope"), "200 result=-2", core.AGIAppError),
        (core.Answer(), "200 result=-1", core.AGIAppError),
        (core.SetVariable("V", "x"), "200 result=-1 (hangup)", core.AGIResultHangup),
        (core.Noop(), "200 result=x", core.AGIUnknownError),
        (core.GetVariable("V"), "200 result=-1", core.AGIAppError),
        (core.GetFullVariable("${V}"), "200 result=", core.AGIUnknownError),
        (core.StreamFile("x"), "200 result=-1", core.AGIAppError),
        (core.WaitForDigit(), "200 result=-1 (hangup)", core.AGIResultHangup),
        (core.RecordFile("f"), "200 result=-1 (writefile)", core.AGIAppError),
        (core.RecordFile("f"), "200 result=0 (hangup) endpos=0", core.AGIResultHangup),
        (core.SpeechCreate("x"), "200 result=0", core.AGIAppError),
        (core.ChannelStatus(), "200 result=abc", core.AGIUnknownError),
    ],
)
def test_command_failures(action: core.Action[object], line: str, error: type[Exception]) -> None:
    with pytest.raises(error):
        action.process_response(parse_response_line(line))


def test_exception_tree_mirrors_the_reference() -> None:
    from asteramisk.exceptions import AsteramiskException, HangupException

    assert issubclass(core.AGIDBError, core.AGIAppError)
    assert issubclass(core.AGIAppError, core.AGIError)
    assert issubclass(core.AGIError, core.AGIException)
    for error in (
        core.AGIUnknownError,
        core.AGIDeadChannelError,
        core.AGIInvalidCommandError,
        core.AGIUsageError,
    ):
        assert issubclass(error, core.AGIError)
    assert issubclass(core.AGINoResultError, core.AGIException)
    assert issubclass(core.AGIResultHangup, core.AGIHangup)
    assert issubclass(core.AGISIGPIPEHangup, core.AGIHangup)
    assert issubclass(core.AGIHangup, HangupException)
    assert issubclass(core.AGIException, AsteramiskException)
    assert core.AGIDBError("m", items={"a": 1}).items == {"a": 1}


def test_constants_of_the_reference() -> None:
    assert [core.CHANNEL_DOWN_AVAILABLE, core.CHANNEL_BUSY] == [0, 7]
    assert core.FORMAT_WAV == "wav" and core.FORMAT_SLN == "sln"
    assert core.TDD_MATE == "mate"
    assert core.Verbose("m").command == b"VERBOSE m 3\n"
    assert core.SetCallerid("123", "A B").command == b'SET CALLERID "\\"A B\\" <123>"\n'
    assert core.ControlStreamFile("f", [1, "#"], 500).command == (
        b"CONTROL STREAM FILE f 1# 3000 X X X 500\n"
    )
