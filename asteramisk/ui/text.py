"""TextUI: a text-message conversation, with the same verbs as a call.

A conversation is keyed by (our number, their number). ``say`` sends a text (AMI
``MessageSend`` with ``Base64Body``, so unicode, emoji and line breaks pass intact and nothing
in a body can become an AMI header). ``prompt`` sends and waits for the reply; ``gather`` asks
for digits. The menus of the UI base read as numbered lists. A conversation idle for
``TEXT_IDLE_TIMEOUT`` seconds ends, and the handler sees it as a hangup.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Awaitable, Callable, Mapping
from typing import TYPE_CHECKING, Any

from asteramisk.asterisk.messaging import check_number, encode_body, parse_number
from asteramisk.config import config
from asteramisk.exceptions import ConfigurationError, HangupException, TextLostError
from asteramisk.ui.arguments import check_text
from asteramisk.ui.base import UI, spoken_digits
from asteramisk.ui.conversations import conversations

if TYPE_CHECKING:
    from asteramisk.agent.session import AgentSession

__all__ = ["TextUI", "check_number", "encode_body", "parse_number"]

Sender = Callable[[str, str, str], Awaitable[None]]
"""``send(to_number, from_number, body)``: delivers one text."""


class TextUI(UI):
    """A text conversation (see the module docstring)."""

    def __init__(
        self,
        send: Sender,
        *,
        remote_number: str = "",
        remote_name: str = "",
        local_number: str = "",
        idle_timeout: float | None = None,
        started_by_us: bool = False,
    ) -> None:
        super().__init__(
            remote_number=remote_number, remote_name=remote_name, local_number=local_number
        )
        self._send = send
        self.inbox: asyncio.Queue[str | TextLostError] = asyncio.Queue()
        self.first_message = ""
        """The text that started the conversation."""
        self.idle_timeout = idle_timeout or config.TEXT_IDLE_TIMEOUT
        self.transcript: list[tuple[str, str]] = []
        self.started_by_us = started_by_us
        """True for a conversation we opened (``Communicator.make_text``): its replies arrive
        through a Server of this process that serves ``local_number``."""

    def deliver(self, body: str | TextLostError) -> None:
        """A text from the other party arrived (called by the server); a
        :class:`TextLostError` for one whose body was lost, raised by the ``prompt`` that
        takes it."""
        if isinstance(body, TextLostError):
            self.transcript.append(("lost", str(body.length)))
        else:
            self.transcript.append(("received", body))
        self.inbox.put_nowait(body)

    async def answer(self) -> None:
        self._check_open()
        self.answered = True

    async def hangup(self) -> None:
        self.hung_up = True
        conversations.remove(self)

    async def say(self, text: str) -> None:
        """Send ``text`` as a message."""
        check_text("say", text)
        self._check_open()
        self.transcript.append(("sent", text))
        await self._send(self.remote_number, self.local_number, text)

    async def play(self, sound: str) -> None:
        """Texts cannot play sounds: the sound's name is sent as text."""
        await self.say(sound)

    async def _next(self, timeout: float) -> str:
        if (
            self.started_by_us
            and self.inbox.empty()
            and not conversations.receives(self.local_number)
        ):
            raise ConfigurationError(
                f"Replies to texts from {self.local_number} reach this process only through a "
                f"Server serving that number: in this process, run `server = await "
                f"Server.create()` and `await server.register_extension("
                f"{self.local_number!r}, ...)` before waiting for a reply."
            )
        try:
            async with asyncio.timeout(timeout):
                reply = await self.inbox.get()
        except TimeoutError:
            self.hung_up = True
            raise HangupException(
                f"no reply within {timeout:g} s: the conversation has ended"
            ) from None
        if isinstance(reply, TextLostError):
            raise reply
        return reply

    async def prompt(self, text: str, *, timeout: float | None = None) -> str:
        """Send ``text`` and return the reply (HangupException after ``timeout`` of silence;
        :class:`~asteramisk.exceptions.TextLostError` for a reply whose body Asterisk lost)."""
        self._check_open()
        if text:
            await self.say(text)
        return (await self._next(timeout or self.idle_timeout)).strip()

    async def gather(
        self,
        text: str = "",
        num_digits: int = 1,
        *,
        timeout: float = 5.0,
        finish_on_key: str = "#",
        speech: bool = False,
    ) -> str:
        """Send ``text`` and return the digits of the reply (at most ``num_digits``);
        ``speech=True`` takes digits written as words too ("four two")."""
        reply = await self.prompt(text, timeout=max(timeout, self.idle_timeout))
        if finish_on_key and finish_on_key in reply:
            reply = reply[: reply.index(finish_on_key)]
        if reply.strip() == self.back_key:
            return self.back_key
        digits = re.sub(r"[^0-9*#]", "", reply)
        if speech and not digits:
            digits = spoken_digits(reply)
        return digits[:num_digits]

    def _menu_wording(self, text: str, labels: Mapping[str, str]) -> str:
        lines = [text] if text else []
        lines += [f"{key}. {label}" for key, label in labels.items()]
        lines.append("Reply with the number.")
        return "\n".join(lines)

    def _invalid_wording(self) -> str:
        return "Sorry, that is not one of the choices."

    async def _connect_agent(self, agent: Any, options: dict[str, Any]) -> AgentSession:
        from asteramisk.agent.session import AgentOptions
        from asteramisk.agent.text import run_text

        return await run_text(self, agent, AgentOptions(**options))
