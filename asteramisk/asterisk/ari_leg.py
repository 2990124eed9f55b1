"""A new call placed from a call over ARI: a transfer's leg, or a warm transfer's target.

The leg is originated into the owner's Stasis application under an id of ours, so that its
events reach :meth:`ARILeg.on_event` through the owner's router before Asterisk has even
answered the request. It is answered when it enters the application (``StasisStart``); if it
ends before (busy, refused, not answered) :meth:`ARILeg.place` raises
:class:`~asteramisk.exceptions.CallFailedException` with its Q.850 cause.
"""

from __future__ import annotations

import asyncio
import math
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from asteramisk.asterisk.ari import ARIClient
from asteramisk.asterisk.causes import describe_cause
from asteramisk.exceptions import CallFailedException

__all__ = ["ARILeg"]

Request = Callable[..., Awaitable[Any]]
Until = Callable[..., Awaitable[Any]]


class ARILeg:
    """One call placed to ``target`` (a dial string) into ``ari``'s application."""

    def __init__(self, ari: ARIClient, target: str, prefix: str = "leg") -> None:
        self.ari, self.target = ari, target
        self.channel_id = f"{prefix}-{uuid.uuid4().hex}"
        self.up: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        """Resolved when the leg answers; failed with CallFailedException if it ends first."""
        self.gone = asyncio.Event()
        self.originating: asyncio.Future[Any] | None = None
        """Asterisk's answer to the originate request (what a hangup must wait for)."""

    def on_event(self, event: dict[str, Any]) -> None:
        """An event of the leg's channel."""
        kind = event.get("type")
        if kind == "StasisStart" and not self.up.done():
            self.up.set_result(None)
        elif kind in ("StasisEnd", "ChannelDestroyed"):
            self.gone.set()
            if not self.up.done():  # it ended before it answered
                cause = int(event.get("cause") or 0)
                text = str(event.get("cause_txt") or "")
                failed = f"{describe_cause(cause, text)} (cause {cause})"
                self.up.set_exception(CallFailedException(failed, cause, text))

    async def place(
        self,
        request: Request,
        until: Until,
        *,
        timeout: float,
        caller_id: str | None = None,
        purpose: str = "asteramisk-leg",
    ) -> None:
        """Originate the leg and wait until it answers, with the calling call's ``request``
        and ``until`` (a hangup of the caller raises ``HangupException``).
        ``CallFailedException`` when it does not answer; the caller hanging up or the wait
        cancelled hangs it up."""
        params: dict[str, Any] = {"callerId": caller_id} if caller_id else {}
        self.originating = asyncio.ensure_future(
            request(
                "channels",
                "originate",
                endpoint=self.target,
                app=self.ari.app,
                appArgs=purpose,
                channelId=self.channel_id,
                timeout=max(1, math.ceil(timeout)),
                **params,
            )
        )
        answered = False
        try:
            await asyncio.shield(self.originating)  # cancelled, the hangup below waits for it
            await until(self.up, timeout + 10)  # the leg's own timeout ends it first
            answered = True
        except TimeoutError:
            raise CallFailedException("It was not answered.", cause=19) from None
        finally:
            if not answered:
                if self.up.done() and not self.up.cancelled():
                    self.up.exception()  # retrieved: raised above, or too late to matter
                await self.hang_up()

    async def hang_up(self) -> None:
        """Hang the leg up (once Asterisk has answered the originate request)."""
        if self.originating is not None:
            await self.ari.hang_up(self.channel_id, made_by=self.originating)
