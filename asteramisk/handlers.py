"""Running an app's handler for one call or text conversation, the same way everywhere.

A hangup is an outcome; an error is logged and the person gets an apology; the server goes on
either way.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any, Literal

from asteramisk.exceptions import HangupException
from asteramisk.ui import UI, VoiceUI

__all__ = ["APOLOGY", "Outcome", "known", "run_handler"]

log = logging.getLogger("asteramisk.server")

APOLOGY = "We are sorry, something went wrong. Goodbye."


Outcome = Literal["completed", "hung up", "failed"]


async def run_handler(
    handler: Callable[[Any], Awaitable[object]], ui: UI
) -> tuple[Outcome, Exception | None]:
    """Run a call or text handler (see the module docstring); how it ended, and what it
    raised if it failed."""
    try:
        await handler(ui)
    except HangupException:
        log.debug("%s with %s ended", type(ui).__name__, ui.remote_number)
        return "hung up", None
    except Exception as exc:
        log.exception("The handler for %s (%s) raised", ui.local_number, type(ui).__name__)
        await _apologise(ui)
        return "failed", exc
    return "completed", None


async def _apologise(ui: UI) -> None:
    try:
        await ui.say(APOLOGY)
    except HangupException:
        return
    except Exception:
        if not isinstance(ui, VoiceUI):
            log.debug("Could not send the apology", exc_info=True)
            return
        try:  # speech synthesis may be what failed: Asterisk's own recording
            await ui.audio.play("an-error-has-occured", "")
        except Exception:
            log.debug("Could not play the apology", exc_info=True)


def known(value: str | None) -> str:
    """A caller id as Asterisk gives it, '' when it is unknown."""
    return "" if value in (None, "", "unknown") else str(value)
