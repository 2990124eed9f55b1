"""The channels that stream one ARI call's audio to this process, and their clean-up.

A snoop channel on the call hears what the caller says and whispers to them what we send; an
``externalMedia`` channel (AudioSocket over TCP, 8 kHz slin) carries both directions to the
owner's :class:`~asteramisk.media.audio_server.AudioSocketServer`; a mixing bridge joins the
two. Their events go to the call's control (through the owner's router), which ignores them.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from asteramisk.asterisk.ari import ARIClient
from asteramisk.asterisk.stasis import EventHandler, StasisRouter
from asteramisk.exceptions import ActionError
from asteramisk.media.audio_server import AudioSocketServer, AudioStream

__all__ = ["ARIMediaChannels"]

Request = Callable[..., Awaitable[Any]]
Until = Callable[[asyncio.Future[Any], float], Awaitable[Any]]


class ARIMediaChannels:
    """The audio channels of the call ``channel_id`` (see the module docstring)."""

    def __init__(
        self,
        ari: ARIClient,
        channel_id: str,
        router: StasisRouter,
        audio: AudioSocketServer,
        on_event: EventHandler,
    ) -> None:
        self.ari = ari
        self.channel_id = channel_id
        self.router = router
        self.audio = audio
        self._on_event = on_event
        self.open_channels: list[str] = []
        self._bridge = ""

    def owns(self, channel_id: str) -> bool:
        return channel_id in self.open_channels

    async def open(self, request: Request, until: Until) -> AudioStream:
        """Create the channels and bridge, and wait until Asterisk streams to us.
        ``request`` is the call's ARI request (a hangup raises ``HangupException``), ``until``
        its wait that a hangup ends."""
        server = await self.audio.ensure_started()
        stream_id = str(uuid.uuid4())
        stream = await server.expect(stream_id)
        snoop_id, media_id = f"snoop-{stream_id}", f"media-{stream_id}"
        self.open_channels += [snoop_id, media_id]
        for channel_id in (snoop_id, media_id):
            self.router.add(channel_id, self._on_event)
        entered = asyncio.gather(*(self.router.entered(c) for c in (snoop_id, media_id)))
        try:
            await request(
                "channels",
                "snoopChannelWithId",
                channelId=self.channel_id,
                snoopId=snoop_id,
                app=self.ari.app,
                spy="in",  # what the caller says, to us
                whisper="out",  # what we send over the stream, to the caller
            )
            await request(
                "channels",
                "externalMedia",
                channelId=media_id,
                app=self.ari.app,
                external_host=server.address,
                encapsulation="audiosocket",
                transport="tcp",
                format="slin",
                data=stream_id,
            )
            bridge = await request("bridges", "create", type="mixing")
            self._bridge = bridge.id
            # Both channels must be in the application before they join a bridge.
            await until(entered, 5)
            await request(
                "bridges", "addChannel", bridgeId=bridge.id, channel=f"{snoop_id},{media_id}"
            )
            await until(asyncio.ensure_future(stream.connected.wait()), 5)
        except TimeoutError:
            server.forget(stream_id)
            if not entered.done():
                raise ActionError(
                    "Asterisk created the call's audio channels but they did not enter the "
                    f"Stasis application {self.ari.app} within 5 s."
                ) from None
            raise ActionError(
                f"Asterisk did not connect its audio to {server.address}: can it reach this "
                "address (AGI_SERVER_HOST)?"
            ) from None
        except BaseException:
            server.forget(stream_id)
            raise
        finally:
            if not entered.done():
                entered.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.gather(entered, return_exceptions=True)
        return stream

    async def close(self) -> None:
        """Hang up the channels and destroy the bridge (idempotent)."""
        channels, self.open_channels = self.open_channels, []
        bridge, self._bridge = self._bridge, ""
        for channel_id in channels:
            self.router.remove(channel_id)
            await self.ari.hang_up(channel_id)
        if bridge:
            await self.ari.cleanup("bridges", "destroy", bridgeId=bridge)
