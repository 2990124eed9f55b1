"""Queues: callers on hold, in order, until an agent takes them.

``queue = server.queue("support", music="default", announce_every=30)``;
``await ui.enqueue(queue)`` in the caller's handler holds the caller with music and tells them
their place in line every ``announce_every`` seconds; ``caller = await queue.next(timeout=60)``
in an agent's handler (an agent who called in, or a call placed to an agent) takes the first
caller waiting, ready for ``await agent_ui.bridge(caller)``. The caller's ``enqueue`` returns
once that bridge has ended with the caller still on the line (the agent hung up: the app may
queue them again), and raises ``HangupException`` when the caller hangs up, which also takes
them out of the line. ``queue.waiting`` lists the callers waiting now.

An agent who takes a caller bridges them or hangs them up: the caller's ``enqueue`` waits for
that. Callers over FastAGI visit the server's Stasis application while they wait
(:mod:`asteramisk.asterisk.agi_stasis`), where their hangup is seen at once.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from asteramisk.exceptions import HangupException

if TYPE_CHECKING:
    from asteramisk.ui.voice import VoiceUI

__all__ = ["CallQueue"]

ANNOUNCEMENT = "You are number {position} in line. Please hold."


@dataclass
class _Waiting:
    ui: VoiceUI
    taken: asyncio.Future[None] = field(
        default_factory=lambda: asyncio.get_running_loop().create_future()
    )


class CallQueue:
    """Callers waiting for an agent (see the module)."""

    def __init__(
        self,
        name: str,
        *,
        music: str = "default",
        announce_every: float | None = 30.0,
        announcement: str = ANNOUNCEMENT,
    ) -> None:
        if announce_every is not None and announce_every <= 0:
            raise ValueError(
                f"announce_every must be positive seconds or None, not {announce_every!r}."
            )
        self.name, self.music = name, music
        self.announce_every = announce_every
        self.announcement = announcement
        """What a waiting caller is told, with ``{position}`` (1 for the next to be taken)."""
        self._line: list[_Waiting] = []
        self._arrived = asyncio.Event()

    def __repr__(self) -> str:
        return f"<CallQueue {self.name!r} waiting={len(self._line)}>"

    def __len__(self) -> int:
        return len(self._line)

    @property
    def waiting(self) -> list[VoiceUI]:
        """The callers waiting now, the next to be taken first."""
        return [entry.ui for entry in self._line]

    def position(self, ui: VoiceUI) -> int:
        """``ui``'s place in line (1: the next to be taken); 0 if not waiting."""
        for number, entry in enumerate(self._line, 1):
            if entry.ui is ui:
                return number
        return 0

    async def enqueue(self, ui: VoiceUI) -> None:
        """Hold ``ui`` in line (see the module); what ``ui.enqueue(queue)`` runs."""
        entry = _Waiting(ui)
        since = ui.bridges_ended
        self._line.append(entry)
        self._arrived.set()
        try:
            control = await ui.hold_in_stasis(self.music)
            while not entry.taken.done():
                gone = asyncio.ensure_future(control.gone.wait())
                waits: set[asyncio.Future[object]] = {entry.taken, gone}  # type: ignore[arg-type]
                if self.announce_every is not None:
                    waits.add(asyncio.ensure_future(asyncio.sleep(self.announce_every)))
                try:
                    await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
                finally:
                    for wait in waits - {entry.taken}:
                        wait.cancel()
                if control.gone.is_set():
                    raise HangupException("the caller hung up while waiting in line")
                if not entry.taken.done():
                    await ui.say(self.announcement.format(position=self.position(ui)))
                    if not entry.taken.done():  # (an agent may have taken it meanwhile)
                        control = await ui.hold_in_stasis(self.music)
        finally:
            if entry in self._line:
                self._line.remove(entry)
            if not entry.taken.done():
                entry.taken.cancel()
        # The call as the agent's bridge has it (a FastAGI call may have left Stasis for an
        # announcement since the music was started).
        await ui.until_unbridged(await ui.control.in_stasis(), since)

    async def next(self, timeout: float | None = None) -> VoiceUI | None:
        """Take the first caller waiting (waiting up to ``timeout`` seconds for one; None
        if none came). The caller stays on hold until bridged."""
        loop = asyncio.get_running_loop()
        deadline = None if timeout is None else loop.time() + timeout
        while True:
            while self._line:
                entry = self._line.pop(0)
                if not entry.taken.done() and not entry.ui.hung_up:
                    entry.taken.set_result(None)
                    return entry.ui
            self._arrived.clear()
            left = None if deadline is None else deadline - loop.time()
            if left is not None and left <= 0:
                return None
            try:
                await asyncio.wait_for(self._arrived.wait(), left)
            except TimeoutError:
                return None
