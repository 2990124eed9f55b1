"""Incoming texts of one Server: to the conversation that waits for them, or a new one.

A text reaches the server on Asterisk's message channel (FastAGI). It is read, handed over
and the channel let go at once: the conversation's handler runs in a task of its own. A reply
to a conversation already open (one the server started, or one a ``Communicator`` of this
process started) is delivered to it; a text that starts a conversation runs the number's text
handler, up to ``MAX_CONCURRENT_CONVERSATIONS``, past which it is passed on to another
instance serving the number, or answered with a busy reply.
"""

from __future__ import annotations

import base64
import logging
import re
import time
from collections.abc import Awaitable, Callable

from asteramisk.agi import AGI, core
from asteramisk.asterisk.ami import AMIClient
from asteramisk.asterisk.messaging import parse_number
from asteramisk.config import Settings
from asteramisk.events import (
    ConversationEnded,
    ConversationStarted,
    EventStream,
    HandlerFailed,
    TextReceived,
)
from asteramisk.exceptions import TextLostError
from asteramisk.handlers import run_handler
from asteramisk.lifecycle import TaskSet
from asteramisk.logs import current_call_id
from asteramisk.registrations import Registration, Registrations, TextHandler
from asteramisk.ui import TextUI
from asteramisk.ui.conversations import conversations

__all__ = ["BUSY_TEXT", "TextDispatcher"]

log = logging.getLogger("asteramisk.server")

BUSY_TEXT = "We are sorry, we cannot take another conversation right now. Please try later."
KEPT_FAMILY = "asteramisk_texts"
"""The family of Asterisk's database where the dialplan keeps texts no app took."""
_KEPT = re.compile(
    rf"^/{KEPT_FAMILY}/[^/\s]+/(\S+)\s*:\s*([A-Za-z0-9+/=]*) ([A-Za-z0-9+/=]*)\s*$", re.M
)

Send = Callable[[str, str, str], Awaitable[None]]


class TextDispatcher:
    """The incoming texts of one server (see the module docstring). ``handler_of`` gives the
    text handler of a registration, or None when the number takes no new conversations."""

    def __init__(
        self,
        registrations: Registrations,
        settings: Settings,
        *,
        send: Send,
        handler_of: Callable[[Registration], TextHandler | None],
        tasks: TaskSet,
        ami: AMIClient,
        events: EventStream,
    ) -> None:
        self.ami = ami
        self.events = events
        self.registrations = registrations
        self.settings = settings
        self._send = send
        self._handler_of = handler_of
        self._tasks = tasks
        self.conversations: set[TextUI] = set()
        """The conversations this server's text handlers hold (for the limit)."""

    async def on_text(self, agi: AGI) -> None:
        """One incoming text. Returning without hanging up passes it on to the next
        priority."""
        number = agi.args[0] if agi.args else agi.env.get("agi_extension", "")
        sender = await agi.execute(core.GetFullVariable("${MESSAGE(from)}")) or ""
        encoded = await agi.execute(core.GetFullVariable("${BASE64_ENCODE(${MESSAGE(body)})}"))
        body = base64.b64decode(encoded or "").decode("utf-8", "replace")
        their = parse_number(sender)
        lost = None if body else await _lost(agi, their, number)
        if await self._handle(number, their, lost or body):
            await agi.execute(core.Hangup())  # handled: the dialplan stops here

    async def _handle(self, number: str, their: str, body: str | TextLostError) -> bool:
        """Hand a text over; False to pass it on to the next priority."""
        if isinstance(body, str):
            self.events.publish(TextReceived(from_number=their, to_number=number, body=body))
        conversation = conversations.get(number, their)
        if conversation is not None:
            conversation.deliver(body)
            return True
        if isinstance(body, TextLostError):
            log.error("%s", body)  # no conversation to tell: said here, and handled
            return True
        if await conversations.hand_over(number, their, body):
            return True  # another host holds the conversation: it has the text now
        return await self.take(number, their, body)

    async def take(self, number: str, their: str, body: str) -> bool:
        """Start a conversation with ``body`` (or deliver it to one that began meanwhile);
        False to pass it on."""
        conversation = conversations.get(number, their)
        if conversation is not None:
            conversation.deliver(body)
            return True
        registration = self.registrations.get(number)
        handler = None if registration is None else self._handler_of(registration)
        if registration is None or handler is None:
            return False
        if len(self.conversations) < self.settings.MAX_CONCURRENT_CONVERSATIONS:
            await conversations.claimed(self._start(handler, number, their, body))
        elif await self._passed_on(registration):
            return False
        else:
            await self._send(their, number, BUSY_TEXT)
        return True

    async def deliver_kept(self, number: str) -> int:
        """Hand over, in the order they came, the texts to ``number`` that Asterisk kept
        while no app served it (``example_configs/extensions.conf``); each is taken from
        Asterisk's database by one server only. Returns how many."""
        family = f"{KEPT_FAMILY}/{number}"
        shown = await self.ami.command(f"database show {family}")
        kept = sorted(_KEPT.findall(shown))
        taken = 0
        for key, sender, body in kept:
            answer = await self.ami.action(
                {"Action": "DBDel", "Family": family, "Key": key}, check=False
            )
            if answer.get("Response") != "Success":
                continue  # another server took it first
            text = base64.b64decode(body).decode("utf-8", "replace")
            who = parse_number(base64.b64decode(sender).decode("utf-8", "replace"))
            await self._handle(number, who, text)
            taken += 1
        if taken:
            log.info("%d text(s) to %s kept while no app served it: handed over", taken, number)
        return taken

    def _start(self, handler: TextHandler, number: str, their: str, body: str) -> TextUI:
        ui = TextUI(
            self._send,
            remote_number=their,
            local_number=number,
            idle_timeout=self.settings.TEXT_IDLE_TIMEOUT,
        )
        ui.first_message = body
        conversations.add(ui)
        self.conversations.add(ui)
        self._tasks.spawn(self._converse(handler, ui))
        return ui

    async def _passed_on(self, registration: Registration) -> bool:
        """At MAX_CONCURRENT_CONVERSATIONS: pass a new conversation on to the next priority
        (another instance) when there is one; False when there is none."""
        passed = await self.registrations.others_after(registration)
        log.info(
            "At MAX_CONCURRENT_CONVERSATIONS (%d): a text to %s %s",
            self.settings.MAX_CONCURRENT_CONVERSATIONS,
            registration.number,
            "passed on to the next priority" if passed else "answered with a busy reply",
        )
        return passed

    async def _converse(self, handler: TextHandler, ui: TextUI) -> None:
        conversation_id = f"text:{ui.remote_number}:{ui.local_number}"
        conversation = current_call_id.set(conversation_id)
        started = time.time()
        self.events.publish(
            ConversationStarted(
                call_id=conversation_id, from_number=ui.remote_number, to_number=ui.local_number
            )
        )
        outcome = "failed"
        try:
            outcome, error = await run_handler(handler, ui)
            if error is not None:
                self.events.publish(HandlerFailed(call_id=conversation_id, error=error))
        finally:
            ui.hung_up = True
            conversations.remove(ui)
            self.conversations.discard(ui)
            self.events.publish(
                ConversationEnded(
                    call_id=conversation_id, duration=time.time() - started, outcome=outcome
                )
            )
            current_call_id.reset(conversation)


async def _lost(agi: AGI, their: str, number: str) -> TextLostError | None:
    """The error for a text whose body Asterisk dropped (an empty body from a message that
    had one), or None for a text that was empty."""
    length = await agi.execute(core.GetFullVariable("${MESSAGE_DATA(Content-Length)}")) or ""
    if not length.isdigit() or int(length) == 0:
        return None
    return TextLostError(
        f"A text of {length} bytes from {their} to {number} reached Asterisk without its "
        "body: Asterisk's PJSIP drops incoming SIP MESSAGE bodies of 1024 bytes or more "
        "(MAX_BODY_SIZE in res_pjsip_messaging). Ask the sender for shorter texts.",
        int(length),
    )
