"""A Server on several Asterisk servers (``ASTERISK_HOSTS`` or ``Server.create(asterisks=...)``).

The server is then a front for one node server per Asterisk (:class:`~asteramisk.nodes.Nodes`):
each node connects to its Asterisk, listens on a FastAGI port of its own (``port``, then the
ports after it) and serves every number the front registers, with the front's handlers. Their
events reach the front's stream (and so its metrics). A node whose Asterisk goes away keeps
reconnecting and puts its numbers back when it returns; one that did not answer at start joins
when it does. Texts the front sends go out on the nodes in turn.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import TYPE_CHECKING, Any

from asteramisk.config import Settings
from asteramisk.nodes import Nodes
from asteramisk.registrations import Registration

if TYPE_CHECKING:
    from asteramisk.server import Server

__all__ = ["ServerNodes"]


class ServerNodes:
    """The nodes of a front server (see the module docstring)."""

    def __init__(
        self,
        settings: Settings,
        hosts: Sequence[str],
        *,
        listen: tuple[str, int],
        new_node: Callable[[str, int, Settings], Server],
        forward: Callable[[Any], None],
    ) -> None:
        host, port = listen

        async def make(asterisk: str, index: int) -> Server:
            node_settings = settings.replace(ASTERISK_HOST=asterisk, ASTERISK_HOSTS="")
            node = new_node(host, port + index if port else 0, node_settings)
            node.observe(forward)
            await node.start()
            return node

        self.nodes: Nodes[Server] = Nodes(hosts, make, on_join=self._join)
        self._numbers: dict[str, Registration] = {}

    @property
    def members(self) -> list[Server]:
        return list(self.nodes.members.values())

    async def _join(self, node: Server) -> None:
        """A node whose Asterisk answers late: it serves every number too."""
        for registration in list(self._numbers.values()):
            await _register(node, registration)

    async def register(self, registration: Registration) -> None:
        """Serve a number on every node (and on nodes that join later)."""
        self._numbers[registration.number] = registration
        await self.nodes.each(lambda node: _register(node, registration))

    async def unregister(self, number: str) -> None:
        if self._numbers.pop(number, None) is not None:
            await self.nodes.each(lambda node: node.unregister_extension(number))

    def extensions(self) -> dict[str, int | None]:
        return {k: v for node in self.members for k, v in node.extensions.items()}

    async def send_text(self, to_number: str, from_number: str, body: str) -> None:
        await self.nodes.in_turn(lambda node: node.send_text(to_number, from_number, body))

    def in_turn(self, action: Callable[[Server], Awaitable[Any]]) -> Awaitable[Any]:
        return self.nodes.in_turn(action)

    async def start(self) -> None:
        await self.nodes.start()

    async def close(self) -> None:
        await self.nodes.close()


async def _register(node: Server, registration: Registration) -> None:
    await node.register_extension(
        registration.number,
        registration.call_handler,
        registration.text_handler,
        ui_class=registration.ui_class,
        transport=registration.transport,
    )
