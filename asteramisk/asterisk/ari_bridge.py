"""Calls the app holds over ARI, connected in one mixing bridge until one of them leaves.

Every channel in the bridge stays in the owner's Stasis application (a channel that left it
would leave the bridge too), so the calls stay the app's: when one hangs up, the others are
taken out of the bridge (in their own command queues, so that a verb sent next is not queued on
a bridge being destroyed) and the bridge is destroyed.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Sequence
from typing import Protocol

from asteramisk.asterisk.ari import ARIClient
from asteramisk.exceptions import ActionError, HangupException

__all__ = ["BridgeMember", "bridge_until_one_leaves", "connect_for_good"]


class BridgeMember(Protocol):
    """A call in our Stasis application: its channel, and whether it has gone."""

    channel_id: str
    gone: asyncio.Event


async def bridge_until_one_leaves(ari: ARIClient, members: Sequence[BridgeMember]) -> None:
    """Connect ``members`` until one hangs up (HangupException if one had already)."""
    if any(member.gone.is_set() for member in members):
        raise HangupException("the call had hung up before it could be bridged")
    # dtmf_events: the keys pressed in the bridge reach the calls' controls (and native RTP
    # bridging, which moves the media out of Asterisk and back, is not used).
    bridge = await ari.request("bridges", "create", type="mixing,dtmf_events")
    waits = [asyncio.ensure_future(member.gone.wait()) for member in members]
    try:
        try:
            channels = ",".join(member.channel_id for member in members)
            await ari.request("bridges", "addChannel", bridgeId=bridge.id, channel=channels)
        except ActionError:
            await asyncio.sleep(0)  # a hangup's event, already received, is handled first
            if any(member.gone.is_set() for member in members):
                raise HangupException("a call hung up as it was being bridged") from None
            raise
        await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for wait in waits:
            wait.cancel()
        for member in members:
            if not member.gone.is_set():
                await ari.cleanup(
                    "bridges", "removeChannel", bridgeId=bridge.id, channel=member.channel_id
                )
        await ari.cleanup("bridges", "destroy", bridgeId=bridge.id)


async def connect_for_good(ari: ARIClient, members: Sequence[BridgeMember]) -> None:
    """Connect ``members`` until one hangs up, then hang up the others (a warm transfer's
    end: the calls are no longer any app's)."""
    try:
        with contextlib.suppress(HangupException):
            await bridge_until_one_leaves(ari, members)
    finally:
        for member in members:
            if not member.gone.is_set():
                await ari.hang_up(member.channel_id)
