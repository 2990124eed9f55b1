"""Which call a log line is about: every line logged while a call's (or a text
conversation's) handler runs carries its id.

::

    import logging
    from asteramisk.logs import CallIdFilter, FORMAT

    handler = logging.StreamHandler()
    handler.addFilter(CallIdFilter())
    handler.setFormatter(logging.Formatter(FORMAT))
    logging.basicConfig(level=logging.INFO, handlers=[handler])

gives lines such as ``12:00:01 INFO asteramisk.server [1733400000.42] The handler for ...``.
The id is the one of :mod:`asteramisk.events` (Asterisk's channel id, ``text:<them>:<us>`` for
a conversation), in a context variable set in the call's task: your handler's own log lines,
and those of the tasks it starts, carry it too. Outside a call it is ``-``.
"""

from __future__ import annotations

import logging
from contextvars import ContextVar

__all__ = ["FORMAT", "CallIdFilter", "current_call_id"]

current_call_id: ContextVar[str] = ContextVar("asteramisk_call_id", default="-")
"""The id of the call (or conversation) the running task serves."""

FORMAT = "%(asctime)s %(levelname)s %(name)s [%(call_id)s] %(message)s"
"""A log format with the call id (needs :class:`CallIdFilter` on the handler)."""


class CallIdFilter(logging.Filter):
    """Adds ``call_id`` to every record (add it to a handler, then use ``%(call_id)s``)."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.call_id = current_call_id.get()
        return True
