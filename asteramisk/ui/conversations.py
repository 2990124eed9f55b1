"""The text conversations of this process, shared by every Server and Communicator in it.

A text reaches this process through a :class:`~asteramisk.server.Server` serving the number it
was sent to. The server looks its conversation up here by (our number, their number): one the
server started for an incoming text, or one a :class:`~asteramisk.communicator.Communicator`
started by texting first. The servers also note here which numbers they receive texts for, so
that a conversation no server can receive replies for says so instead of waiting forever.
"""

from __future__ import annotations

from collections import Counter
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from asteramisk.ui.text import TextUI

__all__ = ["ConversationRegistry", "conversations"]

Key = tuple[str, str]


class ConversationRegistry:
    """Open text conversations by (our number, their number), and the numbers received on."""

    def __init__(self) -> None:
        self._open: dict[Key, TextUI] = {}
        self._receiving: Counter[str] = Counter()

    def __len__(self) -> int:
        return len(self._open)

    def get(self, our_number: str, their_number: str) -> TextUI | None:
        """The open conversation between these numbers, if any."""
        ui = self._open.get((our_number, their_number))
        return None if ui is None or ui.hung_up else ui

    def add(self, ui: TextUI) -> None:
        """Open ``ui``: the texts its other party sends to its number are delivered to it."""
        self._open[(ui.local_number, ui.remote_number)] = ui

    def remove(self, ui: TextUI) -> None:
        key = (ui.local_number, ui.remote_number)
        if self._open.get(key) is ui:
            del self._open[key]

    def receive_on(self, number: str) -> None:
        """A server now receives the texts sent to ``number``."""
        self._receiving[number] += 1

    def stop_receiving_on(self, number: str) -> None:
        self._receiving[number] -= 1
        if self._receiving[number] <= 0:
            del self._receiving[number]

    def receives(self, number: str) -> bool:
        """Whether a server of this process receives the texts sent to ``number``."""
        return self._receiving[number] > 0


conversations = ConversationRegistry()
"""The process's registry."""
