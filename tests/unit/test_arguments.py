"""Hostile or malformed arguments are refused by the verbs, the same way on both transports,
before anything reaches Asterisk."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest

from asteramisk.testing.fakes import FakeCall, fake_call
from asteramisk.ui import TextUI

Verb = Callable[[FakeCall], Awaitable[object]]

REFUSED: list[tuple[str, Verb, str]] = [
    ("comma adds media", lambda c: c.ui.say_digits("1,sound:tt-monkeys"), r"say_digits\(\)"),
    ("letters as digits", lambda c: c.ui.say_digits("12a"), "say_digits"),
    ("CR LF in DTMF", lambda c: c.ui.send_dtmf("1\r\nHANGUP"), r"send_dtmf\(\): digits"),
    ("empty DTMF", lambda c: c.ui.send_dtmf(""), "send_dtmf"),
    ("LF in a sound", lambda c: c.ui.play("x\nHANGUP"), r"play\(\): sound"),
    ("comma in a sound", lambda c: c.ui.play("hello,sound:tt-monkeys"), "play"),
    ("empty sound", lambda c: c.ui.play(""), "play"),
    ("dial options", lambda c: c.ui.transfer("Local/5550001@from-pstn,20,D(4242)"), "transfer"),
    ("a second destination", lambda c: c.ui.transfer("PJSIP/100&PJSIP/200"), "transfer"),
    ("not a number", lambda c: c.ui.transfer("555 0100"), r"transfer\(\): destination"),
    ("NUL in speech", lambda c: c.ui.say("Hello\x00world"), r"say\(\): text .*NUL"),
    ("lone surrogate", lambda c: c.ui.say("Hello \ud800"), r"say\(\): text is not valid"),
    ("NUL in a prompt", lambda c: c.ui.prompt("Name?\x00"), "prompt"),
    ("finish key", lambda c: c.ui.gather(finish_on_key="x"), "finish_on_key"),
    ("no digits", lambda c: c.ui.gather(num_digits=0), "num_digits"),
    ("no time", lambda c: c.ui.gather(timeout=float("nan")), "timeout"),
    ("record path", lambda c: c.ui.record("/tmp/a,b"), r"record\(\): path"),
]


@pytest.mark.parametrize("transport", ["ari", "agi"])
@pytest.mark.parametrize(("what", "verb", "message"), REFUSED, ids=[r[0] for r in REFUSED])
async def test_refused_before_anything_reaches_asterisk(
    tmp_path: Path, transport: str, what: str, verb: Verb, message: str
) -> None:
    call = fake_call(tmp_path, transport=transport)
    with pytest.raises(ValueError, match=message):
        await verb(call)
    control = call.control
    assert (control.played, control.sent_dtmf, control.transferred, control.recorded) == (
        [],
        [],
        [],
        [],
    )
    assert call.tts.texts == []


async def test_what_the_verbs_accept_still_works(tmp_path: Path) -> None:
    call = fake_call(tmp_path)
    await call.ui.say_digits("42*#")
    await call.ui.send_dtmf("1A#")
    await call.ui.transfer("+15550100")
    await call.ui.transfer("PJSIP/5550100@pstn")
    await call.ui.play("https://example.invalid/a%2Cb.wav")
    await call.ui.say("Line one.\nLine two, with commas; and ümlauts.")
    assert call.control.sent_dtmf == ["1A#"]
    assert call.control.transferred == ["+15550100", "PJSIP/5550100@pstn"]
    assert call.heard[0] == "digits:42*#"


async def test_a_text_with_a_nul_is_refused_not_cut() -> None:
    sent: list[str] = []

    async def send(to: str, sender: str, body: str) -> None:
        sent.append(body)

    ui = TextUI(send, remote_number="5550100", local_number="5551234")
    with pytest.raises(ValueError, match=r"say\(\): text contains a NUL"):
        await ui.say("pay\x00 nothing")
    assert sent == []
