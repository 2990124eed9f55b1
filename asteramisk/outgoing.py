"""An outgoing call as Asterisk reports it: whether it was answered, its status, its events.

A :class:`~asteramisk.Communicator` call goes ``initiated`` (Asterisk accepted to place it),
``ringing`` (the far end rings), then ``answered`` and, at its end, ``completed``; or it ends
unanswered as ``busy`` (Q.850 cause 17), ``no answer`` (18, 19, or no answer in time) or
``failed`` (any other cause). Each status is published as
:class:`~asteramisk.events.CallStatus` and given to the call's ``on_status`` callback, as
Twilio's status callbacks do; the call is also a
:class:`~asteramisk.events.CallStarted` ... :class:`~asteramisk.events.CallEnded` (direction
``outbound``) like an incoming one.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
from collections.abc import Callable
from typing import Any

from asteramisk.asterisk.causes import describe_cause
from asteramisk.events import (
    CallRecord,
    CallStatus,
    EventStream,
)
from asteramisk.exceptions import CallFailedException
from asteramisk.lifecycle import TaskSet

__all__ = ["STATUSES", "OutgoingCall", "StatusCallback", "end_status"]

log = logging.getLogger(__name__)

STATUSES = ("initiated", "ringing", "answered", "busy", "no answer", "failed", "completed")

StatusCallback = Callable[[str], Any]
"""``on_status(status)``: a function or a coroutine function (run as a task of its own)."""


def end_status(cause: int, answered: bool) -> str:
    """The last status of a call that ended with Q.850 ``cause``."""
    if answered:
        return "completed"
    if cause == 17:
        return "busy"
    return "no answer" if cause in (18, 19) else "failed"


class OutgoingCall:
    """One outgoing call's state (see the module docstring). ``ringing`` resolves when the
    call is answered, or fails with :class:`CallFailedException` when it ends before."""

    def __init__(
        self,
        record: CallRecord,
        events: EventStream,
        tasks: TaskSet,
        on_status: StatusCallback | None = None,
    ) -> None:
        self.record, self._events, self._tasks, self._on_status = record, events, tasks, on_status
        self.answered: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.status = ""
        record.events = events
        record.started()

    def set_status(self, status: str) -> None:
        """Tell ``status`` once (a status repeated or after the end is not told again, nor
        ``initiated`` after any other)."""
        if status == self.status or self.status in ("busy", "no answer", "failed", "completed"):
            return
        if status == "initiated" and self.status:
            return
        self.status = status
        self._events.publish(CallStatus(call_id=self.record.call_id, status=status))
        if self._on_status is None:
            return
        try:
            result = self._on_status(status)
        except Exception:
            log.exception("on_status(%r) of the call to %s raised", status, self.record.to_number)
            return
        if inspect.isawaitable(result):
            self._tasks.spawn(result)

    def on_event(self, event: dict[str, Any]) -> None:
        """An ARI event of the call's channel. Its events may come before Asterisk's answer
        to the originate request does: the channel exists, so the call is ``initiated``
        first."""
        self.set_status("initiated")
        kind = event.get("type")
        if kind == "ChannelStateChange" and (event.get("channel") or {}).get("state") == "Ringing":
            self.set_status("ringing")
        elif kind == "StasisStart" and not self.answered.done():
            self.record.answered()
            self.set_status("answered")
            self.answered.set_result(None)
        elif kind == "ChannelDestroyed":
            self._ended(int(event.get("cause") or 0), str(event.get("cause_txt") or ""))

    def gave_up(self, cause: int, cause_txt: str) -> None:
        """The call ended on our side before it was answered (timeout, refused, cancelled)."""
        self._ended(cause, cause_txt)

    def _ended(self, cause: int, cause_txt: str) -> None:
        if self.record.ended_at is not None:
            return
        record = self.record
        answered = record.answered_at is not None
        record.cause = cause or None
        record.hung_up_by = record.hung_up_by or ("caller" if answered else "")
        record.outcome = "completed" if answered else "failed"
        if not self.answered.done():
            self.answered.set_exception(
                CallFailedException(
                    f"The call to {record.to_number} failed: "
                    f"{describe_cause(cause, cause_txt or 'no answer')} (cause {cause}).",
                    cause=cause,
                    cause_txt=cause_txt,
                )
            )
        self.set_status(end_status(cause, answered))
        record.ended()
