"""Outgoing calls and texts: a Communicator reaching VirtualPhones through the simulated PSTN."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import pytest

from asteramisk.asterisk.ari import ARIClient
from asteramisk.communicator import Communicator
from asteramisk.exceptions import CallFailedException, ConfigurationError, HangupException
from asteramisk.server import Server
from asteramisk.testing import SandboxSettings
from asteramisk.testing.phone import VirtualPhone
from asteramisk.ui import TextUI, VoiceUI

OUR_NUMBER = "5551234"


@pytest.fixture
async def communicator(asterisk: SandboxSettings) -> AsyncIterator[Communicator]:
    async with Communicator(callerid_number=OUR_NUMBER, callerid_name="Dental Clinic") as c:
        yield c


@pytest.fixture
async def phone(asterisk: SandboxSettings) -> AsyncIterator[VirtualPhone]:
    async with VirtualPhone("5550150", vocabulary=["your appointment is tomorrow"]) as p:
        yield p


async def test_answered_call_gives_a_voice_ui_whose_verbs_work(
    communicator: Communicator, phone: VirtualPhone
) -> None:
    placing = asyncio.create_task(communicator.make_call("5550150", timeout=20))
    incoming = await phone.incoming_call()
    assert incoming.caller_number == OUR_NUMBER
    assert incoming.caller_name == "Dental Clinic"
    assert not placing.done()  # still ringing: make_call waits for the answer
    call = await incoming.answer()
    ui = await asyncio.wait_for(placing, 10)
    assert isinstance(ui, VoiceUI)
    assert (ui.remote_number, ui.local_number, ui.answered) == ("5550150", OUR_NUMBER, True)

    await ui.answer()  # harmless on a call we placed
    await ui.say("Your appointment is tomorrow")
    assert await call.hear(timeout=10) == "your appointment is tomorrow"
    digits = asyncio.create_task(ui.gather(num_digits=2, timeout=10))
    await call.press("42")
    assert await digits == "42"
    await ui.hangup()
    await call.wait_hangup(5)


async def test_per_call_caller_id(communicator: Communicator, phone: VirtualPhone) -> None:
    placing = asyncio.create_task(
        communicator.make_call(
            "5550150", callerid_number="5559876", callerid_name="Night Desk", timeout=20
        )
    )
    incoming = await phone.incoming_call()
    assert (incoming.caller_number, incoming.caller_name) == ("5559876", "Night Desk")
    await incoming.answer()
    ui = await asyncio.wait_for(placing, 10)
    assert ui.local_number == "5559876"
    await ui.hangup()


async def test_busy_call_raises_with_cause_17(
    communicator: Communicator, phone: VirtualPhone
) -> None:
    placing = asyncio.create_task(communicator.make_call("5550150", timeout=20))
    incoming = await phone.incoming_call()
    await incoming.reject()  # busy
    with pytest.raises(CallFailedException) as failure:
        await asyncio.wait_for(placing, 10)
    assert failure.value.cause == 17
    assert "busy" in str(failure.value)


async def test_unanswered_call_raises_with_cause_19_after_the_timeout(
    communicator: Communicator, phone: VirtualPhone
) -> None:
    started = time.monotonic()
    placing = asyncio.create_task(communicator.make_call("5550150", timeout=3))
    incoming = await phone.incoming_call()  # rings; the phone lets it ring
    with pytest.raises(CallFailedException) as failure:
        await asyncio.wait_for(placing, 15)
    assert failure.value.cause == 19
    assert 2.5 < time.monotonic() - started < 8
    await asyncio.wait_for(incoming.ended.wait(), 5)  # and the phone stopped ringing


async def test_cancelling_make_call_hangs_up_the_ringing_call(
    communicator: Communicator, phone: VirtualPhone
) -> None:
    placing = asyncio.create_task(communicator.make_call("5550150", timeout=30))
    incoming = await phone.incoming_call()
    placing.cancel()
    with pytest.raises(asyncio.CancelledError):
        await placing
    await asyncio.wait_for(incoming.ended.wait(), 5)


async def test_cancelling_make_call_while_asterisk_originates_leaves_no_call(
    communicator: Communicator, phone: VirtualPhone
) -> None:
    """A cancel that lands between the originate request and Asterisk's answer to it:
    the hangup must wait for the channel, or the phone rings on for the whole timeout."""
    async with ARIClient(app="asteramisk-leak-check") as ari:

        async def calls() -> dict[str, str]:
            return {
                channel.id: channel.json["name"]
                for channel in await ari.request("channels", "list")
                if channel.json["name"].startswith("PJSIP/")
            }

        for attempt in range(20):
            before = await calls()  # those of other tests, still being torn down
            placing = asyncio.create_task(communicator.make_call("5550150", timeout=30))
            await asyncio.sleep(attempt * 0.00025)
            placing.cancel()
            with pytest.raises(asyncio.CancelledError):
                await placing
            deadline = time.monotonic() + 5
            while new := [name for id_, name in (await calls()).items() if id_ not in before]:
                assert time.monotonic() < deadline, f"attempt {attempt}: {new} still up"
                await asyncio.sleep(0.05)


async def test_caller_hanging_up_is_a_hangup_for_the_app(
    communicator: Communicator, phone: VirtualPhone
) -> None:
    placing = asyncio.create_task(communicator.make_call("5550150", timeout=20))
    call = await (await phone.incoming_call()).answer()
    ui = await asyncio.wait_for(placing, 10)
    await call.hangup()
    with pytest.raises(HangupException):
        for _ in range(20):  # the next verb after the hangup raises
            await ui.gather(num_digits=1, timeout=0.5)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"recipient_number": "555\r\nAction: Originate"}, "not a phone number"),
        ({"channel": "PJSIP/100,Local/666"}, "not a dial string"),
        ({"recipient_number": "5550150", "callerid_name": 'Evil" <666>'}, "quote"),
        ({}, "recipient_number or channel"),
    ],
)
async def test_bad_call_arguments_are_refused_clearly(
    communicator: Communicator, kwargs: dict[str, str], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        await communicator.make_call(**kwargs)  # type: ignore[arg-type]


async def test_outgoing_text_conversation_gets_its_reply(
    communicator: Communicator, phone: VirtualPhone
) -> None:
    async with Server(port=0) as server:
        await server.register_extension(OUR_NUMBER, call_handler=_unused)  # no text handler
        ui = await communicator.make_conversation("5550150", contact_method="text")
        assert isinstance(ui, TextUI)
        asking = asyncio.create_task(ui.prompt("Reply YES to confirm 9:00 tomorrow"))
        assert await phone.receive_text() == "Reply YES to confirm 9:00 tomorrow"
        assert phone.last_text_from == OUR_NUMBER
        await phone.send_text(OUR_NUMBER, "YES 👍")
        assert await asyncio.wait_for(asking, 10) == "YES 👍"
        await ui.say("See you then.")
        assert await phone.receive_text() == "See you then."
        await ui.hangup()


async def test_reply_to_an_outgoing_text_without_a_server_is_a_clear_error(
    communicator: Communicator, phone: VirtualPhone
) -> None:
    ui = await communicator.make_text("5550150")
    await ui.say("Your order has shipped.")  # sending needs no server
    assert await phone.receive_text() == "Your order has shipped."
    with pytest.raises(ConfigurationError, match="Server serving that number"):
        await ui.prompt("Any questions?", timeout=2)


async def test_without_a_caller_id_number_the_error_says_how_to_set_one(
    asterisk: SandboxSettings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("SYSTEM_PHONE_NUMBER", raising=False)
    with pytest.raises(ConfigurationError, match="SYSTEM_PHONE_NUMBER"):
        Communicator()


async def _unused(ui: VoiceUI) -> None:
    raise AssertionError("no call is expected")
