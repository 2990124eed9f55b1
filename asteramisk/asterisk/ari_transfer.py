"""A transfer over ARI: the caller and a new call to the destination in one mixing bridge.

The new leg (:class:`~asteramisk.asterisk.ari_leg.ARILeg`) is originated into the owner's
Stasis application; once it has entered it (answered) it joins the caller's bridge, and the
transfer lasts until either side leaves. A leg that ends before it answers (busy, refused, not
answered) raises :class:`~asteramisk.exceptions.CallFailedException` with its Q.850 cause at
once.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from asteramisk.asterisk.ari import ARIClient
from asteramisk.asterisk.ari_leg import ARILeg
from asteramisk.asterisk.stasis import StasisRouter
from asteramisk.exceptions import CallFailedException

__all__ = ["ARITransfer"]

Request = Callable[..., Awaitable[Any]]
Until = Callable[..., Awaitable[Any]]


class ARITransfer:
    """One transfer of the call ``channel_id`` to ``target`` (a dial string)."""

    def __init__(self, ari: ARIClient, router: StasisRouter, channel_id: str, target: str) -> None:
        self.ari, self.router, self.channel_id = ari, router, channel_id
        self.leg = ARILeg(ari, target, prefix="transfer")

    async def run(self, destination: str, request: Request, until: Until) -> None:
        """Transfer, with the call's ``request`` and ``until`` (a hangup of the caller raises
        ``HangupException``); returns when either side has left."""
        # Not bridged natively (dtmf_events): a caller left alone in a native RTP bridge lost
        # the audio of what came next, or the call (seen on the sandbox).
        bridge = await request("bridges", "create", type="mixing,dtmf_events")
        leg = self.leg
        self.router.add(leg.channel_id, leg.on_event)
        try:
            await request("bridges", "addChannel", bridgeId=bridge.id, channel=self.channel_id)
            await leg.place(request, until, timeout=60, purpose="asteramisk-transfer")
            await request("bridges", "addChannel", bridgeId=bridge.id, channel=leg.channel_id)
            await until(asyncio.ensure_future(leg.gone.wait()))
        except CallFailedException as exc:
            raise CallFailedException(
                f"The transfer to {destination} failed: {exc}", exc.cause, exc.cause_txt
            ) from None
        finally:
            self.router.remove(leg.channel_id)
            await leg.hang_up()
            # The caller leaves by a removal, which Asterisk runs in the call's own command
            # queue and answers once done; a destroyed bridge lets the caller go on its own
            # thread, and a prompt sent meanwhile is queued on the bridge it is leaving and
            # never played (no PlaybackFinished ever comes).
            await self.ari.cleanup(
                "bridges", "removeChannel", bridgeId=bridge.id, channel=self.channel_id
            )
            await self.ari.cleanup("bridges", "destroy", bridgeId=bridge.id)
