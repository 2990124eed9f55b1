"""How long each verb of a call takes, for its :class:`~asteramisk.events.CallRecord`.

``@timed_verbs("say", "gather", ...)`` on a UI class wraps those methods: when the UI has a
``call_record``, the verb's seconds go to ``record.verb_done`` (which publishes
:class:`~asteramisk.events.VerbDone`). Only the verb the handler called is timed: a
``gather`` that says its prompt counts once, as ``gather``. While a verb runs,
:data:`~asteramisk.logs.current_call_id` is its call's id: what it logs, and the speech it
synthesises or recognises (:class:`~asteramisk.events.SpeechDone`), belong to its call even
when the verb runs outside the call's own task (an outgoing call's verbs run in the app's).
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable
from typing import Any, TypeVar

from asteramisk.events import CallRecord
from asteramisk.logs import current_call_id

__all__ = ["timed_verbs"]

C = TypeVar("C", bound=type)


def timed_verbs(*verbs: str) -> Callable[[C], C]:
    """Time the methods ``verbs`` of the decorated class (see the module docstring)."""

    def decorate(cls: C) -> C:
        for verb in verbs:
            setattr(cls, verb, _timed(verb, getattr(cls, verb)))
        return cls

    return decorate


def _timed(verb: str, method: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(method)
    async def timed(self: Any, *args: Any, **kwargs: Any) -> Any:
        record: CallRecord | None = getattr(self, "call_record", None)
        if record is None or record.in_verb:
            return await method(self, *args, **kwargs)
        record.in_verb = True
        call = current_call_id.set(record.call_id)
        started = time.perf_counter()
        ok = False
        try:
            result = await method(self, *args, **kwargs)
            ok = True
            return result
        finally:
            record.in_verb = False
            current_call_id.reset(call)
            record.verb_done(verb, time.perf_counter() - started, ok)

    return timed
