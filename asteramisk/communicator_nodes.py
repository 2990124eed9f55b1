"""A Communicator on several Asterisk servers (``ASTERISK_HOSTS``, or
``Communicator.create(asterisks=...)``): one Communicator per Asterisk
(:class:`~asteramisk.nodes.Nodes`), each call and text placed on the next one in turn, and on
the one after it when an Asterisk cannot be reached."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from asteramisk.config import Settings
from asteramisk.events import EventStream
from asteramisk.media.speech import Speech
from asteramisk.nodes import Nodes

__all__ = ["CommunicatorNodes"]


class CommunicatorNodes:
    """The several-Asterisk part of :class:`~asteramisk.communicator.Communicator`."""

    _nodes: Nodes[Any] | None
    _events: EventStream
    speech: Speech | None

    def _node(self, settings: Settings) -> Any:
        raise NotImplementedError

    def _first_node(self) -> Any:
        assert self._nodes is not None
        return next(iter(self._nodes.members.values()))

    @property
    def connected(self) -> bool:
        """Whether Asterisk (any of them) is connected now."""
        nodes = list(self._nodes.members.values()) if self._nodes else []
        return self._connected_here() or any(n.connected for n in nodes)

    def _connected_here(self) -> bool:
        raise NotImplementedError

    async def _start_nodes(self, settings: Settings, hosts: Sequence[str]) -> None:
        async def make(asterisk: str, _index: int) -> Any:
            node = self._node(settings.replace(ASTERISK_HOST=asterisk))
            node.observe(self._events.publish)
            await node.start()
            return node

        self._nodes = Nodes(hosts, make)
        await self._nodes.start()
        self.speech = self._first_node().speech
