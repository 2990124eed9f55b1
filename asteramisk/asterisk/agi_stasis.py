"""A FastAGI call's visit to the owner's Stasis application, for what only ARI can do.

Bridges, conferences and queues are ARI's. A call over FastAGI gets there with ``EXEC
Stasis(app)``: the channel enters the application of the server's ARI connection, where an
:class:`~asteramisk.asterisk.ari_control.ARIControl` drives it like any ARI call, while the
AGI session waits for ``Stasis()`` to return. :meth:`StasisVisit.leave` sends the channel back
(``continueInDialplan``): ``Stasis()`` returns, and the AGI session has the call again.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

from asteramisk.agi import AGI, core
from asteramisk.asterisk.ari import ARIClient
from asteramisk.asterisk.ari_control import ARIControl
from asteramisk.asterisk.control import CallControl
from asteramisk.asterisk.stasis import StasisRouter
from asteramisk.exceptions import ActionError, HangupException
from asteramisk.media.audio_server import AudioSocketServer

__all__ = ["StasisVisit"]

ENTER_TIMEOUT = 5.0


class StasisVisit:
    """The AGI call ``call_id`` in ``ari``'s Stasis application (see the module)."""

    def __init__(
        self,
        agi: AGI,
        ari: ARIClient,
        router: StasisRouter,
        audio: AudioSocketServer,
        pstn_endpoint: str,
        call_id: str,
    ) -> None:
        self.agi, self.ari, self.router = agi, ari, router
        self.control = ARIControl(ari, call_id, pstn_endpoint, router=router, audio=audio)
        self._running: asyncio.Future[Any] | None = None

    async def enter(self) -> ARIControl:
        """Send the channel into the application; its control once it is there."""
        call_id = self.control.channel_id
        entered: asyncio.Future[Any] = self.router.entered(call_id)
        self.router.add(call_id, self.control.on_event, self.control.reconcile)
        running = asyncio.ensure_future(
            self.agi.execute(core.Exec("Stasis", [self.ari.app, "asteramisk-agi"]))
        )
        self._running = running
        done, _ = await asyncio.wait(
            {entered, running}, timeout=ENTER_TIMEOUT, return_when=asyncio.FIRST_COMPLETED
        )
        if entered not in done:
            entered.cancel()
            self.router.remove(call_id)
            if running.done():
                running.result()  # the caller hung up: raises it
                raise ActionError(
                    f"Stasis({self.ari.app}) returned at once: is the ARI application "
                    "connected (ASTERISK_ARI_USER) and the channel still up?"
                )
            raise ActionError(f"The call did not enter Stasis({self.ari.app}) within 5 s.")
        return self.control

    async def leave(self) -> list[CallControl]:
        """Send the channel back to the AGI session (no error if it has hung up); the calls
        placed during the visit, which are the AGI call's from now on."""
        running, self._running = self._running, None
        legs, self.control.legs = self.control.legs, []
        if running is None:
            return legs
        if not self.control.gone.is_set():
            await self.ari.cleanup(
                "channels", "continueInDialplan", channelId=self.control.channel_id
            )
        await self.control.close()
        self.router.remove(self.control.channel_id)
        # Stasis() returned; a hangup during the visit is the next command's to report
        with contextlib.suppress(core.AGIException, HangupException):
            await running
        return legs
