"""Our entries in Asterisk's dialplan: added at the next free priority, removed exactly.

Entries are added with AMI ``DialplanExtensionAdd`` and live in Asterisk's memory. Several
instances of an app can serve one number, each at its own priority: :meth:`Dialplan.add` takes
the next free one (and looks again when another instance took it meanwhile). Each entry
remembers its context and priority, so removing it removes exactly what was added.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass

from asteramisk.asterisk.ami import AMIClient
from asteramisk.asterisk.rotation import SENTINEL
from asteramisk.exceptions import ActionError

__all__ = ["Dialplan", "DialplanEntry", "parse_entries"]

log = logging.getLogger(__name__)

_EXTENSION_LINE = re.compile(r"^\s*'([^']*)'\s*=>\s*(\d+)\.")
_STEP = re.compile(r"(\d+)\.\s+(\w+)\((.*)\)\s+\[[^\]]*\]\s*$")
_ATTEMPTS = 5


@dataclass(frozen=True)
class DialplanEntry:
    """One line of the dialplan: ``number`` at ``priority`` in ``context`` runs ``app(data)``."""

    context: str
    number: str
    app: str
    data: str
    priority: int = 0

    @property
    def line(self) -> str:
        """How ``dialplan show`` prints the application of this entry."""
        return f"{self.app}({self.data})"


class Dialplan:
    """Adds and removes dialplan entries over one AMI connection."""

    def __init__(self, ami: AMIClient) -> None:
        self.ami = ami

    async def put(self, context: str, extension: str, steps: list[tuple[str, str]]) -> None:
        """Write ``steps`` (application, data) as priorities 1, 2, ... of ``extension`` in
        ``context``, replacing what is there: a private context of the library's own (a
        probe, a test call), not a number others share."""
        for priority, (app, data) in enumerate(steps, start=1):
            await self.put_step(context, extension, priority, app, data)

    async def put_step(
        self, context: str, extension: str, priority: int, app: str, data: str
    ) -> None:
        """Write ``app(data)`` at ``priority`` of ``extension``, replacing what is there (a
        step every instance writes alike: the rotation's last step)."""
        await self.ami.action(
            {
                "Action": "DialplanExtensionAdd",
                "Context": context,
                "Extension": extension,
                "Priority": str(priority),
                "Application": app,
                "ApplicationData": data,
                "Replace": "yes",
            }
        )

    async def drop_context(self, context: str) -> None:
        """Remove a private context whole (no error if it is gone)."""
        await self.ami.action(
            {"Action": "Command", "Command": f"dialplan remove context {context}"}, check=False
        )

    async def add(self, context: str, number: str, app: str, data: str) -> DialplanEntry:
        """Add ``app(data)`` for ``number`` in ``context`` at the next free priority."""
        for _attempt in range(_ATTEMPTS):
            priority = await self.next_priority(context, number)
            try:
                await self.ami.action(
                    {
                        "Action": "DialplanExtensionAdd",
                        "Context": context,
                        "Extension": number,
                        "Priority": str(priority),
                        "Application": app,
                        "ApplicationData": data,
                    }
                )
            except ActionError:
                continue  # another instance took that priority meanwhile: look again
            log.info("Serving %s@%s at priority %d", number, context, priority)
            return DialplanEntry(context, number, app, data, priority)
        raise ActionError(f"Could not add {number} to the dialplan of {context}")

    async def remove(self, entry: DialplanEntry) -> None:
        """Remove exactly ``entry`` (a warning, not an error, if Asterisk refuses)."""
        try:
            await self.ami.action(
                {
                    "Action": "DialplanExtensionRemove",
                    "Context": entry.context,
                    "Extension": entry.number,
                    "Priority": str(entry.priority),
                }
            )
        except ActionError as exc:
            log.warning("Could not remove %s@%s: %s", entry.number, entry.context, exc)

    async def remove_quietly(self, context: str, extension: str, priority: int) -> None:
        """Remove a step if it is there (nothing said if it is not)."""
        await self.ami.action(
            {
                "Action": "DialplanExtensionRemove",
                "Context": context,
                "Extension": extension,
                "Priority": str(priority),
            },
            check=False,
        )

    async def present(self, entry: DialplanEntry) -> bool:
        """Whether Asterisk still has ``entry``'s application for its number (a restart loses
        every entry added over AMI)."""
        output = await self.ami.command(f"dialplan show {entry.number}@{entry.context}")
        return entry.line in output

    async def next_priority(self, context: str, number: str) -> int:
        """One past the highest priority ``number`` has in ``context`` (1 if none)."""
        return max([0, *(e.priority for e in await self.entries(context, number))]) + 1

    async def entries(self, context: str, number: str) -> list[DialplanEntry]:
        """The entries of exactly ``number`` in ``context`` (not the patterns it matches),
        without the rotation's last step (:data:`~.rotation.SENTINEL`)."""
        output = await self.ami.command(f"dialplan show {number}@{context}")
        return [e for e in parse_entries(output, context, number) if e.priority < SENTINEL]


def parse_entries(output: str, context: str, number: str) -> list[DialplanEntry]:
    """The entries of ``number`` in the output of ``dialplan show NUMBER@CONTEXT``."""
    current: str | None = None
    found = []
    for line in output.splitlines():
        match = _EXTENSION_LINE.match(line)
        if match:
            current = match.group(1)
        step = _STEP.search(line)  # "N. App(data) [registrar]", labelled or not
        if current == number and step:
            app, data = step.group(2), step.group(3)
            found.append(DialplanEntry(context, number, app, data, int(step.group(1))))
    return found
