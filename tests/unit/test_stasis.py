"""Routing ARI events to calls (StasisRouter), without Asterisk."""

from __future__ import annotations

import asyncio
from typing import Any

from asteramisk.asterisk.stasis import StasisRouter, channel_of


def event(kind: str, channel: str = "", **extra: Any) -> dict[str, Any]:
    return {"type": kind, **({"channel": {"id": channel}} if channel else {}), **extra}


def test_events_go_to_their_channel_or_to_new() -> None:
    new: list[dict[str, Any]] = []
    seen: list[str] = []
    router = StasisRouter(on_new=new.append)
    router.add("c1", lambda e: seen.append(e["type"]))
    router.dispatch(event("ChannelDtmfReceived", "c1"))
    playback = {"target_uri": "channel:c1", "id": "p1"}
    router.dispatch({"type": "PlaybackFinished", "playback": playback})
    router.dispatch(event("StasisStart", "c2"))
    assert seen == ["ChannelDtmfReceived", "PlaybackFinished"]
    assert [channel_of(e) for e in new] == ["c2"]
    router.remove("c1")
    router.dispatch(event("ChannelDestroyed", "c1"))
    assert len(seen) == 2 and len(new) == 2 and "c1" not in router


async def test_entered_is_set_by_the_channels_stasis_start() -> None:
    router = StasisRouter()
    snoop, media = router.entered("snoop-1"), router.entered("media-1")
    router.add("snoop-1", lambda e: None)
    router.dispatch(event("StasisStart", "snoop-1"))
    assert snoop.done() and not media.done()
    router.dispatch(event("ChannelVarset", "media-1"))
    assert not media.done()
    router.remove("media-1")  # the call ended first: nobody waits for it any more
    assert media.cancelled()
    await asyncio.sleep(0)
