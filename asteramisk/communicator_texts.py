"""The texts of a :class:`~asteramisk.communicator.Communicator`: ``make_text``,
``send_text`` (see there)."""

from __future__ import annotations

import functools
import weakref
from typing import Any

from asteramisk.asterisk.ami import AMIClient
from asteramisk.asterisk.ari import ARIClient
from asteramisk.asterisk.messaging import check_number, send_message
from asteramisk.config import Settings
from asteramisk.events import EventStream, TextSent
from asteramisk.nodes import Nodes
from asteramisk.ui import UI, TextUI
from asteramisk.ui.conversations import conversations

__all__ = ["CommunicatorTexts"]


class CommunicatorTexts:
    """Outgoing texts (a part of :class:`~asteramisk.communicator.Communicator`)."""

    callerid_number: str
    callerid_name: str
    settings: Settings | None
    _ari: ARIClient | None
    _events: EventStream
    _uis: weakref.WeakSet[UI]
    _nodes: Nodes[Any] | None

    def _require_ami(self) -> AMIClient:
        raise NotImplementedError

    async def make_text(
        self, recipient_number: str, *, callerid_number: str | None = None
    ) -> TextUI:
        """Open a text conversation with ``recipient_number``: ``say`` sends at once;
        replies reach ``prompt`` through a Server of this process serving our number."""
        self._require_ami()
        remote = check_number(recipient_number, "recipient_number")
        number = check_number(callerid_number or self.callerid_number, "callerid_number")
        existing = conversations.get(number, remote)
        if existing is not None:
            raise RuntimeError(
                f"A text conversation between {number} and {remote} is already open "
                "(a reply could not tell the two apart): hang it up first, or text from "
                "another callerid_number."
            )
        assert self.settings is not None
        ui = TextUI(
            self.send_text,
            remote_number=remote,
            local_number=number,
            idle_timeout=self.settings.TEXT_IDLE_TIMEOUT,
            started_by_us=True,
        )
        ui.answered = True
        conversations.add(ui)
        await conversations.claimed(ui)  # with REDIS_URL: its replies come here
        self._uis.add(ui)
        return ui

    async def send_text(self, to_number: str, from_number: str, body: str) -> None:
        """Send one text (see :meth:`asteramisk.server.Server.send_text`); with several
        Asterisk servers, on the next one in turn."""
        if self._nodes is not None:
            await self._nodes.in_turn(functools.partial(_send_text, to_number, from_number, body))
            return
        ami = self._require_ami()
        await send_message(
            ami,
            self._ari,
            to_number,
            from_number,
            body,
            settings=self.settings,
            from_name=self.callerid_name,
        )
        self._events.publish(TextSent(from_number=from_number, to_number=to_number, body=body))


async def _send_text(to_number: str, from_number: str, body: str, node: Any) -> None:
    await node.send_text(to_number, from_number, body)
