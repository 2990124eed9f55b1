"""The calls a Server runs: admitted or passed on, one handler each, whatever the transport.

:class:`CallDispatch` takes a call Asterisk hands to a server (a FastAGI connection, or a
channel entering its Stasis application), admits it (its number still served, fewer than
``MAX_CONCURRENT_CALLS`` calls up) or passes it on to the dialplan's next priority, runs the
registration's handler with a :class:`~asteramisk.ui.VoiceUI`, and hangs up after it. It
counts the calls and tells the server's :class:`~asteramisk.events.EventStream` when each
starts and ends (with its :class:`~asteramisk.events.CallRecord`).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from asteramisk.agi import AGI
from asteramisk.asterisk.agi_control import AGIControl
from asteramisk.asterisk.ari import ARIClient
from asteramisk.asterisk.ari_control import ARIControl
from asteramisk.asterisk.control import CallControl
from asteramisk.asterisk.stasis import StasisRouter, channel_of
from asteramisk.config import Settings
from asteramisk.events import (
    CallRecord,
    EventStream,
    HandlerFailed,
    SpeechDone,
)
from asteramisk.handlers import Outcome, known, run_handler
from asteramisk.lifecycle import TaskSet
from asteramisk.logs import current_call_id
from asteramisk.media.audio_server import AudioSocketServer
from asteramisk.media.speech import Speech
from asteramisk.registrations import Registration, Registrations
from asteramisk.ui import VoiceUI

__all__ = ["CallDispatch", "speech_timings"]

log = logging.getLogger("asteramisk.server")

ENDED_TIMEOUT = 2.0
"""How long a call's end waits for Asterisk to say why the call ended (its cause)."""


class CallDispatch:
    """Admits and runs one server's calls (see the module docstring)."""

    def __init__(
        self,
        *,
        settings: Settings,
        registrations: Registrations,
        speech: Speech,
        audio: AudioSocketServer,
        ari: ARIClient | None,
        router: StasisRouter,
        tasks: TaskSet,
        events: EventStream,
        default_handler: Callable[[VoiceUI], Awaitable[None]],
        music_check: Callable[[str], Awaitable[None]] | None = None,
    ) -> None:
        self.settings, self.registrations = settings, registrations
        self.speech, self.audio, self.ari, self.router = speech, audio, ari, router
        self.tasks, self.events, self.default_handler = tasks, events, default_handler
        self.music_check = music_check
        """Checks a music-on-hold class before a call holds with it."""
        self.active: set[asyncio.Task[Any]] = set()
        """The tasks of the calls whose handlers run now."""
        self.calls_served = 0

    def admit(self, number: str) -> Registration | None:
        """The registration serving ``number``, or None to pass the call on."""
        registration = self.registrations.get(number)
        if registration is None:
            log.warning("A call for %s, which this server no longer serves: passed on", number)
            return None
        if len(self.active) >= self.settings.MAX_CONCURRENT_CALLS:
            log.info(
                "At MAX_CONCURRENT_CALLS (%d): call for %s passed on to the next priority",
                self.settings.MAX_CONCURRENT_CALLS,
                number,
            )
            return None
        return registration

    async def on_agi_call(self, agi: AGI) -> None:
        """A call over FastAGI. Returning without hanging up passes it on."""
        number = agi.args[0] if agi.args else agi.env.get("agi_extension", "")
        registration = self.admit(number)
        if registration is not None:
            endpoint = self.settings.ASTERISK_PSTN_ENDPOINT
            control = AGIControl(agi, endpoint, audio=self.audio, ari=self.ari, router=self.router)
            control.music_check = self.music_check
            caller = known(agi.env.get("agi_callerid"))
            await self.serve(registration, control, caller, known(agi.env.get("agi_calleridname")))

    def on_new_channel(self, event: dict[str, Any]) -> None:
        """An event of a channel no call of ours routes: a new call entering our Stasis
        application (its own events are routed to its control from here on)."""
        if event.get("type") != "StasisStart" or self.ari is None:
            return
        channel = event.get("channel") or {}
        channel_id = channel_of(event)
        args = event.get("args") or []
        number = str(args[0]) if args else str(channel.get("dialplan", {}).get("exten", ""))
        registration = self.admit(number)
        if registration is None:  # passed on: the dialplan continues at the next priority
            self.tasks.spawn(
                self.ari.cleanup("channels", "continueInDialplan", channelId=channel_id)
            )
            return
        control = ARIControl(
            self.ari,
            channel_id,
            self.settings.ASTERISK_PSTN_ENDPOINT,
            router=self.router,
            audio=self.audio,
        )
        control.music_check = self.music_check
        self.router.add(channel_id, control.on_event, control.reconcile)
        self.tasks.spawn(control.follow())
        caller = channel.get("caller") or {}
        name = known(caller.get("name"))
        self.tasks.spawn(
            self._on_ari_call(registration, control, known(caller.get("number")), name)
        )

    async def _on_ari_call(
        self, registration: Registration, control: ARIControl, caller: str, name: str
    ) -> None:
        """A call over ARI, admitted: serve it, then release what it used."""
        try:
            await self.serve(registration, control, caller, name)
        finally:
            self.router.remove(control.channel_id)
            await control.close()

    async def serve(
        self,
        registration: Registration,
        control: CallControl,
        remote_number: str,
        remote_name: str,
    ) -> None:
        """Run the handler of one call, whatever its transport (see the module docstring)."""
        task = asyncio.current_task()
        assert task is not None
        call_id = current_call_id.set(control.call_id or "-")  # this task and what it starts
        self.active.add(task)
        self.calls_served += 1
        transport = "agi" if isinstance(control, AGIControl) else "ari"
        record = CallRecord(
            call_id=control.call_id,
            direction="inbound",
            transport=transport,
            from_number=remote_number,
            to_number=registration.number,
            asterisk_host=self.settings.ASTERISK_HOST,
            events=self.events,
        )
        record.started()
        ui = registration.ui_class(
            control,
            speech=self.speech,
            remote_number=remote_number,
            remote_name=remote_name,
            local_number=registration.number,
            record=record,
        )
        outcome: Outcome = "failed"
        error: Exception | None = None
        try:
            handler = registration.call_handler or self.default_handler
            outcome, error = await run_handler(handler, ui)
            if control.handoff is not None:  # connected to another call until either ends
                await control.handoff
        finally:
            self.active.discard(task)
            # the app hung up itself, or the caller was gone (HangupException); else the
            # handler ended and the server hangs up for it
            by = record.hung_up_by or ("caller" if outcome == "hung up" else "app")
            if not ui.hung_up:
                try:
                    await ui.hangup()
                except Exception:
                    log.debug("Hangup after the handler failed", exc_info=True)
            record.hung_up_by = by
            await control.ended(ENDED_TIMEOUT)  # how it ended (ARI says it just after)
            self._ended(record, ui, outcome, error, control)
            current_call_id.reset(call_id)

    def _ended(
        self,
        record: CallRecord,
        ui: VoiceUI,
        outcome: Outcome,
        error: Exception | None,
        control: CallControl,
    ) -> None:
        record.outcome = outcome
        record.cause = control.hangup_cause
        record.transcript = list(ui.transcript)
        if error is not None:
            self.events.publish(HandlerFailed(call_id=record.call_id, error=error))
        record.ended()


def speech_timings(events: EventStream) -> Callable[[str, float, bool], None]:
    """What a :class:`Speech` tells its timings to (``speech.on_timing``): published as
    :class:`~asteramisk.events.SpeechDone` of the call being served."""

    def timed(kind: str, seconds: float, cached: bool) -> None:
        events.publish(
            SpeechDone(
                call_id=current_call_id.get(),
                kind="tts" if kind == "tts" else "stt",
                seconds=seconds,
                cached=cached,
            )
        )

    return timed
