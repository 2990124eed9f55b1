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


async def test_audio_channels_join_their_bridge_only_once_in_the_application() -> None:
    """The race of 1 listen in 130 (ARI 422 "Channel not in Stasis application"): the snoop
    and externalMedia channels are bridged only after their StasisStart arrived."""
    from asteramisk.asterisk.ari_media import ARIMediaChannels
    from asteramisk.media.audio_server import AudioSocketServer, AudioStream

    class Expecting(AudioSocketServer):
        stream: AudioStream | None = None

        async def expect(self, stream_id: str) -> AudioStream:
            self.stream = await super().expect(stream_id)
            return self.stream

    class Bridge:
        id = "bridge-1"

    requests: list[tuple[str, dict[str, Any]]] = []

    async def request(resource: str, operation: str, **params: Any) -> Any:
        requests.append((operation, params))
        return Bridge()

    async def until(future: asyncio.Future[Any], timeout: float) -> Any:
        async with asyncio.timeout(timeout):
            return await future

    class ARI:
        app = "test-app"

    router = StasisRouter()
    async with Expecting() as audio:
        channels = ARIMediaChannels(ARI(), "call-1", router, audio, lambda e: None)  # type: ignore[arg-type]
        opening = asyncio.ensure_future(channels.open(request, until))
        for _ in range(20):
            await asyncio.sleep(0)
        operations = [operation for operation, _ in requests]
        assert operations == ["snoopChannelWithId", "externalMedia", "create"]
        snoop, media = (
            params["snoopId" if "snoopId" in params else "channelId"] for _, params in requests[:2]
        )
        router.dispatch(event("StasisStart", snoop))
        for _ in range(20):
            await asyncio.sleep(0)
        assert "addChannel" not in [operation for operation, _ in requests]  # media not in yet
        router.dispatch(event("StasisStart", media))
        for _ in range(20):
            await asyncio.sleep(0)
        assert [operation for operation, _ in requests][-1] == "addChannel"
        assert audio.stream is not None
        audio.stream.connected.set()
        assert await asyncio.wait_for(opening, 2) is audio.stream
