"""A fake call served as a Server serves a call (its dispatch: record, events, apology,
hangup), for the unit tests of events and traces."""

from __future__ import annotations

import logging
from typing import Any, cast

from asteramisk.calls import CallDispatch
from asteramisk.config import config
from asteramisk.events import EventStream
from asteramisk.lifecycle import TaskSet
from asteramisk.registrations import Registration
from asteramisk.testing.fakes import FakeCall
from asteramisk.ui import VoiceUI


async def serve_fake(call: FakeCall, handler: Any, events: EventStream) -> CallDispatch:
    """Run ``handler`` on ``call`` (from 5550100 to 5551234) through a call dispatch that
    publishes to ``events``; the dispatch, once the call has ended."""
    dispatch = CallDispatch(
        settings=config.snapshot(),
        registrations=cast(Any, None),  # serve() is given its registration
        speech=call.speech,
        audio=cast(Any, None),  # used by the transports' calls only
        ari=None,
        router=cast(Any, None),
        tasks=TaskSet(logging.getLogger("test"), "call"),
        events=events,
        default_handler=handler,
    )
    registration = Registration("5551234", handler, None, VoiceUI, call.control.transport)
    await dispatch.serve(registration, call.control, "5550100", "")
    return dispatch
