"""Answering-machine detection on outgoing calls, on the sandbox: a VirtualPhone answers like
a person, like a voicemail (a greeting, then a beep) or with silence."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest

from asteramisk.communicator import Communicator
from asteramisk.exceptions import HangupException
from asteramisk.testing import SandboxSettings
from asteramisk.testing.phone import VirtualPhone
from asteramisk.testing.phone_call import PhoneCall
from asteramisk.ui import VoiceUI

GREETING = (
    "Hi, you have reached the voicemail of John Smith. I cannot take your call right now. "
    "Please leave your name, your number and a short message after the tone."
)


@pytest.fixture
async def communicator(asterisk: SandboxSettings) -> AsyncIterator[Communicator]:
    async with Communicator(callerid_number="5551234") as c:
        yield c


@pytest.fixture
async def phone(asterisk: SandboxSettings) -> AsyncIterator[VirtualPhone]:
    async with VirtualPhone("5550160", vocabulary=["please hold for your dentist"]) as p:
        yield p


async def placed(
    communicator: Communicator, phone: VirtualPhone, answer: Callable[[PhoneCall], Awaitable[None]]
) -> tuple[VoiceUI, PhoneCall, float]:
    """make_call with detection; the phone answers and does ``answer`` (in a task of its
    own, which goes on). Returns the call's UI, the phone's side, and the seconds from the
    phone's answer to make_call's return."""
    placing = asyncio.create_task(
        communicator.make_call("5550160", timeout=20, detect_machine=True)
    )
    call = await (await phone.incoming_call()).answer()
    answered = time.monotonic()
    answering.add(asyncio.create_task(answer(call)))
    ui = await asyncio.wait_for(placing, 20)
    return ui, call, time.monotonic() - answered


answering: set[asyncio.Task[None]] = set()


@pytest.fixture(autouse=True)
async def answering_ends() -> AsyncIterator[None]:
    yield
    for task in answering:
        task.cancel()
    await asyncio.gather(*answering, return_exceptions=True)
    answering.clear()


async def test_a_person_who_says_hello_is_human(
    communicator: Communicator, phone: VirtualPhone
) -> None:
    async def hello(call: PhoneCall) -> None:
        await asyncio.sleep(0.5)
        await call.say("Hello?")

    ui, call, decided = await placed(communicator, phone, hello)
    assert ui.answered_by == "human" and decided < 4.5
    await ui.say("Please hold for your dentist")
    assert await call.hear(timeout=10) == "please hold for your dentist"
    await ui.hangup()


async def test_a_voicemail_is_a_machine_and_the_message_goes_after_its_beep(
    communicator: Communicator, phone: VirtualPhone
) -> None:
    beep_ended = 0.0

    async def voicemail(call: PhoneCall) -> None:
        nonlocal beep_ended
        await call.say(GREETING)
        await call.beep()
        beep_ended = time.monotonic()

    ui, call, decided = await placed(communicator, phone, voicemail)
    assert ui.answered_by == "machine" and decided < 4.5
    assert not beep_ended  # decided during the greeting
    assert await ui.wait_for_beep(timeout=30)
    assert beep_ended and time.monotonic() - beep_ended < 1.0  # just after the beep ended
    await ui.say("Please hold for your dentist")
    assert await call.hear(timeout=10) == "please hold for your dentist"
    await ui.hangup()


async def test_silence_is_unknown_and_a_hangup_meanwhile_is_seen(
    communicator: Communicator, phone: VirtualPhone
) -> None:
    async def nothing(call: PhoneCall) -> None:
        return None

    ui, _, decided = await placed(communicator, phone, nothing)
    assert ui.answered_by == "unknown" and 2.0 < decided < 4.5
    await ui.hangup()

    async def hang_up(call: PhoneCall) -> None:
        await asyncio.sleep(0.5)
        await call.hangup()

    ui, _, decided = await placed(communicator, phone, hang_up)
    assert ui.answered_by == "unknown" and decided < 3.0
    with pytest.raises(HangupException):
        await ui.say("Hello?")
