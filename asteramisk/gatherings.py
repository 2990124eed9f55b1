"""Conferences and queues, kept by name by a Server or a Communicator.

``owner.conference(name)`` gives the :class:`~asteramisk.conference.Conference` of that name (a
new one if there is none, or the last one ended); ``owner.queue(name, ...)`` the
:class:`~asteramisk.call_queue.CallQueue` of that name. Closing the owner ends its conferences.
"""

from __future__ import annotations

from asteramisk.asterisk.ari import ARIClient
from asteramisk.asterisk.stasis import StasisRouter
from asteramisk.call_queue import CallQueue
from asteramisk.conference import Conference
from asteramisk.media.speech import Speech
from asteramisk.ui.arguments import check_text

__all__ = ["Gatherings"]


class Gatherings:
    """Conferences and queues by name (see the module)."""

    def _gathering_parts(self) -> tuple[ARIClient, StasisRouter, Speech]:
        """The owner's ARI connection, Stasis router and speech (ConfigurationError if it
        has no ARI)."""
        raise NotImplementedError

    @property
    def _conferences(self) -> dict[str, Conference]:
        rooms: dict[str, Conference] = vars(self).setdefault("_conference_rooms", {})
        return rooms

    @property
    def _queues(self) -> dict[str, CallQueue]:
        queues: dict[str, CallQueue] = vars(self).setdefault("_call_queues", {})
        return queues

    def conference(self, name: str) -> Conference:
        """The conference room ``name`` (see :mod:`asteramisk.conference`)."""
        _check_name("conference", name)
        room = self._conferences.get(name)
        if room is None or room.ended:
            ari, router, speech = self._gathering_parts()
            room = Conference(name, ari=ari, router=router, speech=speech, on_end=self._ended)
            self._conferences[name] = room
        return room

    def _ended(self, room: Conference) -> None:
        if self._conferences.get(room.name) is room:
            del self._conferences[room.name]

    def queue(
        self, name: str, *, music: str = "default", announce_every: float | None = 30.0
    ) -> CallQueue:
        """The queue ``name`` (see :mod:`asteramisk.call_queue`); made with ``music`` and
        ``announce_every`` the first time, the same queue after."""
        _check_name("queue", name)
        queue = self._queues.get(name)
        if queue is None:
            queue = self._queues[name] = CallQueue(name, music=music, announce_every=announce_every)
        return queue

    async def _end_conferences(self) -> None:
        for room in list(self._conferences.values()):
            await room.end()


def _check_name(kind: str, name: str) -> None:
    check_text(kind, name, "name")
    if not name.strip() or any(ord(char) < 32 for char in name):
        raise ValueError(f"{kind}(): name {name!r} must be a non-empty line of text.")
