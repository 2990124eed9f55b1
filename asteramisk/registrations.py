"""The numbers a Server serves, and its own dialplan entries for them.

Each number gets two entries: one in ``ASTERISK_INCOMING_CALL_CONTEXT`` that runs ``Stasis()``
into the server's own ARI application (``transport="ari"``) or ``AGI()`` towards its FastAGI
server (``transport="agi"``), wrapped so that the instances serving the number share its calls
(:mod:`asteramisk.asterisk.rotation`: the least busy takes each), and one in
``ASTERISK_INCOMING_TEXT_CONTEXT`` that hands texts to its FastAGI server. Each entry
remembers its context and priority (:class:`~asteramisk.asterisk.dialplan.DialplanEntry`),
so removing a number removes exactly what was added, where it was added.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass

from asteramisk.asterisk import rotation
from asteramisk.asterisk.dialplan import Dialplan, DialplanEntry
from asteramisk.config import Settings
from asteramisk.exceptions import ActionError, AsteriskConnectionError
from asteramisk.ui import TextUI, VoiceUI

__all__ = ["CallHandler", "Registration", "Registrations", "TextHandler"]

CallHandler = Callable[[VoiceUI], Awaitable[object]]
TextHandler = Callable[[TextUI], Awaitable[object]]

log = logging.getLogger("asteramisk.server")


@dataclass
class Registration:
    """One number a server serves, how, and its dialplan entries."""

    number: str
    call_handler: CallHandler | None
    text_handler: TextHandler | None
    ui_class: type[VoiceUI]
    transport: str
    call_entry: DialplanEntry | None = None
    text_entry: DialplanEntry | None = None


class Registrations:
    """The registrations of one server (see the module docstring). ``agi_url(route, number)``
    is the FastAGI URL Asterisk connects to; ``ari_app`` the server's Stasis application."""

    def __init__(
        self,
        dialplan: Dialplan,
        settings: Settings,
        *,
        ari_app: str,
        agi_url: Callable[[str, str], str],
    ) -> None:
        self.dialplan = dialplan
        self.settings = settings
        self.ari_app = ari_app
        self.app_prefix = settings.ASTERISK_ARI_APP
        """The name every instance's Stasis application starts with (then ``-`` and an id)."""
        self._agi_url = agi_url
        self._by_number: dict[str, Registration] = {}

    def __iter__(self) -> Iterator[Registration]:
        return iter(list(self._by_number.values()))

    def __len__(self) -> int:
        return len(self._by_number)

    def get(self, number: str) -> Registration | None:
        return self._by_number.get(number)

    def priorities(self) -> dict[str, int | None]:
        """Each number with the priority of its call entry."""
        return {
            r.number: r.call_entry.priority if r.call_entry else None
            for r in self._by_number.values()
        }

    def entry(self, registration: Registration, *, text: bool) -> tuple[str, str, str, str]:
        """The context, number, application and data of the entry for ``registration``."""
        number = registration.number
        if text:
            context = self.settings.ASTERISK_INCOMING_TEXT_CONTEXT
            take = f"AGI({self._agi_url('text', number)})"
            return context, number, "ExecIf", rotation.text_entry_data(take)
        context = self.settings.ASTERISK_INCOMING_CALL_CONTEXT
        if registration.transport == "ari":
            data = rotation.entry_data(self.ari_app, "stasis", f"{self.ari_app},{number}")
        else:
            data = rotation.entry_data(self.ari_app, "agi", self._agi_url("call", number))
        return context, number, "ExecIf", data

    async def add(self, registration: Registration) -> None:
        """Add the entries of ``registration`` (its number must not be registered), after
        removing those an earlier instance of the app left behind (see :meth:`clear_stale`)."""
        contexts = {self.entry(registration, text=text)[0] for text in (False, True)}
        for context in sorted(contexts):
            await self.clear_stale(context, registration.number)
        registration.call_entry = await self.dialplan.add(*self.entry(registration, text=False))
        await self._ensure_sentinel(registration.call_entry)
        registration.text_entry = await self.dialplan.add(*self.entry(registration, text=True))
        await self._mark(registration.text_entry)
        self._by_number[registration.number] = registration

    async def _mark(self, entry: DialplanEntry) -> None:
        await self.dialplan.put_step(
            rotation.markers(entry.context), entry.number, entry.priority, "NoOp", self.ari_app
        )

    async def _ensure_sentinel(self, entry: DialplanEntry) -> None:
        """The marker of ``entry``, the last step of its number's calls and the private
        steps that take a call (see :mod:`~.rotation`)."""
        await self._mark(entry)
        await self.dialplan.put_step(
            entry.context, entry.number, rotation.SENTINEL, "ExecIf", rotation.sentinel_data()
        )
        for extension, steps in rotation.take_steps().items():
            await self.dialplan.put(rotation.TAKE, extension, steps)

    async def remove(self, number: str) -> Registration | None:
        """Remove the entries of ``number``; its registration, or None if it had none."""
        registration = self._by_number.pop(number, None)
        if registration is not None:
            for entry in (registration.call_entry, registration.text_entry):
                if entry is not None:
                    await self.retire(entry)
        return registration

    async def retire(self, entry: DialplanEntry) -> None:
        """Take ``entry`` out of its number's walk, leaving no gap (a call walks priorities
        one by one, and a missing one sends it to the context's patterns): while entries
        follow it, a step that passes calls and texts on stays in its place; the last entry
        goes, with the steps left before it, and, when none is left, the sentinel."""
        entries = await self.dialplan.entries(entry.context, entry.number)
        if any(other.priority > entry.priority for other in entries):
            await self.dialplan.put_step(entry.context, entry.number, entry.priority, *_PASS_ON)
            return
        left = {e.priority: e for e in entries if (e.app, e.data) == _PASS_ON}
        priority = entry.priority
        while True:
            await self.dialplan.remove(DialplanEntry(entry.context, entry.number, "", "", priority))
            await self.dialplan.remove_quietly(
                rotation.markers(entry.context), entry.number, priority
            )
            priority -= 1
            if priority not in left:
                break
        if priority < 1 or not await self.dialplan.entries(entry.context, entry.number):
            await self.dialplan.remove_quietly(entry.context, entry.number, rotation.SENTINEL)

    async def remove_all(self) -> list[str]:
        """Remove every number's entries (closing); the numbers. An entry Asterisk cannot be
        asked to remove (it is unreachable or restarting) is logged and left: a restart
        loses it anyway, and the next server that registers the number clears it as stale."""
        numbers = list(self._by_number)
        for number in numbers:
            try:
                await self.remove(number)
            except (AsteriskConnectionError, ActionError) as exc:
                log.warning("Could not remove %s from the dialplan: %s", number, exc)
        return numbers

    async def restore(self) -> None:
        """After a reconnect: add back the entries Asterisk lost (a restart loses them)."""
        for registration in self:
            for text in (False, True):
                entry = registration.text_entry if text else registration.call_entry
                if entry is not None and await self.dialplan.present(entry):
                    continue  # this server's own entry, exactly
                added = await self.dialplan.add(*self.entry(registration, text=text))
                if text:
                    registration.text_entry = added
                    await self._mark(added)
                else:
                    registration.call_entry = added
            if registration.call_entry is not None:
                await self._ensure_sentinel(registration.call_entry)

    async def others_after(self, registration: Registration) -> bool:
        """Whether another instance serves the number's texts at a later priority."""
        entry = registration.text_entry
        if entry is None:
            return False
        last = await self.dialplan.next_priority(entry.context, entry.number) - 1
        return last > entry.priority

    async def clear_stale(self, context: str, number: str) -> list[DialplanEntry]:
        """Remove the entries of ``number`` in ``context`` that an instance of this app left
        when it stopped without closing (killed, crashed): a ``Stasis()`` into one of this
        app's applications that Asterisk no longer has, or an ``AGI()`` to a FastAGI port
        that refuses connections or that this server now listens on itself. Every call
        walked such entries first, or reached this server through a dead one. Returns them."""
        stale = []
        apps: set[str] | None = None
        own = self._agi_url("call", number).split("/call,")[0]
        for entry in await self.dialplan.entries(context, number):
            app_name, data = rotation.inner(entry.app, entry.data)
            if app_name == "Stasis" and data.startswith(f"{self.app_prefix}-"):
                app = data.split(",", 1)[0]
                if apps is None:
                    shown = await self.dialplan.ami.command("ari show apps")
                    apps = {line.strip() for line in shown.splitlines()}
                if app != self.ari_app and app not in apps:
                    stale.append(entry)
            elif app_name == "AGI" and _ours(data, number):
                where = data.split("/")[2]
                if data.startswith(f"{own}/") or not await _answers(where):
                    stale.append(entry)
        for entry in stale:
            app_name, data = rotation.inner(entry.app, entry.data)
            log.warning(
                "Removing %s@%s %d. %s(%s): left by an instance of the app that is gone",
                number,
                context,
                entry.priority,
                app_name,
                data,
            )
            await self.retire(entry)
        return stale


_PASS_ON = ("Goto", rotation.pass_on_data())
"""The step left where an entry was, while others follow it."""


def _ours(data: str, number: str) -> bool:
    """Whether ``AGI(data)`` has the shape of this library's entries for ``number``."""
    return data.startswith("agi://") and data.endswith((f"/call,{number}", f"/text,{number}"))


async def _answers(where: str) -> bool:
    """Whether a FastAGI server accepts connections at ``host:port`` (unknown counts as
    yes: only a refusal marks an entry stale)."""
    host, _, port = where.rpartition(":")
    try:
        async with asyncio.timeout(1.0):
            _reader, writer = await asyncio.open_connection(host.strip("[]"), int(port))
    except ConnectionRefusedError:
        return False
    except (OSError, TimeoutError, ValueError):
        return True
    writer.close()
    return True
