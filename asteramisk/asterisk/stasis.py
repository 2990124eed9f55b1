"""Routing the events of a Stasis application to the calls they concern.

One ARI connection carries every event of its application. A :class:`StasisRouter` finds the
channel an event is about (the channel itself, or the target of a playback or recording) and
hands it to the handler added for that channel; an event of a channel nobody added (a new
call entering the application) goes to ``on_new``. A ``Server`` and a ``Communicator`` each own
one; every call control adds and removes its own channels (its transfer legs, its audio
channels) by method.

A channel created into the application can be used in a bridge only once it has entered it
(Asterisk answers 422 "Channel not in Stasis application" before its ``StasisStart``):
:meth:`StasisRouter.entered` gives a future that its ``StasisStart`` resolves.

The events sent while the ARI connection is down are lost: when it comes back, the owner runs
:meth:`StasisRouter.reconcile`, and each call asks Asterisk what became of it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

__all__ = ["EventHandler", "StasisRouter", "channel_of"]

EventHandler = Callable[[dict[str, Any]], object]
Reconciler = Callable[[], Awaitable[None]]

log = logging.getLogger(__name__)


def channel_of(event: dict[str, Any]) -> str:
    """The id of the channel an ARI event concerns ('' if none)."""
    channel = event.get("channel") or {}
    channel_id = str(channel.get("id", ""))
    if not channel_id:
        source = event.get("playback") or event.get("recording") or {}
        channel_id = str(source.get("target_uri", "")).removeprefix("channel:")
    return channel_id


class StasisRouter:
    """Channel id -> the handler of its events (see the module docstring)."""

    def __init__(self, on_new: EventHandler | None = None) -> None:
        self._routes: dict[str, EventHandler] = {}
        self._reconcilers: dict[str, Reconciler] = {}
        self._on_new = on_new
        self._entering: dict[str, asyncio.Future[None]] = {}

    def __len__(self) -> int:
        return len(self._routes)

    def __contains__(self, channel_id: object) -> bool:
        return channel_id in self._routes

    def __repr__(self) -> str:
        return f"<StasisRouter channels={len(self._routes)}>"

    def add(
        self, channel_id: str, handler: EventHandler, reconcile: Reconciler | None = None
    ) -> None:
        """Send the events of ``channel_id`` to ``handler`` from now on; ``reconcile`` is
        awaited after the ARI connection comes back (:meth:`reconcile`)."""
        self._routes[channel_id] = handler
        if reconcile is not None:
            self._reconcilers[channel_id] = reconcile

    async def reconcile(self) -> None:
        """The ARI connection came back (an ARI connect hook): events of the outage are
        lost, so each call learns from Asterisk what happened meanwhile."""
        reconcilers = list(self._reconcilers.values())
        results = await asyncio.gather(*(r() for r in reconcilers), return_exceptions=True)
        for result in results:
            if isinstance(result, Exception):
                log.warning("A call could not be reconciled after ARI came back: %s", result)

    def remove(self, channel_id: str) -> None:
        """Stop routing ``channel_id`` (no error if it was not routed)."""
        self._routes.pop(channel_id, None)
        self._reconcilers.pop(channel_id, None)
        entering = self._entering.pop(channel_id, None)
        if entering is not None and not entering.done():
            entering.cancel()

    def entered(self, channel_id: str) -> asyncio.Future[None]:
        """A future set when ``channel_id`` (about to be created into the application)
        enters it; ask before creating the channel, so that its ``StasisStart`` is not missed.
        Cancelled by :meth:`remove`."""
        future = self._entering.get(channel_id)
        if future is None:
            future = self._entering[channel_id] = asyncio.get_running_loop().create_future()
        return future

    def dispatch(self, event: dict[str, Any]) -> None:
        """Hand ``event`` to its channel's handler, or to ``on_new`` (ARI's event callback)."""
        channel_id = channel_of(event)
        if event.get("type") == "StasisStart" and channel_id in self._entering:
            entering = self._entering.pop(channel_id)
            if not entering.done():
                entering.set_result(None)
        handler = self._routes.get(channel_id)
        if handler is not None:
            handler(event)
        elif self._on_new is not None:
            self._on_new(event)
