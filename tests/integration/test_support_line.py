"""The support-line example of the docs (docs/examples/support_line.py), run for real: a
caller waits in the queue and an agent takes the call; another asks for the supervisor, who
is called, asked and connected."""

from __future__ import annotations

import asyncio
import importlib.util
from collections.abc import AsyncIterator
from pathlib import Path
from types import ModuleType

import pytest

from asteramisk.server import Server
from asteramisk.testing import SandboxSettings
from asteramisk.testing.phone import VirtualPhone

from .test_call_links import no_channels_left
from .test_rooms import until
from .test_server_calls import hear_until

EXAMPLE = Path(__file__).parents[2] / "docs" / "examples" / "support_line.py"
PHRASES = [
    "thank you for calling goodbye",
    "connecting you to a caller",
    "forty two",
    "twenty",
]
SUPERVISOR = "5550184"


def example() -> ModuleType:
    spec = importlib.util.spec_from_file_location("support_line", EXAMPLE)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
async def phones(asterisk: SandboxSettings) -> AsyncIterator[list[VirtualPhone]]:
    async with (
        VirtualPhone("5550181", vocabulary=PHRASES) as caller,
        VirtualPhone("5550182", vocabulary=PHRASES) as other_caller,
        VirtualPhone("5550183", vocabulary=PHRASES) as agent,
        VirtualPhone(SUPERVISOR, vocabulary=PHRASES) as supervisor,
    ):
        yield [caller, other_caller, agent, supervisor]


async def test_the_support_line_example(
    asterisk: SandboxSettings, phones: list[VirtualPhone]
) -> None:
    caller, other_caller, agent, supervisor = phones
    async with Server(port=0) as server:
        line = example().SupportLine(server, SUPERVISOR)
        await server.register_extension("2500", call_handler=line.caller)
        await server.register_extension("2501", call_handler=line.agent)

        waiting = await caller.call("2500")
        await waiting.press("1")  # an agent, please
        await waiting.wait_for_speech()  # "Please hold ...", then music: no pause to hear by
        await until(lambda: len(line.queue) == 1)

        asking = await other_caller.call("2500")
        await asking.press("2")  # a supervisor
        ringing = await supervisor.incoming_call()
        boss = await ringing.answer()
        await boss.wait_for_speech()  # "A caller from ... asks for a supervisor ..."
        await boss.press("1")  # yes
        await asyncio.sleep(2)
        await asking.say("Forty two.")
        assert "forty two" in await hear_until(boss, "forty two")
        await asking.hangup()  # the server ends the supervisor's side
        await boss.wait_hangup(10)

        taking = await agent.call("2501")
        assert "connecting you to a caller" in await hear_until(taking, "caller")
        await asyncio.sleep(1)
        await waiting.say("Twenty.")
        assert "twenty" in await hear_until(taking, "twenty")
        await waiting.hear(timeout=0.5)  # what it heard so far (music, the bridge) is read
        await taking.hangup()  # the agent leaves: the caller is told goodbye
        assert "thank you for calling goodbye" in await hear_until(waiting, "goodbye")
        await waiting.wait_hangup(10)
        await until(lambda: not server.active_calls)
    await no_channels_left(asterisk)
