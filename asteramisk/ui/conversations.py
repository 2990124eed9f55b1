"""The text conversations of this process, shared by every Server and Communicator in it.

A text reaches this process through a :class:`~asteramisk.server.Server` serving the number it
was sent to. The server looks its conversation up here by (our number, their number): one the
server started for an incoming text, or one a :class:`~asteramisk.communicator.Communicator`
started by texting first. The servers also note here which numbers they receive texts for, so
that a conversation no server can receive replies for says so instead of waiting forever.

With ``REDIS_URL``, a relay (:mod:`asteramisk.text_relay`) is attached: each conversation that
opens here is claimed in Redis for this host, and each that ends is let go; a text for a
conversation held by another host is handed to it (:meth:`ConversationRegistry.hand_over`).
"""

from __future__ import annotations

import asyncio
from collections import Counter
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from asteramisk.ui.text import TextUI

__all__ = ["ConversationRegistry", "conversations"]

Key = tuple[str, str]


class Relay(Protocol):
    """What shares this process's conversations with other hosts (a TextRelay)."""

    async def claim(self, ours: str, theirs: str) -> None: ...

    async def forget(self, ours: str, theirs: str) -> None: ...

    async def hand_over(self, ours: str, theirs: str, body: str) -> bool: ...


class ConversationRegistry:
    """Open text conversations by (our number, their number), and the numbers received on."""

    def __init__(self) -> None:
        self._open: dict[Key, TextUI] = {}
        self._receiving: Counter[str] = Counter()
        self.relay: Relay | None = None
        self._claims: dict[Key, asyncio.Task[None]] = {}
        self._forgets: set[asyncio.Task[None]] = set()

    def attach(self, relay: Relay) -> None:
        """Share the conversations with other hosts through ``relay`` from now on."""
        self.relay = relay

    def detach(self, relay: Relay) -> None:
        if self.relay is relay:
            self.relay = None

    def open(self) -> list[Key]:
        """The (our number, their number) of every conversation open here."""
        return [key for key, ui in self._open.items() if not ui.hung_up]

    async def claimed(self, ui: TextUI) -> None:
        """Wait until the relay has claimed ``ui`` for this host (at once without one)."""
        task = self._claims.pop((ui.local_number, ui.remote_number), None)
        if task is not None:
            await task

    async def hand_over(self, our_number: str, their_number: str, body: str) -> bool:
        """Whether another host holds this conversation and was handed ``body``."""
        if self.relay is None:
            return False
        return await self.relay.hand_over(our_number, their_number, body)

    def __len__(self) -> int:
        return len(self._open)

    def get(self, our_number: str, their_number: str) -> TextUI | None:
        """The open conversation between these numbers, if any."""
        ui = self._open.get((our_number, their_number))
        return None if ui is None or ui.hung_up else ui

    def add(self, ui: TextUI) -> None:
        """Open ``ui``: the texts its other party sends to its number are delivered to it."""
        key = (ui.local_number, ui.remote_number)
        self._open[key] = ui
        if self.relay is not None:
            self._claims[key] = asyncio.ensure_future(self.relay.claim(*key))

    def remove(self, ui: TextUI) -> None:
        key = (ui.local_number, ui.remote_number)
        if self._open.get(key) is ui:
            del self._open[key]
            self._claims.pop(key, None)
            if self.relay is not None:
                task = asyncio.ensure_future(self.relay.forget(*key))
                self._forgets.add(task)
                task.add_done_callback(self._forgets.discard)

    def receive_on(self, number: str) -> None:
        """A server now receives the texts sent to ``number``."""
        self._receiving[number] += 1

    def stop_receiving_on(self, number: str) -> None:
        self._receiving[number] -= 1
        if self._receiving[number] <= 0:
            del self._receiving[number]

    def receives(self, number: str) -> bool:
        """Whether a server of this process receives the texts sent to ``number`` (or, with
        a relay, a server of another host may, and hands them here)."""
        return self._receiving[number] > 0 or self.relay is not None


conversations = ConversationRegistry()
"""The process's registry."""
