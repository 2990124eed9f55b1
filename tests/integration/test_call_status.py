"""Outgoing calls' statuses (``on_status``, as Twilio's status callbacks) and events, for each
way a call ends, against the sandbox."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from asteramisk.communicator import Communicator
from asteramisk.events import (
    CallAnswered,
    CallEnded,
    CallStarted,
    CallStatus,
    Event,
    VerbDone,
)
from asteramisk.exceptions import CallFailedException
from asteramisk.testing import SandboxSettings
from asteramisk.testing.phone import VirtualPhone

OUR_NUMBER = "5551000"


@pytest.fixture
async def communicator(asterisk: SandboxSettings) -> AsyncIterator[Communicator]:
    async with Communicator(callerid_number=OUR_NUMBER) as c:
        yield c


@pytest.fixture
async def phone(asterisk: SandboxSettings) -> AsyncIterator[VirtualPhone]:
    async with VirtualPhone("5550155", vocabulary=["hello"]) as p:
        yield p


async def test_an_answered_call_goes_initiated_ringing_answered_completed(
    communicator: Communicator, phone: VirtualPhone
) -> None:
    seen: list[Event] = []
    communicator.observe(seen.append)
    statuses: list[str] = []

    async def on_status(status: str) -> None:  # a coroutine function is run as a task
        statuses.append(status)

    placing = asyncio.create_task(
        communicator.make_call("5550155", timeout=20, on_status=on_status)
    )
    call = await (await phone.incoming_call()).answer()
    ui = await asyncio.wait_for(placing, 10)
    assert ui.call_record is not None and ui.call_record.direction == "outbound"
    await ui.say("Hello")
    assert await call.hear(timeout=10) == "hello"
    await ui.hangup()
    await call.wait_hangup(5)
    ended = await wait_for_end(seen)
    await asyncio.sleep(0.1)  # the last callback's task
    assert statuses == ["initiated", "ringing", "answered", "completed"]
    kinds = [type(e) for e in seen if not isinstance(e, CallStatus | VerbDone)]
    assert kinds[0] is CallStarted and CallAnswered in kinds and kinds[-1] is CallEnded
    started = seen[0]
    assert isinstance(started, CallStarted)
    assert (started.direction, started.from_number, started.to_number) == (
        "outbound",
        OUR_NUMBER,
        "5550155",
    )
    assert ended.answered and ended.hung_up_by == "app" and ended.outcome == "completed"
    assert ended.call_id == started.call_id
    said = [e for e in seen if isinstance(e, VerbDone)]
    assert [(e.call_id, e.verb, e.ok) for e in said] == [(started.call_id, "say", True)]
    assert ended.record.verbs == [("say", said[0].seconds)]


@pytest.mark.parametrize(
    ("cause", "status"),
    [(17, "busy"), (None, "no answer"), (38, "failed")],
    ids=["busy", "no-answer", "failed"],
)
async def test_an_unanswered_call_ends_with_what_happened(
    communicator: Communicator, phone: VirtualPhone, cause: int | None, status: str
) -> None:
    seen: list[Event] = []
    communicator.observe(seen.append)
    statuses: list[str] = []
    placing = asyncio.create_task(
        communicator.make_call("5550155", timeout=3, on_status=statuses.append)
    )
    incoming = await phone.incoming_call()
    if cause is not None:
        await incoming.reject(cause)
    with pytest.raises(CallFailedException):
        await asyncio.wait_for(placing, 15)
    ended = await wait_for_end(seen)
    assert statuses == ["initiated", "ringing", status]
    assert [e.status for e in seen if isinstance(e, CallStatus)] == statuses
    assert not ended.answered and ended.outcome == "failed"
    if cause is not None:
        assert ended.cause == cause
    await asyncio.wait_for(incoming.ended.wait(), 5)


async def wait_for_end(seen: list[Event]) -> CallEnded:
    for _ in range(100):
        ended = [e for e in seen if isinstance(e, CallEnded)]
        if ended:
            assert len(ended) == 1
            return ended[0]
        await asyncio.sleep(0.05)
    raise AssertionError("no CallEnded within 5 s")
