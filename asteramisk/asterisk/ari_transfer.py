"""A transfer over ARI: the caller and a new call to the destination in one mixing bridge.

The new leg is originated into the owner's Stasis application; once it has entered it
(answered) it joins the caller's bridge, and the transfer lasts until either side leaves. A leg
that ends before it answers (busy, refused, not answered) raises
:class:`~asteramisk.exceptions.CallFailedException` with its Q.850 cause at once.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from asteramisk.asterisk.ari import ARIClient
from asteramisk.asterisk.causes import describe_cause
from asteramisk.asterisk.stasis import StasisRouter
from asteramisk.exceptions import CallFailedException

__all__ = ["ARITransfer"]

Request = Callable[..., Awaitable[Any]]
Until = Callable[..., Awaitable[Any]]


class ARITransfer:
    """One transfer of the call ``channel_id`` to ``target`` (a dial string)."""

    def __init__(self, ari: ARIClient, router: StasisRouter, channel_id: str, target: str) -> None:
        self.ari, self.router, self.channel_id, self.target = ari, router, channel_id, target
        self.leg_id = f"transfer-{uuid.uuid4().hex}"
        self._up: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._gone = asyncio.Event()

    def on_event(self, event: dict[str, Any]) -> None:
        """An event of the new leg."""
        kind = event.get("type")
        if kind == "StasisStart" and not self._up.done():
            self._up.set_result(None)
        elif kind in ("StasisEnd", "ChannelDestroyed"):
            self._gone.set()
            if not self._up.done():  # it ended before it answered
                cause = int(event.get("cause") or 0)
                text = str(event.get("cause_txt") or "")
                failed = f"{describe_cause(cause, text)} (cause {cause})"
                self._up.set_exception(CallFailedException(failed, cause, text))

    async def run(self, destination: str, request: Request, until: Until) -> None:
        """Transfer, with the call's ``request`` and ``until`` (a hangup of the caller raises
        ``HangupException``); returns when either side has left."""
        bridge = await request("bridges", "create", type="mixing")
        self.router.add(self.leg_id, self.on_event)
        originating: asyncio.Future[Any] | None = None
        try:
            await request("bridges", "addChannel", bridgeId=bridge.id, channel=self.channel_id)
            originating = asyncio.ensure_future(
                request(
                    "channels",
                    "originate",
                    endpoint=self.target,
                    app=self.ari.app,
                    appArgs="asteramisk-transfer",
                    channelId=self.leg_id,
                    timeout=60,
                )
            )
            await asyncio.shield(originating)  # cancelled, the hangup below waits for it
            await until(self._up, 70)  # the leg's own timeout ends it first
            await request("bridges", "addChannel", bridgeId=bridge.id, channel=self.leg_id)
            await until(asyncio.ensure_future(self._gone.wait()))
        except TimeoutError:
            raise CallFailedException(
                f"The transfer to {destination} was not answered.", cause=19
            ) from None
        except CallFailedException as exc:
            raise CallFailedException(
                f"The transfer to {destination} failed: {exc}", exc.cause, exc.cause_txt
            ) from None
        finally:
            self.router.remove(self.leg_id)
            if originating is not None:
                await self.ari.hang_up(self.leg_id, made_by=originating)
            # The caller leaves by a removal, which Asterisk runs in the call's own command
            # queue and answers once done; a destroyed bridge lets the caller go on its own
            # thread, and a prompt sent meanwhile is queued on the bridge it is leaving and
            # never played (no PlaybackFinished ever comes).
            await self.ari.cleanup(
                "bridges", "removeChannel", bridgeId=bridge.id, channel=self.channel_id
            )
            await self.ari.cleanup("bridges", "destroy", bridgeId=bridge.id)
