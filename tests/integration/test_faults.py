"""Faults on real connections (asteramisk.testing.faults.FaultProxy): nothing stuck after an
ARI outage, an AMI cut, a FastAGI or an AudioSocket connection cut, the other calls untouched,
nothing left behind."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest

from asteramisk.agi import AGI, core
from asteramisk.asterisk.ami import AMIClient
from asteramisk.config import config
from asteramisk.events import Reconnected
from asteramisk.exceptions import AsteriskConnectionError, HangupException
from asteramisk.media.audio_server import AudioSocketServer
from asteramisk.server import Server
from asteramisk.testing import SandboxSettings
from asteramisk.testing.faults import FaultProxy
from asteramisk.testing.phone import VirtualPhone
from asteramisk.ui import TextUI, VoiceUI

from .conftest import AGICalls

SENTENCE = "Thank you for calling. Please hold while we find someone to help you today."


def talker(outcome: asyncio.Future[str]) -> Callable[[VoiceUI], Awaitable[None]]:
    """A handler that says SENTENCE until the caller hangs up, then sets ``outcome``."""

    async def handler(ui: VoiceUI) -> None:
        await ui.answer()
        try:
            while True:
                await ui.say(SENTENCE)
        except HangupException:
            if not outcome.done():
                outcome.set_result("hangup")
            raise

    return handler


@pytest.fixture
async def phone(asterisk: SandboxSettings) -> AsyncIterator[VirtualPhone]:
    async with VirtualPhone("5550180", vocabulary=["thank", "you", "for", "calling"]) as p:
        yield p


@contextlib.asynccontextmanager
async def behind_proxy(
    asterisk: SandboxSettings, setting: str, port: int
) -> AsyncIterator[tuple[Server, FaultProxy]]:
    """A Server whose connection to Asterisk's ``port`` (named by ``setting``) goes through
    a fault proxy."""
    async with FaultProxy(asterisk.host, port) as proxy:
        setattr(config, setting, proxy.port)
        try:
            async with Server(port=0) as server:
                yield server, proxy
        finally:
            setattr(config, setting, port)


@pytest.fixture
async def proxied(asterisk: SandboxSettings) -> AsyncIterator[tuple[Server, FaultProxy]]:
    """A Server whose ARI connection (http and websocket) goes through a fault proxy."""
    async with behind_proxy(asterisk, "ASTERISK_ARI_PORT", asterisk.ari_port) as pair:
        yield pair


async def test_a_caller_who_hangs_up_during_an_ari_outage_is_told_after_it(
    proxied: tuple[Server, FaultProxy], phone: VirtualPhone
) -> None:
    server, proxy = proxied
    reconnected = watch_reconnects(server)
    outcome: asyncio.Future[str] = asyncio.get_running_loop().create_future()
    await server.register_extension("2501", call_handler=talker(outcome))
    call = await phone.call("2501")
    await call.wait_for_speech()
    proxy.down()  # the events of what follows are lost
    await call.hangup()
    await asyncio.sleep(6)
    assert not outcome.done()  # nothing could tell the app yet
    proxy.up()
    assert await asyncio.wait_for(outcome, 10) == "hangup"
    assert await asyncio.wait_for(reconnected.get(), 5) == "ari"
    for _ in range(50):
        if not server.active_calls:
            break
        await asyncio.sleep(0.1)
    assert not server.active_calls  # the server no longer counts the call


async def test_a_say_whose_end_fell_in_an_ari_outage_returns_after_it(
    proxied: tuple[Server, FaultProxy], phone: VirtualPhone
) -> None:
    server, proxy = proxied
    said: asyncio.Future[float] = asyncio.get_running_loop().create_future()

    async def handler(ui: VoiceUI) -> None:
        await ui.answer()
        await ui.say("Thank you for calling.")
        said.set_result(asyncio.get_running_loop().time())
        await ui.say("Thank you for calling.")  # and the call goes on

    await server.register_extension("2502", call_handler=handler)
    call = await phone.call("2502")
    await call.wait_for_speech()
    proxy.down()  # the PlaybackFinished of that sentence falls in here
    await asyncio.sleep(5)
    assert not said.done()
    back = asyncio.get_running_loop().time()
    proxy.up()
    assert await asyncio.wait_for(said, 10) - back < 8
    assert "thank you for calling" in await call.hear(timeout=10)
    await call.wait_hangup(15)


@pytest.fixture
async def ami_proxied(asterisk: SandboxSettings) -> AsyncIterator[tuple[Server, FaultProxy]]:
    """A Server whose AMI connection goes through a fault proxy."""
    async with behind_proxy(asterisk, "ASTERISK_AMI_PORT", asterisk.ami_port) as pair:
        yield pair


def watch_reconnects(server: Server) -> asyncio.Queue[str]:
    """The links (``ami``, ``ari``) whose reconnection ``server`` publishes from now on."""
    links: asyncio.Queue[str] = asyncio.Queue()
    server.observe(lambda e: links.put_nowait(e.link) if isinstance(e, Reconnected) else None)
    return links


async def register_once_reconnected(server: Server, number: str, handler: object) -> float:
    """Register ``number`` as soon as the server's AMI connection is back; the seconds it
    took (AMI actions fail at once while it is down)."""
    loop = asyncio.get_running_loop()
    started = loop.time()
    while True:
        try:
            await server.register_extension(number, call_handler=handler)  # type: ignore[arg-type]
            return loop.time() - started
        except AsteriskConnectionError:
            assert loop.time() - started < 10, "AMI did not come back within 10 s"
            await asyncio.sleep(0.05)


async def test_an_ami_cut_mid_call_leaves_the_call_alone(
    ami_proxied: tuple[Server, FaultProxy], phone: VirtualPhone
) -> None:
    """AMI carries the dialplan, not the call: cut it while a call talks, and the call goes
    on; the server reconnects by itself and serves a number registered after the cut."""
    server, proxy = ami_proxied
    reconnected = watch_reconnects(server)
    outcome: asyncio.Future[str] = asyncio.get_running_loop().create_future()
    await server.register_extension("2503", call_handler=talker(outcome))
    call = await phone.call("2503")
    await call.wait_for_speech()
    proxy.cut()
    assert "thank you for calling" in await call.hear(timeout=15)  # the call went on
    assert not outcome.done()
    await register_once_reconnected(server, "2504", talker(asyncio.Future()))
    assert await asyncio.wait_for(reconnected.get(), 5) == "ami"  # an event, and a metric
    second = await phone.call("2504")
    assert "thank you for calling" in await second.hear(timeout=15)
    for each in (call, second):
        await each.hangup()
    assert await asyncio.wait_for(outcome, 10) == "hangup"


async def test_a_text_conversation_through_an_ami_cut(
    phone: VirtualPhone, ami_proxied: tuple[Server, FaultProxy]
) -> None:
    """Texts come in over FastAGI and go out over AMI. With the server's AMI down, a
    conversation still hears the caller's next text, and its reply fails at once with a clear
    error (it is not sent later, after the caller has moved on); once AMI is back, a new
    conversation runs. (The phone, made first, reaches AMI directly.)"""
    server, proxy = ami_proxied
    outcomes: asyncio.Queue[str] = asyncio.Queue()
    asked: asyncio.Queue[None] = asyncio.Queue()

    async def orders(ui: TextUI) -> None:
        # The question's MessageSend is answered (say returns) only after the phone has the
        # text: the cut must wait for both, or it drops that answer and fails the question.
        await ui.say("What is your order?")
        asked.put_nowait(None)
        order = await ui.prompt("", timeout=30)
        try:
            await ui.say(f"Got it: {order}.")
        except AsteriskConnectionError as exc:
            outcomes.put_nowait(f"{order}: {exc}")
            raise
        outcomes.put_nowait(f"{order}: sent")

    await server.register_extension("2506", text_handler=orders)
    await phone.send_text("2506", "Hello")
    assert await phone.receive_text() == "What is your order?"
    await asyncio.wait_for(asked.get(), 10)
    proxy.down()
    await phone.send_text("2506", "pizza")
    outcome = await asyncio.wait_for(outcomes.get(), 10)
    assert outcome.startswith("pizza: Cannot send AMI action MessageSend: not connected")
    proxy.up()
    await register_once_reconnected(server, "2507", talker(asyncio.Future()))  # AMI is back
    await phone.send_text("2506", "Hello again")
    assert await phone.receive_text() == "What is your order?"
    await phone.send_text("2506", "salad")
    assert await phone.receive_text() == "Got it: salad."
    assert await asyncio.wait_for(outcomes.get(), 10) == "salad: sent"


async def test_a_server_closes_cleanly_while_ami_is_down(
    asterisk: SandboxSettings, caplog: pytest.LogCaptureFixture
) -> None:
    """close() in an AMI outage cannot remove the server's dialplan entries: it says so in
    the log and still closes everything else (it used to raise, leaving ARI open); the next
    server that registers the number clears the stale entry."""

    async def nobody(ui: VoiceUI) -> None:
        await ui.hangup()

    async with FaultProxy(asterisk.host, asterisk.ami_port) as proxy:
        config.ASTERISK_AMI_PORT = proxy.port
        try:
            server = await Server.create(port=0)
            await server.register_extension("2505", call_handler=nobody)
            proxy.down()
            await asyncio.wait_for(server.close(), 20)
        finally:
            config.ASTERISK_AMI_PORT = asterisk.ami_port
    assert "Could not remove 2505 from the dialplan" in caplog.text
    assert server.speech is not None and server.speech.closed
    with pytest.raises(OSError):  # its FastAGI port is closed too
        await asyncio.open_connection("127.0.0.1", server.port)
    async with Server(port=0) as successor:  # finds the dead entry and clears it
        await successor.register_extension("2505", call_handler=nobody)
        assert successor.extensions["2505"] == 1


async def test_a_fastagi_cut_mid_call_ends_that_call_only(agi_calls: AGICalls) -> None:
    """The FastAGI connection of one call is cut while its handler plays: that handler gets
    a hangup within seconds, the call ends in Asterisk, and a call beside it plays on."""
    plays = {"cut": 0, "other": 0}
    ended: dict[str, asyncio.Future[float]] = {
        name: asyncio.get_running_loop().create_future() for name in plays
    }
    channels: dict[str, str] = {}

    def player(name: str) -> Callable[[AGI], Awaitable[None]]:
        async def handler(agi: AGI) -> None:
            channels[name] = agi.channel
            try:
                while name == "cut" or plays["other"] < plays["cut"] + 5:
                    await agi.execute(core.StreamFile("silence/1"))
                    plays[name] += 1
            except HangupException:
                ended[name].set_result(asyncio.get_running_loop().time())
                raise
            ended[name].set_result(asyncio.get_running_loop().time())

        return handler

    async with FaultProxy("127.0.0.1", agi_calls.server.port) as proxy:
        cut = asyncio.ensure_future(agi_calls.run(player("cut"), port=proxy.port))
        other = asyncio.ensure_future(agi_calls.run(player("other")))
        while plays["cut"] < 2 or plays["other"] < 2:
            await asyncio.sleep(0.1)
        proxy.cut()
        cut_at = asyncio.get_running_loop().time()
        assert await asyncio.wait_for(ended["cut"], 5) - cut_at < 3
        with pytest.raises(HangupException):
            await cut
        await asyncio.wait_for(other, 30)  # played on after the cut, then returned
    assert plays["other"] >= plays["cut"] + 5
    async with AMIClient() as ami:
        for _ in range(50):
            shown = await ami.command("core show channels concise")
            if channels["cut"] not in shown:
                break
            await asyncio.sleep(0.1)
    assert channels["cut"] not in shown  # Asterisk ended the call whose app was cut off


async def test_an_audiosocket_cut_mid_stream_ends_the_stream_not_the_call(
    agi_calls: AGICalls,
) -> None:
    """The AudioSocket connection of a call is cut mid-stream: the stream closes within a
    second, AudioSocket() returns, and the call itself goes on (its next command runs)."""

    async def handler(agi: AGI) -> float:
        await agi.execute(core.Answer())
        async with AudioSocketServer() as audio, FaultProxy("127.0.0.1", audio.port) as proxy:
            stream_id = str(uuid.uuid4())
            stream = await audio.expect(stream_id)
            app = agi.execute(core.Exec("AudioSocket", [stream_id, f"127.0.0.1:{proxy.port}"]))
            await asyncio.wait_for(stream.connected.wait(), 5)
            await asyncio.sleep(0.5)  # streaming (our side sends its 20 ms frames)
            assert not stream.closed.is_set()
            proxy.cut()
            cut_at = asyncio.get_running_loop().time()
            await asyncio.wait_for(stream.closed.wait(), 2)
            closed = asyncio.get_running_loop().time() - cut_at
            await asyncio.wait_for(app, 5)  # AudioSocket() returned
        await agi.execute(core.StreamFile("silence/1"))  # the call is still up
        return closed

    assert await agi_calls.run(handler) < 1
