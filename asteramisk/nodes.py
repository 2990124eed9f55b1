"""Several Asterisk servers behind one Server or Communicator: one client per server, used in
turn.

:class:`Nodes` starts one member (a ``Server`` or ``Communicator`` for one Asterisk) per host,
all at once. The app starts when at least one Asterisk answers; a member whose Asterisk does
not is started again every :data:`RETRY` seconds in the background, and joins (``on_join``:
the server registers its numbers there) when it answers. A member that lost its Asterisk later
reconnects by itself (its AMI and ARI connections do) and puts its numbers back.

:meth:`Nodes.in_turn` runs an action (place a call, send a text) on the members in
round-robin order, skipping those whose Asterisk is not connected now, and tries the next one
when an Asterisk cannot be reached or fails the request.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Generic, Protocol, TypeVar

from asteramisk.exceptions import ActionError, AsteriskConnectionError
from asteramisk.lifecycle import TaskSet

__all__ = ["RETRY", "Member", "Nodes"]

log = logging.getLogger("asteramisk.nodes")

RETRY = 2.0
"""Seconds between attempts to start a member whose Asterisk did not answer."""


class Member(Protocol):
    @property
    def connected(self) -> bool: ...

    async def close(self) -> None: ...


M = TypeVar("M", bound=Member)
R = TypeVar("R")


class Nodes(Generic[M]):
    """One member per Asterisk host (see the module docstring). ``make(host, index)`` creates
    and starts a member; ``on_join(member)`` runs once it is started."""

    def __init__(
        self,
        hosts: Sequence[str],
        make: Callable[[str, int], Awaitable[M]],
        on_join: Callable[[M], Awaitable[None]] | None = None,
    ) -> None:
        if len(set(hosts)) != len(hosts):
            raise ValueError(f"ASTERISK_HOSTS names a host twice: {', '.join(hosts)}")
        self.hosts = list(hosts)
        self._make, self._on_join = make, on_join
        self.members: dict[str, M] = {}
        """The started members, by host."""
        self._turn = 0
        self._tasks = TaskSet(log, "Asterisk node start")
        self._closed = False

    def __len__(self) -> int:
        return len(self.members)

    async def start(self) -> None:
        """Start a member for every host; fails only when no Asterisk answers."""
        results = await asyncio.gather(
            *(self._make(host, index) for index, host in enumerate(self.hosts)),
            return_exceptions=True,
        )
        errors: list[BaseException] = []
        for index, (host, result) in enumerate(zip(self.hosts, results, strict=True)):
            if isinstance(result, BaseException):
                if not isinstance(result, AsteriskConnectionError):
                    errors.insert(0, result)  # a configuration error: said first
                    continue
                errors.append(result)
                log.warning("Asterisk at %s does not answer (%s); retrying in the background",
                            host, result)  # fmt: skip
                self._tasks.spawn(self._retry(host, index))
            else:
                self.members[host] = result
        if not self.members or (errors and not isinstance(errors[0], AsteriskConnectionError)):
            await self.close()
            raise errors[0]

    async def _retry(self, host: str, index: int) -> None:
        while not self._closed:
            await asyncio.sleep(RETRY)
            try:
                member = await self._make(host, index)
            except AsteriskConnectionError as exc:
                log.debug("Asterisk at %s still does not answer: %s", host, exc)
                continue
            if self._closed:
                await member.close()
                return
            if self._on_join is not None:
                await self._on_join(member)
            self.members[host] = member
            log.info("Asterisk at %s answers now: serving there too", host)
            return

    async def each(self, action: Callable[[M], Awaitable[object]]) -> None:
        """Run ``action`` on every started member (all at once); raises the first error."""
        results = await asyncio.gather(
            *(action(member) for member in list(self.members.values())), return_exceptions=True
        )
        for result in results:
            if isinstance(result, BaseException):
                raise result

    async def in_turn(self, action: Callable[[M], Awaitable[R]]) -> R:
        """Run ``action`` on the next member in turn whose Asterisk is connected, and on the
        next one again if that Asterisk cannot be reached or refuses it."""
        members = list(self.members.values())
        if not members:
            raise AsteriskConnectionError(
                f"None of the Asterisk servers ({', '.join(self.hosts)}) could be reached."
            )
        start, self._turn = self._turn, self._turn + 1
        ordered = [members[(start + i) % len(members)] for i in range(len(members))]
        ordered.sort(key=lambda member: not member.connected)  # the connected ones first
        last: Exception | None = None
        for member in ordered:
            try:
                return await action(member)
            except (AsteriskConnectionError, ActionError) as exc:
                log.warning("Asterisk node failed (%s); trying the next one", exc)
                last = exc
        assert last is not None
        raise last

    async def close(self) -> None:
        self._closed = True
        await self._tasks.cancel()
        for member in list(self.members.values()):
            with contextlib.suppress(Exception):
                await member.close()
        self.members.clear()
