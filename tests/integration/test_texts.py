"""Text conversations end to end: VirtualPhones texting a Server through the simulated PSTN."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest

from asteramisk.asterisk.ami import AMIClient
from asteramisk.config import config
from asteramisk.exceptions import TextLostError
from asteramisk.server import BUSY_TEXT, Server
from asteramisk.testing import SandboxSettings
from asteramisk.testing.phone import VirtualPhone
from asteramisk.ui import TextUI

from .test_server_calls import my_call_handler


# The README's text handler, as written there.
# fmt: off
async def my_text_handler(ui: TextUI):  # type: ignore[no-untyped-def]
    await ui.answer()
    await ui.say('Hello, world!')
    name = await ui.prompt('What is your name?')
    await ui.say(f"Hello, {name}")
    await ui.say(f"Goodbye, {name}")
    await ui.hangup()
# fmt: on


async def echo(ui: TextUI) -> None:
    await ui.answer()
    await ui.say(f"echo: {ui.first_message}")
    while True:
        await ui.say(f"echo: {await ui.prompt('')}")


async def greeter(ui: TextUI) -> None:
    name = await ui.prompt("What is your name?")
    await ui.say(f"Hello, {name}, this is {ui.local_number}")


@pytest.fixture
async def phone(asterisk: SandboxSettings) -> AsyncIterator[VirtualPhone]:
    async with VirtualPhone("5550101") as p:
        yield p


async def test_readme_text_handler_runs_as_written(server: Server, phone: VirtualPhone) -> None:
    await server.register_extension(
        "3000", call_handler=my_call_handler, text_handler=my_text_handler
    )
    # Texts sent back to back are separate SIP MESSAGEs, and Asterisk hands received ones to
    # the dialplan from a pool of threads: like SMS, two of them may arrive in either order
    # (seen once in CI). What the phone can count on is getting each of them.
    await phone.send_text("3000", "Hi")
    assert await received(phone, 2) == ["Hello, world!", "What is your name?"]
    assert phone.last_text_from == "3000"
    await phone.send_text("3000", "Alice")
    assert await received(phone, 2) == ["Goodbye, Alice", "Hello, Alice"]


async def received(phone: VirtualPhone, count: int) -> list[str]:
    """The next ``count`` texts the phone gets, sorted."""
    return sorted([await phone.receive_text() for _ in range(count)])


@pytest.mark.parametrize(
    "body",
    [
        "Grüße, 你好, emoji 😀🎉 and an em dash —",
        "x" * 1000,
        "line one\r\nAction: Originate\r\nChannel: Local/666@default\r\n\r\nline two",
        'quotes " and \\ backslashes, commas, (parentheses) and ${EXTEN}',
    ],
    ids=["unicode", "1000-chars", "crlf-ami-injection", "quotes-and-dialplan-syntax"],
)
async def test_hostile_bodies_arrive_intact_and_inject_nothing(
    server: Server, phone: VirtualPhone, body: str
) -> None:
    await server.register_extension("3001", text_handler=echo)
    await phone.send_text("3001", body)
    assert await phone.receive_text() == f"echo: {body}"
    await phone.send_text("3001", body)  # in the conversation, through prompt()
    assert await phone.receive_text() == f"echo: {body}"
    async with AMIClient() as ami:
        channels = await ami.command("core show channels concise")
    assert "666" not in channels  # nothing was originated by the body


async def test_a_reply_whose_body_asterisk_drops_fails_loudly(
    server: Server, phone: VirtualPhone
) -> None:
    """Asterisk's PJSIP drops MESSAGE bodies of 1024 bytes or more: the prompt waiting for
    such a reply raises TextLostError (it returned '' before); 1023 bytes arrive whole."""
    outcome: asyncio.Queue[object] = asyncio.Queue()

    async def story(ui: TextUI) -> None:
        while True:
            try:
                outcome.put_nowait(await ui.prompt("Tell me more"))
            except TextLostError as exc:
                outcome.put_nowait(exc)
                await ui.say("That was too long for us, sorry.")

    await server.register_extension("3009", text_handler=story)
    await phone.send_text("3009", "Hi")
    assert await phone.receive_text() == "Tell me more"
    await phone.send_text("3009", "y" * 1023)
    assert await asyncio.wait_for(outcome.get(), 15) == "y" * 1023
    assert await phone.receive_text() == "Tell me more"
    await phone.send_text("3009", "z" * 1500)
    lost = await asyncio.wait_for(outcome.get(), 15)
    assert isinstance(lost, TextLostError) and lost.length == 1500
    assert "1024 bytes" in str(lost) and "5550101" in str(lost)
    # the apology and the next prompt are two MESSAGEs: either may arrive first (see above)
    assert await received(phone, 2) == ["Tell me more", "That was too long for us, sorry."]


async def test_a_long_text_goes_out_whole(server: Server, phone: VirtualPhone) -> None:
    """5,000 characters leave through ARI with the body in the request, not the URL (where
    Asterisk refused about 3,500); the phone's side of the sandbox sees its full size."""
    reply = "r" * 5000

    async def long_reply(ui: TextUI) -> None:
        await ui.say(reply)

    await server.register_extension("3010", text_handler=long_reply)
    await phone.send_text("3010", "Hi")
    await phone.receive_text()  # the body itself is dropped by the sandbox's own PJSIP
    assert phone.last_text_length == len(reply)


async def test_texts_sent_while_no_app_serves_the_number_are_kept_and_handed_over(
    server: Server, phone: VirtualPhone, asterisk: SandboxSettings
) -> None:
    """The dialplan keeps them in Asterisk's database; the first server to register the
    number gets them, in order, and a second one none of them."""
    async with AMIClient() as ami:

        async def kept(count: int) -> None:
            for _ in range(50):
                shown = await ami.command("database show asteramisk_texts/3020")
                if shown.count("3020/") == count:
                    return
                await asyncio.sleep(0.1)
            raise AssertionError(f"not {count} kept texts: {shown}")

        # One after the other: like SMS, two texts sent at once may reach the dialplan in
        # either order (Asterisk hands them to it from a pool of threads).
        await phone.send_text("3020", "first, while nobody serves")
        await kept(1)
        await phone.send_text("3020", "second")
        await kept(2)
        got: asyncio.Queue[str] = asyncio.Queue()

        async def handler(ui: TextUI) -> None:
            got.put_nowait(ui.first_message)
            got.put_nowait(await ui.prompt(""))

        await server.register_extension("3020", text_handler=handler)
        assert await asyncio.wait_for(got.get(), 10) == "first, while nobody serves"
        assert await asyncio.wait_for(got.get(), 10) == "second"
        assert "3020/" not in await ami.command("database show asteramisk_texts/3020")
        async with Server(port=0) as other:
            other_got: list[str] = []

            async def other_handler(ui: TextUI) -> None:
                other_got.append(ui.first_message)

            await other.register_extension("3020", text_handler=other_handler)
            await asyncio.sleep(0.5)
            assert other_got == []  # each kept text is handed over once


async def test_conversations_are_kept_apart(server: Server, asterisk: SandboxSettings) -> None:
    await server.register_extension("3002", text_handler=greeter)
    await server.register_extension("3003", text_handler=greeter)
    async with VirtualPhone("5550102") as alice, VirtualPhone("5550103") as bob:
        # two phones text one number at once
        await asyncio.gather(alice.send_text("3002", "hi"), bob.send_text("3002", "hi"))
        assert await alice.receive_text() == "What is your name?"
        assert await bob.receive_text() == "What is your name?"
        await bob.send_text("3002", "Bob")
        await alice.send_text("3002", "Alice")
        assert await alice.receive_text() == "Hello, Alice, this is 3002"
        assert await bob.receive_text() == "Hello, Bob, this is 3002"
        # one phone texts two numbers: two conversations
        await alice.send_text("3002", "again")
        assert await alice.receive_text() == "What is your name?"
        await alice.send_text("3003", "hello")
        assert await alice.receive_text() == "What is your name?"
        await alice.send_text("3003", "Alice at 3003")
        assert await alice.receive_text() == "Hello, Alice at 3003, this is 3003"
        await alice.send_text("3002", "Alice at 3002")
        assert await alice.receive_text() == "Hello, Alice at 3002, this is 3002"


async def test_text_menus_read_as_numbered_lists(server: Server, phone: VirtualPhone) -> None:
    chosen: asyncio.Future[object] = asyncio.get_running_loop().create_future()

    async def handler(ui: TextUI) -> None:
        chosen.set_result(await ui.choose("Which day?", ["Monday", "Tuesday"]))

    await server.register_extension("3004", text_handler=handler)
    await phone.send_text("3004", "book")
    assert await phone.receive_text() == "Which day?\n1. Monday\n2. Tuesday\nReply with the number."
    await phone.send_text("3004", "2")
    assert await asyncio.wait_for(chosen, 10) == "Tuesday"


async def test_a_full_server_passes_new_conversations_on_or_says_it_is_busy(
    asterisk: SandboxSettings,
) -> None:
    def serving(name: str) -> Callable[[TextUI], Awaitable[None]]:
        async def handler(ui: TextUI) -> None:
            await ui.say(f"{name} here")
            await ui.prompt("")

        return handler

    config.MAX_CONCURRENT_CONVERSATIONS = 1
    try:
        async with (
            Server(port=0) as first,
            Server(port=0) as second,
            VirtualPhone("5550104") as alice,
            VirtualPhone("5550105") as bob,
            VirtualPhone("5550106") as carol,
        ):
            await first.register_extension("3005", text_handler=serving("first"))
            await second.register_extension("3005", text_handler=serving("second"))
            await alice.send_text("3005", "hi")
            assert await alice.receive_text() == "first here"
            await bob.send_text("3005", "hi")  # the first is full: the second answers
            assert await bob.receive_text() == "second here"
            await carol.send_text("3005", "hi")  # both full: the last says so
            assert await carol.receive_text() == BUSY_TEXT
            await alice.send_text("3005", "bye")  # conversations in progress go on
            with pytest.raises(TimeoutError):
                await carol.receive_text(timeout=1)  # and nothing more reached carol
    finally:
        del config.MAX_CONCURRENT_CONVERSATIONS


async def test_calls_and_texts_in_one_context_each_reach_their_handler(
    asterisk: SandboxSettings, phone: VirtualPhone
) -> None:
    """The README's configuration has calls and texts in one context (from-pstn): two
    instances' call and text entries then alternate in one number's priorities, and a text
    walks past the call entries, a call past the text entries. (The sandbox's trunk sends
    texts to their own context: a step there sends this number's texts on to from-pstn.)"""
    context = asterisk.call_context
    async with AMIClient() as ami:
        forward = {
            "Action": "DialplanExtensionAdd",
            "Context": asterisk.text_context,
            "Extension": "3010",
            "Priority": "1",
            "Application": "Goto",
            "ApplicationData": f"{context},3010,1",
            "Replace": "yes",
        }
        await ami.action(forward)
        config.ASTERISK_INCOMING_TEXT_CONTEXT = context
        try:
            first, second = await Server.create(port=0), await Server.create(port=0)
        finally:
            config.ASTERISK_INCOMING_TEXT_CONTEXT = asterisk.text_context
        answered: list[str] = []
        texts: asyncio.Queue[tuple[str, str]] = asyncio.Queue()
        release = asyncio.Event()

        def handlers(name: str) -> tuple[Callable[..., Awaitable[None]], ...]:
            async def call(ui: object) -> None:
                answered.append(name)
                await ui.answer()  # type: ignore[attr-defined]
                await release.wait()  # held: the next call goes to the other instance

            async def text(ui: TextUI) -> None:
                await texts.put((name, ui.first_message))

            return call, text

        try:
            for name, server in (("first", first), ("second", second)):
                call, text = handlers(name)
                await server.register_extension("3010", call_handler=call, text_handler=text)
            shown = await ami.command(f"dialplan show 3010@{context}")
            assert shown.count("asteramisk-take,stasis") == 2 and shown.count("/text,3010") == 2
            await phone.send_text("3010", "hello")
            assert await asyncio.wait_for(texts.get(), 10) == ("first", "hello")
            # Asterisk's one message channel, reused for every text, joins no group: it would
            # count as a call of that instance for as long as Asterisk runs
            assert "Message/" not in await ami.command("group show channels")
            calls = [await phone.call("3010") for _ in range(2)]
            assert sorted(answered) == ["first", "second"]  # the least busy takes each
            release.set()
            for held in calls:
                await held.hangup()
        finally:
            release.set()
            await first.close()
            await second.close()
            await ami.action(
                {"Action": "DialplanExtensionRemove", "Context": asterisk.text_context,
                 "Extension": "3010"},
                check=False,
            )  # fmt: skip
