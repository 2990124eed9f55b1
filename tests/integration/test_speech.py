"""Answers by voice: a VirtualPhone speaks, the app's prompt hears it (ARI + AudioSocket)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import pytest

from asteramisk.exceptions import HangupException
from asteramisk.server import Server
from asteramisk.testing import SandboxSettings
from asteramisk.testing.phone import VirtualPhone
from asteramisk.ui import VoiceUI

from .test_voice_verbs import serve_once

CHOICES = ["book a table", "cancel my order", "talk to a person"]


@pytest.fixture
async def phone(asterisk: SandboxSettings) -> AsyncIterator[VirtualPhone]:
    async with VirtualPhone("5550130", vocabulary=["what would you like", "sorry"]) as p:
        yield p


@pytest.mark.parametrize("transport", ["ari", "agi"])
async def test_prompt_hears_the_callers_words(
    server: Server, phone: VirtualPhone, transport: str
) -> None:
    """Over ARI the audio streams from a snoop channel, over AGI from EXEC AudioSocket."""

    async def handler(ui: VoiceUI) -> str:
        await ui.answer()
        return await ui.prompt("What would you like?", phrases=CHOICES, timeout=10)

    result = await serve_once(server, phone, transport, "2201", handler)
    call = await phone.call("2201")
    assert await call.hear(timeout=10) == "what would you like"
    await call.say("cancel my order")
    assert await asyncio.wait_for(result, 15) == "cancel my order"


async def test_prompt_waits_for_the_caller_to_finish_not_a_fixed_time(
    server: Server, phone: VirtualPhone
) -> None:
    """A long answer, with a short pause inside, comes back whole."""

    async def handler(ui: VoiceUI) -> tuple[str, float]:
        await ui.answer()
        await ui.say("What would you like?")
        started = time.monotonic()
        heard = await ui.listen(phrases=CHOICES, timeout=10)
        return heard, time.monotonic() - started

    result = await serve_once(server, phone, "ari", "2202", handler)
    call = await phone.call("2202")
    await call.hear(timeout=10)
    await call.say("book a table", wait=False)
    await call.say("talk to a person")
    heard, _ = await asyncio.wait_for(result, 20)
    assert heard == "book a table talk to a person"


async def test_no_answer_asks_again_then_gives_up(server: Server, phone: VirtualPhone) -> None:
    async def handler(ui: VoiceUI) -> str:
        await ui.answer()
        return await ui.prompt("What would you like?", timeout=1.5, retries=1)

    result = await serve_once(server, phone, "ari", "2203", handler)
    call = await phone.call("2203")
    assert await call.hear(timeout=10) == "what would you like"
    assert await call.hear(timeout=10) == "what would you like"  # asked again
    assert await asyncio.wait_for(result, 10) == ""


async def test_keys_answer_a_prompt_too(server: Server, phone: VirtualPhone) -> None:
    async def handler(ui: VoiceUI) -> str:
        await ui.answer()
        return await ui.prompt("What would you like?", timeout=5)

    result = await serve_once(server, phone, "ari", "2204", handler)
    call = await phone.call("2204")
    await call.hear(timeout=10)
    await call.press("42#")
    assert await asyncio.wait_for(result, 10) == "42"


async def test_speaking_stops_what_the_app_says(server: Server, phone: VirtualPhone) -> None:
    long_text = "Sorry. " * 30

    async def handler(ui: VoiceUI) -> float:
        await ui.answer()
        await ui.listen(timeout=0.1)  # the app listens from now on
        started = time.monotonic()
        await ui.say(long_text)
        return time.monotonic() - started

    result = await serve_once(server, phone, "ari", "2205", handler)
    call = await phone.call("2205")
    await call.wait_for_speech()
    await call.say("talk to a person", wait=False)
    spoken = await asyncio.wait_for(result, 30)
    assert spoken < 8  # said whole, it lasts over 20 s


@pytest.mark.parametrize("transport", ["ari", "agi"])
async def test_gather_takes_digits_said_or_pressed(
    server: Server, phone: VirtualPhone, transport: str
) -> None:
    async def handler(ui: VoiceUI) -> tuple[str, str, str]:
        await ui.answer()
        said = await ui.gather("What would you like?", num_digits=4, timeout=10, speech=True)
        pressed = await ui.gather("What would you like?", num_digits=4, timeout=10, speech=True)
        await ui.say("Sorry")  # the channel is the app's again after listening (AGI)
        return said, pressed, await ui.control.variable("CHANNEL(state)") or ""

    result = await serve_once(server, phone, transport, "2206", handler)
    call = await phone.call("2206")
    assert await call.hear(timeout=10) == "what would you like"
    # digit by digit, as a caller reads a code (moonshine hears piper's run-together "four
    # two oh nine" as "Fourteen, one nine": free recognition of fast digit strings is weak)
    await call.say("four, two, oh, nine")
    assert await call.hear(timeout=15) == "what would you like"
    await call.press("1234")
    assert await call.hear(timeout=15) == "sorry"
    assert await asyncio.wait_for(result, 15) == ("4209", "1234", "Up")


@pytest.mark.parametrize("transport", ["ari", "agi"])
async def test_caller_hanging_up_while_the_app_listens_is_a_hangup(
    server: Server, phone: VirtualPhone, transport: str
) -> None:
    async def handler(ui: VoiceUI) -> str:
        await ui.answer()
        return await ui.prompt("What would you like?", phrases=CHOICES, timeout=20)

    result = await serve_once(server, phone, transport, "2207", handler)
    call = await phone.call("2207")
    assert await call.hear(timeout=10) == "what would you like"
    await asyncio.sleep(0.5)  # the app is listening now
    await call.hangup()
    with pytest.raises(HangupException):
        await asyncio.wait_for(result, 10)
    # and the number still answers the next call
    result = await serve_once(server, phone, transport, "2207", handler)
    call = await phone.call("2207")
    assert await call.hear(timeout=10) == "what would you like"
    await call.say("talk to a person")
    assert await asyncio.wait_for(result, 15) == "talk to a person"
