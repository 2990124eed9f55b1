"""Every one of Asterisk 22's 47 AGI commands, executed on a real call from a FastAGI handler."""

from __future__ import annotations

import asyncio
import time
import uuid
from pathlib import Path
from typing import Any

import pytest

from asteramisk.agi import AGI, core
from asteramisk.asterisk.ami import AMIClient
from asteramisk.testing import SandboxSettings

from .conftest import AGICalls

COVERED: set[str] = set()


async def run(agi: AGI, action: core.Action[Any]) -> Any:
    COVERED.add(action.name)
    return await agi.execute(action)


async def raises(agi: AGI, action: core.Action[Any], error: type[Exception]) -> Exception:
    COVERED.add(action.name)
    with pytest.raises(error) as info:
        await agi.execute(action)
    return info.value


async def with_keys(
    calls: AGICalls, agi: AGI, action: core.Action[Any], keys: str, after: float = 0.3
) -> Any:
    """Start ``action``, press ``keys`` ``after`` seconds, return its value."""
    COVERED.add(action.name)
    task = asyncio.ensure_future(agi.execute(action))
    await asyncio.sleep(after)
    await calls.press(agi, keys)
    return await asyncio.wait_for(task, 10)


async def test_asterisk_has_exactly_our_47_commands(asterisk: SandboxSettings) -> None:
    async with AMIClient() as ami:
        output = await ami.command("agi show commands")
    listed = set()
    for line in output.splitlines():
        parts = line.split(None, 1)
        if len(parts) == 2 and parts[0] in ("Yes", "No"):
            listed.add(" ".join(parts[1].split("  ")[0].split()).upper())
    ours = {cls.name for cls in core.COMMANDS}
    assert len(ours) == 47
    assert ours == listed


async def test_channel_and_playback_commands(agi_calls: AGICalls) -> None:
    async def handler(agi: AGI) -> None:
        assert await run(agi, core.Answer()) is None
        assert await run(agi, core.ChannelStatus()) == core.CHANNEL_UP
        await raises(agi, core.ChannelStatus("PJSIP/nobody-0000"), core.AGIAppError)
        assert await run(agi, core.Noop()) is None
        assert await run(agi, core.Verbose("asteramisk test", core.LOG_INFO)) is None
        # Playback: no key -> None; a key pressed -> that key.
        assert await run(agi, core.StreamFile("beep")) is None
        assert await run(agi, core.StreamFile("no-such-sound-file")) is None
        key, offset = await with_keys(agi_calls, agi, core.StreamFile("tt-monkeys", "59"), "5")
        assert key == "5" and offset > 0
        assert await run(agi, core.ControlStreamFile("beep")) is None
        assert (
            await with_keys(agi_calls, agi, core.ControlStreamFile("tt-monkeys", "4"), "4") == "4"
        )
        assert await run(agi, core.GetOption("beep", "12", 300)) is None
        key, _ = await with_keys(agi_calls, agi, core.GetOption("tt-monkeys", "12", 2000), "2")
        assert key == "2"
        # Digits.
        assert await with_keys(
            agi_calls, agi, core.GetData("beep", timeout=3000, max_digits=4), "123#"
        ) == ("123", False)
        assert await run(agi, core.GetData("beep", timeout=300, max_digits=4)) == ("", True)
        assert await run(agi, core.WaitForDigit(200)) is None
        assert await with_keys(agi_calls, agi, core.WaitForDigit(5000), "7") == "7"
        # Say.
        assert await run(agi, core.SayAlpha("ab")) is None
        assert await run(agi, core.SayDigits("12")) is None
        assert await run(agi, core.SayNumber(42)) is None
        assert await run(agi, core.SayPhonetic("ab")) is None
        assert await run(agi, core.SayDate(0)) is None
        assert await run(agi, core.SayTime(0)) is None
        assert await run(agi, core.SayDatetime(0, "", "HM", "UTC")) is None
        assert await with_keys(agi_calls, agi, core.SayNumber(123456789, "9"), "9") == "9"
        # Text and images: a Local channel takes them, and has no text to receive.
        assert await run(agi, core.SendText("hello")) is None
        assert await run(agi, core.SendImage("no-such-image")) is None
        assert await run(agi, core.ReceiveChar(100)) is None
        await raises(agi, core.ReceiveText(100), core.AGIAppError)
        assert await run(agi, core.TDDMode(core.TDD_OFF)) is False
        # Music on hold, auto hangup (set and cleared).
        assert await run(agi, core.SetMusic(True)) is None
        assert await run(agi, core.SetMusic(False)) is None
        assert await run(agi, core.SetAutohangup(60)) is None
        assert await run(agi, core.SetAutohangup(0)) is None

    await agi_calls.run(handler, timeout=60)


async def test_variables_database_exec_and_gosub(agi_calls: AGICalls) -> None:
    family = f"asteramisk-test-{uuid.uuid4().hex[:6]}"
    await agi_calls.add_extension("sub", 1, "Set", "GOSUB_RESULT=${ARG1}+${ARG2}")
    await agi_calls.add_extension("sub", 2, "Return")

    async def handler(agi: AGI) -> None:
        await run(agi, core.Answer())
        hostile = 'quoted "value" with spaces, \\ backslash and \\" both'
        assert await run(agi, core.SetVariable("HOSTILE", hostile)) is None
        assert await run(agi, core.GetVariable("HOSTILE")) == hostile
        assert await run(agi, core.SetVariable("EMPTY", "")) is None
        assert await run(agi, core.GetVariable("NEVER_SET_ANYWHERE")) is None
        assert await run(agi, core.GetFullVariable("${HOSTILE:0:6}-${CHANNEL(state)}")) == (
            "quoted-Up"
        )
        assert await run(agi, core.SetCallerid("5551234", "Alice")) is None
        assert await run(agi, core.GetFullVariable("${CALLERID(all)}")) == '"Alice" <5551234>'
        # Database.
        assert await run(agi, core.DatabasePut(family, "key", "v 1")) is None
        assert await run(agi, core.DatabaseGet(family, "key")) == "v 1"
        assert await run(agi, core.DatabaseDel(family, "key")) is None
        await raises(agi, core.DatabaseGet(family, "key"), core.AGIDBError)
        # Asterisk 22 reports success when deleting a key that is not there.
        assert await run(agi, core.DatabaseDel(family, "key")) is None
        await run(agi, core.DatabasePut(family, "tree/a", "1"))
        assert await run(agi, core.DatabaseDeltree(family, "tree")) is None
        await raises(agi, core.DatabaseGet(family, "tree/a"), core.AGIDBError)
        await raises(agi, core.DatabaseDeltree(f"{family}-absent"), core.AGIDBError)
        # Applications and subroutines.
        assert await run(agi, core.Exec("Set", ["VIA_EXEC=42"])) == "0"
        assert await run(agi, core.GetVariable("VIA_EXEC")) == "42"
        await raises(agi, core.Exec("NoSuchApplication"), core.AGIAppError)
        assert await run(agi, core.Gosub(agi_calls.context, "sub", 1, ["a", "b c"])) is None
        assert await run(agi, core.GetVariable("GOSUB_RESULT")) == "a+b c"
        # Where the dialplan goes on after AGI.
        assert await run(agi, core.SetContext(agi_calls.context)) is None
        assert await run(agi, core.SetExtension("after")) is None
        assert await run(agi, core.SetPriority(1)) is None
        assert await run(agi, core.GetFullVariable("${CONTEXT},${EXTEN}")) == (
            f"{agi_calls.context},after"
        )

    await agi_calls.run(handler)


async def test_record_file(agi_calls: AGICalls, asterisk: SandboxSettings) -> None:
    name = f"/tmp/asteramisk-record-{uuid.uuid4().hex[:6]}"

    async def handler(agi: AGI) -> tuple[Any, Any]:
        await run(agi, core.Answer())
        timed_out = await run(agi, core.RecordFile(name, core.FORMAT_WAV, "#", 500, beep=False))
        by_key = await with_keys(
            agi_calls, agi, core.RecordFile(name + "-k", "wav", "#", 10000, beep=True), "#", 1.5
        )
        during_beep = await with_keys(
            agi_calls, agi, core.RecordFile(name + "-b", "wav", "#", 10000, beep=True), "#", 0.05
        )
        assert during_beep == ("#", 0, False)
        return timed_out, by_key

    timed_out, by_key = await agi_calls.run(handler)
    assert timed_out[0] == "" and timed_out[2] is True
    # A Local channel whose other half is silent sends no audio frames: endpos stays 0.
    assert by_key[0] == "#" and by_key[2] is False and by_key[1] >= 0
    if asterisk.root:  # the sandbox: its files are ours to look at
        assert (Path(asterisk.root) / f"{name.lstrip('/')}-k.wav").is_file()


async def test_speech_commands_without_an_engine_raise(agi_calls: AGICalls) -> None:
    async def handler(agi: AGI) -> None:
        await run(agi, core.Answer())
        await raises(agi, core.SpeechCreate("no-such-engine"), core.AGIAppError)
        for action in (
            core.SpeechSet("confidence", 500),
            core.SpeechLoadGrammar("digits", "/tmp/no-grammar"),
            core.SpeechActivateGrammar("digits"),
            core.SpeechDeactivateGrammar("digits"),
            core.SpeechUnloadGrammar("digits"),
            core.SpeechRecognize("beep", 1000),
            core.SpeechDestroy(),
        ):
            await raises(agi, action, core.AGIAppError)

    await asyncio.wait_for(agi_calls.run(handler), 20)


async def test_hangup_and_asyncagi_break(agi_calls: AGICalls) -> None:
    async def hang_up_ourselves(agi: AGI) -> bool:
        await run(agi, core.Answer())
        assert await run(agi, core.AsyncAGIBreak()) is None
        assert await run(agi, core.Hangup()) is None
        for _ in range(50):  # Asterisk's HANGUP line follows the command's answer
            if agi.hung_up:
                break
            await asyncio.sleep(0.05)
        await raises(agi, core.Noop(), core.AGIHangup)
        return agi.hung_up

    assert await agi_calls.run(hang_up_ourselves) is True


async def test_command_after_caller_hung_up_raises_hangup(agi_calls: AGICalls) -> None:
    async def handler(agi: AGI) -> list[str]:
        await agi.execute(core.Answer())
        await agi_calls.hang_up_caller(agi)
        for _ in range(50):
            if agi.hung_up:
                break
            await asyncio.sleep(0.05)
        errors = []
        for action in (core.StreamFile("beep"), core.GetVariable("X"), core.Noop()):
            with pytest.raises(core.AGIHangup) as info:
                await agi.execute(action)
            errors.append(type(info.value).__name__)
        return errors

    assert await agi_calls.run(handler) == ["AGIResultHangup"] * 3


async def test_commands_of_several_tasks_each_get_their_own_answer(agi_calls: AGICalls) -> None:
    """A command line that reaches Asterisk while STREAM FILE runs would stop it, with no
    answer: the server sends one command at a time, and every task gets its own answer."""

    async def handler(agi: AGI) -> list[Any]:
        await agi.execute(core.Answer())
        return list(
            await asyncio.gather(
                agi.execute(core.StreamFile("beep")),
                agi.execute(core.GetFullVariable("${CHANNEL(state)}")),
                agi.execute(core.WaitForDigit(100)),
                agi.execute(core.GetData("beep", timeout=100, max_digits=2)),
                agi.execute(core.GetVariable("NEVER_SET_ANYWHERE")),
            )
        )

    assert await agi_calls.run(handler) == [None, "Up", None, ("", True), None]


@pytest.mark.parametrize(
    "action",
    [
        core.StreamFile("tt-monkeys"),
        core.GetOption("tt-monkeys", "", 5000),
        core.GetData("tt-monkeys", timeout=5000, max_digits=4),
        core.WaitForDigit(-1),
    ],
    ids=lambda action: action.name,
)
async def test_cancelling_an_interruptible_command_stops_it_at_once(
    agi_calls: AGICalls, action: core.Action[Any]
) -> None:
    """tt-monkeys lasts 16 s and WAIT FOR DIGIT -1 forever: cancelled after 0.5 s, the
    command stops, and the next command gets its own answer at once."""

    async def handler(agi: AGI) -> tuple[str | None, float]:
        await agi.execute(core.Answer())
        running = asyncio.ensure_future(agi.execute(action))
        await asyncio.sleep(0.5)
        running.cancel()
        started = time.monotonic()
        state = await agi.execute(core.GetFullVariable("${CHANNEL(state)}"))
        return state, time.monotonic() - started

    state, waited = await agi_calls.run(handler)
    assert state == "Up"
    assert waited < 1.0


def test_every_command_was_exercised() -> None:
    """Runs after the tests above (file order): all 47 commands went to Asterisk."""
    assert {cls.name for cls in core.COMMANDS} - COVERED == set()
