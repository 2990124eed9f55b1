"""Incoming calls end to end: a VirtualPhone calls the README's app through the simulated PSTN."""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest

from asteramisk.asterisk.ami import AMIClient
from asteramisk.config import config
from asteramisk.exceptions import HangupException
from asteramisk.server import Server
from asteramisk.testing import SandboxSettings
from asteramisk.testing.phone import PhoneCall, VirtualPhone
from asteramisk.ui import TextUI, VoiceUI

# Everything the apps below may say, and every digit, so that recognition must pick the right
# one among wrong alternatives.
VOCABULARY = (
    "hello world please pick a number between and ten you pressed for option press "
    "chosen we are sorry something went wrong goodbye zero one two three four five six seven "
    "eight nine still here"
).split()

callbacks_run: list[str] = []


async def async_callback_1() -> str:
    callbacks_run.append("1")
    return "one"


async def async_callback_2() -> str:
    callbacks_run.append("2")
    return "two"


# The README's handler, as written there.
# fmt: off
async def my_call_handler(ui: VoiceUI):  # type: ignore[no-untyped-def]
    await ui.answer()
    await ui.say('Hello, world!')
    digit = await ui.gather("Please pick a number between 1 and 10", num_digits=1)
    await ui.say(f"You pressed {digit}")
    await ui.menu('For option 1, press 1. For option 2, press 2.', callbacks={
        '1': async_callback_1,
        '2': async_callback_2
    })
    await ui.hangup()
# fmt: on


async def hear_until(call: PhoneCall, pattern: str, timeout: float = 20.0) -> str:
    """Listen until the regular expression ``pattern`` has been heard; return all heard."""
    heard = ""
    deadline = time.monotonic() + timeout
    while not re.search(pattern, heard) and time.monotonic() < deadline and not call.ended.is_set():
        heard = f"{heard} {await call.hear(timeout=deadline - time.monotonic())}".strip()
    return heard


@pytest.fixture(params=["ari", "agi"])
def transport(request: pytest.FixtureRequest) -> str:
    """Every test of calls runs on both transports: the handler cannot tell them apart."""
    return str(request.param)


def entry(server: Server, number: str, transport: str) -> str:
    """How ``server``'s registration of ``number`` reads in ``dialplan show``."""
    if transport == "ari":  # Stasis() or AGI() through the rotation's private context
        return f"asteramisk-take,stasis,1({server.ari_app},{number},"
    return f"asteramisk-take,agi,1(agi://127.0.0.1:{server.port}/call,{number},"


@pytest.fixture
async def phone(asterisk: SandboxSettings) -> AsyncIterator[VirtualPhone]:
    async with VirtualPhone("5550100", vocabulary=VOCABULARY) as p:
        yield p


@pytest.fixture
async def server(asterisk: SandboxSettings) -> AsyncIterator[Server]:
    server = await Server.create(port=4753)
    try:
        yield server
    finally:
        await server.close()


async def test_readme_call_handler_runs_as_written(
    server: Server, phone: VirtualPhone, transport: str
) -> None:
    callbacks_run.clear()
    await server.register_extension("1234567890", call_handler=my_call_handler, transport=transport)
    call = await phone.call("1234567890")
    heard = await hear_until(call, "between one and ten")
    assert "hello world" in heard
    assert "please pick a number between one and ten" in heard
    await call.press("7")
    # "press" and "pressed" are hard to tell apart on the phone: either is accepted here.
    heard = await hear_until(call, "option two press(ed)? two")
    assert "you pressed seven" in heard
    assert re.search("for option one press(ed)? one for option two press(ed)? two", heard)
    await call.press("1")
    await call.wait_hangup(15)
    assert callbacks_run == ["1"]
    assert server.calls_served == 1


async def test_caller_number_reaches_the_handler(
    server: Server, phone: VirtualPhone, transport: str
) -> None:
    seen: asyncio.Future[tuple[str, str]] = asyncio.get_running_loop().create_future()

    async def handler(ui: VoiceUI) -> None:
        await ui.answer()
        seen.set_result((ui.remote_number, ui.local_number))

    await server.register_extension("2000", call_handler=handler, transport=transport)
    call = await phone.call("2000")
    assert await asyncio.wait_for(seen, 10) == ("5550100", "2000")
    await call.wait_hangup(10)  # the handler returned: the call is hung up


async def test_caller_hangs_up_during_say_and_server_keeps_serving(
    server: Server, phone: VirtualPhone, transport: str
) -> None:
    outcome: asyncio.Future[str] = asyncio.get_running_loop().create_future()

    async def talker(ui: VoiceUI) -> None:
        await ui.answer()
        try:
            for _ in range(20):
                await ui.say("Hello, world! Please pick a number between 1 and 10")
            outcome.set_result("finished")
        except HangupException:
            outcome.set_result("hangup")
            raise

    await server.register_extension("2001", call_handler=talker, transport=transport)
    call = await phone.call("2001")
    await call.wait_for_speech()
    await asyncio.sleep(0.5)  # well inside the sentence
    await call.hangup()
    assert await asyncio.wait_for(outcome, 10) == "hangup"
    for _ in range(50):
        if server.calls_served and not server.active_calls:
            break
        await asyncio.sleep(0.1)
    assert not server.active_calls  # nothing of that call is left
    async with AMIClient() as ami:  # nor in Asterisk, once it has seen the AGI session end
        for _ in range(50):
            channels = await ami.command("core show channels concise")
            if "2001" not in channels:
                break
            await asyncio.sleep(0.1)
    assert "2001" not in channels
    # and the next call is served
    second = await phone.call("2001")
    await second.wait_for_speech()
    await second.hangup()


async def test_handler_that_raises_apologises_and_hangs_up(
    server: Server, phone: VirtualPhone, caplog: pytest.LogCaptureFixture, transport: str
) -> None:
    async def broken(ui: VoiceUI) -> None:
        await ui.answer()
        raise RuntimeError("a bug in the app")

    await server.register_extension("2002", call_handler=broken, transport=transport)
    call = await phone.call("2002")
    heard = await hear_until(call, "goodbye")
    assert "we are sorry something went wrong goodbye" in heard
    await call.wait_hangup(10)
    assert "a bug in the app" in caplog.text


async def test_instances_share_the_calls_and_a_full_one_passes_them_on(
    asterisk: SandboxSettings,
    phone: VirtualPhone,
    transport: str,
) -> None:
    """Two instances serve one number: the least busy takes each call (Asterisk counts
    them), so held calls alternate; one at MAX_CONCURRENT_CALLS passes its turn on."""
    release = asyncio.Event()
    served_by: list[str] = []

    def handler_for(name: str) -> Callable[[VoiceUI], Awaitable[None]]:
        async def handler(ui: VoiceUI) -> None:
            served_by.append(name)
            await ui.answer()
            await release.wait()

        return handler

    config.MAX_CONCURRENT_CALLS = 2
    first = await Server.create(port=0)
    del config.MAX_CONCURRENT_CALLS
    second = await Server.create(port=0)
    try:
        await first.register_extension(
            "2003", call_handler=handler_for("first"), transport=transport
        )
        await second.register_extension(
            "2003", call_handler=handler_for("second"), transport=transport
        )
        assert second.extensions["2003"] == first.extensions["2003"] + 1  # type: ignore[operator]
        for _ in range(4):
            await phone.call("2003")
        assert sorted(served_by) == ["first", "first", "second", "second"]  # 2 each
        for _ in range(2):  # the first is full: whichever is chosen, the second answers
            await phone.call("2003")
        assert served_by.count("first") == 2 and served_by.count("second") == 4
    finally:
        release.set()
        await first.close()
        await second.close()


async def test_a_crashed_instance_does_not_swallow_calls(
    asterisk: SandboxSettings, phone: VirtualPhone, transport: str
) -> None:
    crashed = await Server.create(port=0)
    await crashed.register_extension("2004", call_handler=my_call_handler, transport=transport)
    # A crash: the process is gone without unregistering (its Stasis application and its
    # AGI port disappear with it).
    assert crashed._up is not None and crashed._ari is not None
    await crashed._up.agi.close()
    await crashed._ari.close()
    await crashed._up.ami.close()
    survivor = await Server.create(port=0)
    assert survivor._up is not None
    for _ in range(50):  # Asterisk notices the crash when the websocket drops
        if crashed.ari_app not in await survivor._up.ami.command("ari show apps"):
            break
        await asyncio.sleep(0.1)
    served = asyncio.Event()

    async def handler(ui: VoiceUI) -> None:
        await ui.answer()
        served.set()

    try:
        await survivor.register_extension("2004", call_handler=handler, transport=transport)
        await phone.call("2004")
        await asyncio.wait_for(served.wait(), 10)
    finally:
        await survivor.close()
        async with AMIClient() as ami:  # clean up the crashed instance's entry by hand
            await ami.action(
                {
                    "Action": "DialplanExtensionRemove",
                    "Context": config.ASTERISK_INCOMING_CALL_CONTEXT,
                    "Extension": "2004",
                },
                check=False,
            )


async def _never(ui: VoiceUI) -> None:
    raise AssertionError("this instance has left: it takes no call")


async def test_the_first_instance_leaving_leaves_no_gap(
    asterisk: SandboxSettings, phone: VirtualPhone, transport: str
) -> None:
    """Calls and texts walk a number's priorities one by one, and a missing one sends them
    to the context's patterns: the first of two instances closing leaves a step that passes
    them on, and the second still gets every call and text; the second closing takes all."""
    first = await Server.create(port=0)
    second = await Server.create(port=0)
    answered: list[str] = []
    texts: asyncio.Queue[str] = asyncio.Queue()

    async def handler(ui: VoiceUI) -> None:
        answered.append("second")
        await ui.answer()

    async def text_handler(ui: TextUI) -> None:
        await texts.put(ui.first_message)

    try:
        await first.register_extension("2007", call_handler=_never, transport=transport)
        await second.register_extension(
            "2007", call_handler=handler, text_handler=text_handler, transport=transport
        )
        await first.close()
        for _ in range(2):
            await phone.call("2007")
        assert answered == ["second", "second"]
        await phone.send_text("2007", "still there?")
        assert await asyncio.wait_for(texts.get(), 10) == "still there?"
        async with AMIClient() as ami:
            shown = await ami.command(f"dialplan show 2007@{asterisk.call_context}")
            assert "1. Goto(" in shown  # the pass-on step, where the first one was
            await second.close()
            shown = await ami.command(f"dialplan show 2007@{asterisk.call_context}")
            assert "'2007'" not in shown  # nothing left: no step, no sentinel
            walk = await ami.command(f"dialplan show 2007@asteramisk-walk-{asterisk.call_context}")
            assert "'2007'" not in walk
    finally:
        await first.close()
        await second.close()


async def test_close_removes_exactly_its_entries(asterisk: SandboxSettings, transport: str) -> None:
    async with AMIClient() as ami:
        context = config.ASTERISK_INCOMING_CALL_CONTEXT
        a = await Server.create(port=0)
        b = await Server.create(port=0)
        await a.register_extension("2005", call_handler=my_call_handler, transport=transport)
        await b.register_extension("2005", call_handler=my_call_handler, transport=transport)
        await a.close()
        shown = await ami.command(f"dialplan show 2005@{context}")
        assert entry(b, "2005", transport) in shown
        assert entry(a, "2005", transport) not in shown
        await b.close()
        shown = await ami.command(f"dialplan show 2005@{context}")
        assert "2005)" not in shown


async def test_numbers_come_back_after_asterisk_restart(
    server: Server, phone: VirtualPhone, restart_asterisk: Callable[[], None], transport: str
) -> None:
    async def texts(ui: object) -> None:
        pass

    await server.register_extension(
        "2006", call_handler=my_call_handler, text_handler=texts, transport=transport
    )
    await asyncio.to_thread(restart_asterisk)
    async with AMIClient() as ami:
        for _ in range(100):
            shown = await ami.command(f"dialplan show 2006@{config.ASTERISK_INCOMING_CALL_CONTEXT}")
            if entry(server, "2006", transport) in shown:
                break
            await asyncio.sleep(0.1)
    assert entry(server, "2006", transport) in shown
    async with AMIClient() as ami:  # this server's own text entry is back too
        for _ in range(50):
            texts_shown = await ami.command(
                f"dialplan show 2006@{config.ASTERISK_INCOMING_TEXT_CONTEXT}"
            )
            if f"AGI(agi://127.0.0.1:{server.port}/text,2006)" in texts_shown:
                break
            await asyncio.sleep(0.1)
    assert f"AGI(agi://127.0.0.1:{server.port}/text,2006)" in texts_shown
    if transport == "ari":
        assert server._ari is not None
        await server._ari.wait_connected(10)  # the Stasis application is back too
    async with VirtualPhone(vocabulary=VOCABULARY) as fresh:  # the old one's dialplan is gone
        call = await fresh.call("2006")
        assert "hello world" in await hear_until(call, "hello world")
        await call.hangup()


async def test_bad_numbers_and_transports_are_refused(server: Server) -> None:
    for bad in ("12 34", "1234\r\nAction: Originate", "", "12,34"):
        with pytest.raises(ValueError, match="phone number"):
            await server.register_extension(bad, call_handler=my_call_handler)
    with pytest.raises(ValueError, match="transport"):
        await server.register_extension("2007", call_handler=my_call_handler, transport="sip")
