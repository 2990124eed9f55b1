"""The Communicator: outgoing calls and texts, from anywhere in an app.

::

    async with await Communicator.create(callerid_number="5551234", callerid_name="Clinic") as c:
        ui = await c.make_call("5550100", timeout=30)   # a VoiceUI once answered
        await ui.say("Your appointment is tomorrow at nine.")
        await ui.hangup()

        text = await c.make_text("5550100")           # a TextUI
        answer = await text.prompt("Reply YES to confirm")

``make_call`` originates the call over ARI into the communicator's own Stasis application and
learns from Asterisk's events whether it was answered (no polling). A call that is refused,
busy or not answered within ``timeout`` raises
:class:`~asteramisk.exceptions.CallFailedException` with the Q.850 cause (17 busy,
19 no answer, ...). Cancelling the task waiting in ``make_call`` hangs the call up.

Texts go out through the PSTN endpoint at once. Their replies come in through Asterisk's text
context, so a conversation that waits for a reply needs a
:class:`~asteramisk.server.Server` serving the caller-ID number in the same process; without
one, ``prompt`` says so (:class:`~asteramisk.exceptions.ConfigurationError`).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import math
import re
import uuid
import weakref
from collections.abc import Sequence
from typing import Any, Literal, Self

from asteramisk.addresses import advertised_host, listen_address
from asteramisk.asterisk.ami import AMIClient
from asteramisk.asterisk.ari import ARIClient
from asteramisk.asterisk.ari_control import ARIControl
from asteramisk.asterisk.messaging import check_number
from asteramisk.asterisk.music import MusicClasses
from asteramisk.asterisk.sound_probe import sound_plays
from asteramisk.asterisk.stasis import StasisRouter
from asteramisk.calls import speech_timings
from asteramisk.communicator_nodes import CommunicatorNodes
from asteramisk.communicator_texts import CommunicatorTexts
from asteramisk.config import Settings, config
from asteramisk.events import CallRecord, EventSource, EventStream
from asteramisk.exceptions import ActionError, CallFailedException, ConfigurationError
from asteramisk.gatherings import Gatherings
from asteramisk.lifecycle import AsyncResource, TaskSet
from asteramisk.media.audio_server import AudioSocketServer
from asteramisk.media.machine import MachineSettings
from asteramisk.media.speech import Speech
from asteramisk.nodes import Nodes
from asteramisk.outgoing import OutgoingCall, StatusCallback
from asteramisk.text_relay import acquire
from asteramisk.ui import UI, VoiceUI
from asteramisk.ui.arguments import check_channel
from asteramisk.ui.machine import detect_answerer

__all__ = ["Communicator"]

log = logging.getLogger(__name__)

_NAME_FORBIDDEN = re.compile(r"[\"<>\\\x00-\x1f\x7f]")


def _caller_id(number: str, name: str) -> str:
    if _NAME_FORBIDDEN.search(name):
        raise ValueError(
            f"callerid_name {name!r} contains a quote, angle bracket, backslash or control "
            "character, which a caller ID cannot carry: remove them."
        )
    return f'"{name}" <{number}>' if name else number


def _destination(
    recipient_number: str | None, channel: str | None, settings: Settings
) -> tuple[str, str]:
    """make_call's endpoint to dial and the remote party's number (or channel)."""
    if (recipient_number is None) == (channel is None):
        raise ValueError("make_call needs recipient_number or channel (one of the two).")
    if channel is not None:
        channel = check_channel("make_call", channel)
        return channel, channel
    remote = check_number(str(recipient_number), "recipient_number")
    return f"PJSIP/{remote}@{settings.ASTERISK_PSTN_ENDPOINT}", remote


class Communicator(EventSource, CommunicatorNodes, CommunicatorTexts, Gatherings, AsyncResource):
    """Starts calls and texts (see the module docstring).

    ``callerid_number`` is the number calls and texts come from (default ``SYSTEM_PHONE_NUMBER``),
    ``callerid_name`` the name shown with calls (default ``SYSTEM_NAME``). Both can be changed
    per call. Like a ``Server``, it owns its connections, its
    :class:`~asteramisk.media.speech.Speech` and its AudioSocket server, and reads the rest of
    the configuration once, at ``start()``.
    """

    def __init__(
        self,
        callerid_number: str | None = None,
        callerid_name: str | None = None,
        *,
        asterisks: Sequence[str] | None = None,
        settings: Settings | None = None,
    ) -> None:
        number = callerid_number if callerid_number is not None else config.SYSTEM_PHONE_NUMBER
        if not number:
            raise ConfigurationError(
                "No caller ID number: pass Communicator.create(callerid_number='...') or set "
                "SYSTEM_PHONE_NUMBER (config.SYSTEM_PHONE_NUMBER = ... or export "
                "SYSTEM_PHONE_NUMBER=...)."
            )
        self.callerid_number = check_number(number, "callerid_number")
        self.callerid_name: str = callerid_name if callerid_name is not None else config.SYSTEM_NAME
        _caller_id(self.callerid_number, self.callerid_name)
        self.ari_app = ""
        """The Stasis application this communicator's calls run in (named at ``start()``)."""
        self.settings: Settings | None = settings
        """The configuration read at ``start()``."""
        self._asterisks = tuple(asterisks or ())
        self._nodes: Nodes[Communicator] | None = None
        self.speech: Speech | None = None
        """Speech synthesis and recognition of this communicator's calls."""
        self._ami: AMIClient | None = None
        self._music: MusicClasses | None = None
        self._ari: ARIClient | None = None
        self._audio: AudioSocketServer | None = None
        self._resources = contextlib.AsyncExitStack()
        self._router = StasisRouter()
        self._outgoing: dict[str, OutgoingCall] = {}
        self._events = EventStream()
        self._tasks = TaskSet(log, "on_status callback")
        self._uis: weakref.WeakSet[UI] = weakref.WeakSet()
        self._closed = False

    def __repr__(self) -> str:
        return f"<Communicator {self.callerid_number} calls={len(self._router)}>"

    @classmethod
    async def create(
        cls,
        callerid_number: str | None = None,
        callerid_name: str | None = None,
        *,
        asterisks: Sequence[str] | None = None,
    ) -> Self:
        """Create a communicator and connect it to Asterisk (AMI, and ARI for calls).
        ``asterisks``: several Asterisk servers (default ``ASTERISK_HOSTS``), used in turn
        for each call and text, the next one when one cannot be reached."""
        communicator = cls(callerid_number, callerid_name, asterisks=asterisks)
        await communicator.start()
        return communicator

    async def _open(self) -> None:
        if self._ami is None and self._nodes is None:
            await self.start()

    async def start(self) -> None:
        """Read the configuration; connect to AMI (texts) and, when its credentials are set,
        to ARI (calls)."""
        settings = self.settings or config.snapshot()
        settings.validate(
            "ASTERISK_HOST", "ASTERISK_AMI_PORT", "ASTERISK_AMI_USER", "ASTERISK_AMI_PASS"
        )
        hosts = self._asterisks or settings.asterisk_hosts()
        self.settings = settings = settings.replace(ASTERISK_HOST=hosts[0], ASTERISK_HOSTS="")
        if len(hosts) > 1:
            return await self._start_nodes(settings, hosts)
        speech = Speech.from_settings(settings)  # checks TTS_* first
        self.settings = settings
        self.ari_app = f"{settings.ASTERISK_ARI_APP}-out-{uuid.uuid4().hex[:8]}"
        async with contextlib.AsyncExitStack() as resources:
            self._ami = await resources.enter_async_context(AMIClient.from_settings(settings))
            self._music = MusicClasses(self._ami)
            if settings.is_set("ASTERISK_ARI_USER") and settings.is_set("ASTERISK_ARI_PASS"):
                ari = ARIClient.from_settings(settings, app=self.ari_app)
                self._ari = await resources.enter_async_context(ari)
                self._ari.on_event("*", self._router.dispatch)
                self._ari.add_connect_hook(self._router.reconcile)
            host, _ = listen_address(settings, None, None)
            advertise = speech.advertise_host = advertised_host(
                settings, host, self._ami.local_address
            )
            speech.sound_check = functools.partial(sound_plays, self._ami)
            speech.on_timing = speech_timings(self._events)
            self.speech = await resources.enter_async_context(speech)
            self._audio = AudioSocketServer.for_settings(settings, host, advertise)
            resources.push_async_callback(self._audio.close)
            relay = await acquire(settings)  # with REDIS_URL: replies reach us from any host
            if relay is not None:
                resources.push_async_callback(relay.release)
            self._resources = resources.pop_all()

    def _node(self, settings: Settings) -> Communicator:
        return Communicator(self.callerid_number, self.callerid_name, settings=settings)

    def _connected_here(self) -> bool:
        return bool(self._ami and self._ami.connected)

    # -- calls ---------------------------------------------------------------------------

    def _on_event(self, channel_id: str, control: ARIControl, event: dict[str, Any]) -> None:
        """An event of an outgoing call's channel: its status, then the call's own."""
        call = self._outgoing.get(channel_id)
        if call is not None:
            call.on_event(event)
        control.on_event(event)
        if event.get("type") == "ChannelDestroyed":  # this route is the call's own channel
            self._router.remove(channel_id)
            self._outgoing.pop(channel_id, None)

    async def make_call(
        self,
        recipient_number: str | None = None,
        *,
        channel: str | None = None,
        timeout: float = 30.0,
        callerid_number: str | None = None,
        callerid_name: str | None = None,
        ui_class: type[VoiceUI] = VoiceUI,
        on_status: StatusCallback | None = None,
        detect_machine: bool | MachineSettings = False,
    ) -> VoiceUI:
        """Call ``recipient_number`` (through the PSTN endpoint) or ``channel`` (a dial
        string such as ``PJSIP/100``); return its ``VoiceUI`` once answered.

        Raises :class:`CallFailedException` (with ``cause``) when the call is busy, refused
        or not answered within ``timeout`` seconds. Cancelling the waiting task hangs up.
        ``on_status(status)`` is told each status of the call, ``initiated`` to
        ``completed`` (:mod:`asteramisk.outgoing`). ``detect_machine`` (True, or
        thresholds): listen to the callee first; ``ui.answered_by`` says ``human``,
        ``machine`` or ``unknown`` (:mod:`asteramisk.ui.machine`).
        """
        if self._nodes is not None:
            return await self._nodes.in_turn(
                lambda node: node.make_call(
                    recipient_number,
                    channel=channel,
                    timeout=timeout,
                    callerid_number=callerid_number,
                    callerid_name=callerid_name,
                    ui_class=ui_class,
                    on_status=on_status,
                    detect_machine=detect_machine,
                )
            )
        ari, settings, speech, audio = self._require_ari()
        endpoint, remote = _destination(recipient_number, channel, settings)
        number = check_number(callerid_number or self.callerid_number, "callerid_number")
        name = callerid_name if callerid_name is not None else self.callerid_name
        caller_id = _caller_id(number, name)
        if timeout <= 0:
            raise ValueError(f"timeout must be positive seconds, not {timeout!r}.")

        channel_id = f"asteramisk-out-{uuid.uuid4().hex}"
        record = CallRecord(
            call_id=channel_id,
            direction="outbound",
            transport="ari",
            from_number=number,
            to_number=remote,
            asterisk_host=settings.ASTERISK_HOST,
        )
        call = self._outgoing[channel_id] = OutgoingCall(
            record, self._events, self._tasks, on_status
        )
        ringing = call.answered
        control = ARIControl(
            ari, channel_id, settings.ASTERISK_PSTN_ENDPOINT, router=self._router, audio=audio
        )
        control.music_check = self._music.check if self._music else None
        self._router.add(
            channel_id, lambda event: self._on_event(channel_id, control, event), control.reconcile
        )
        answered = False
        # Shielded: a cancelled make_call still learns whether Asterisk made the channel,
        # so that its hangup does not go out before the channel exists.
        originating = asyncio.ensure_future(
            ari.request(
                "channels",
                "originate",
                endpoint=endpoint,
                app=ari.app,
                appArgs="asteramisk-outgoing",
                channelId=channel_id,
                timeout=max(1, math.ceil(timeout)),
                callerId=caller_id,
            )
        )
        try:
            await asyncio.shield(originating)
            call.set_status("initiated")
            try:
                async with asyncio.timeout(timeout + 10):
                    await asyncio.shield(ringing)
            except TimeoutError:
                call.gave_up(19, "No answer")
                raise CallFailedException(
                    f"The call to {remote} was not answered within {timeout:g} s.",
                    cause=19,
                    cause_txt="No answer",
                ) from None
            answered = True
        except ActionError as exc:
            raise CallFailedException(f"Asterisk refused the call to {remote}: {exc}") from None
        finally:
            if not answered:
                self._router.remove(channel_id)
                self._outgoing.pop(channel_id, None)
                call.gave_up(0, "")  # refused or cancelled (a call that ended says so itself)
                ringing.exception()  # retrieved: an outcome that came too late is not an error
                await ari.hang_up(channel_id, made_by=originating)
        ui = ui_class(
            control,
            speech=speech,
            remote_number=remote,
            remote_name="",
            local_number=number,
            record=record,
        )
        ui.answered = True
        self._uis.add(ui)
        if detect_machine:
            settings_ = detect_machine if isinstance(detect_machine, MachineSettings) else None
            ui.answered_by = await detect_answerer(ui.audio, settings_)
        log.info("Outgoing call to %s answered (by %s)", remote, ui.answered_by or "-")
        return ui

    async def make_conversation(
        self,
        recipient_number: str,
        contact_method: Literal["call", "text"] = "call",
        **options: Any,
    ) -> UI:
        """``make_call`` or ``make_text``, by ``contact_method``; ``options`` go to it."""
        if contact_method == "call":
            return await self.make_call(recipient_number, **options)
        if contact_method == "text":
            return await self.make_text(recipient_number, **options)
        raise ValueError(f"contact_method={contact_method!r}: it must be 'call' or 'text'.")

    # -- lifecycle -----------------------------------------------------------------------

    def _require_ami(self) -> AMIClient:
        if self._nodes is not None and self._nodes.members and not self._closed:
            node: Communicator = self._first_node()
            return node._require_ami()
        if self._ami is None or self._closed:
            raise RuntimeError(
                "Communicator not started (or closed): use `await Communicator.create(...)`."
            )
        return self._ami

    def _gathering_parts(self) -> tuple[ARIClient, StasisRouter, Speech]:
        if self._nodes is not None and self._nodes.members:
            first: Communicator = self._first_node()
            return first._gathering_parts()
        ari, _, speech, _ = self._require_ari()
        return ari, self._router, speech

    def _require_ari(self) -> tuple[ARIClient, Settings, Speech, AudioSocketServer]:
        self._require_ami()
        if self._ari is None:
            raise ConfigurationError(
                "Outgoing calls need ARI: set ASTERISK_ARI_USER and ASTERISK_ARI_PASS "
                "(config.ASTERISK_ARI_USER = ... or export ASTERISK_ARI_USER=...)."
            )
        assert self.settings is not None and self.speech is not None and self._audio is not None
        return self._ari, self.settings, self.speech, self._audio

    async def close(self) -> None:
        """Hang up the calls and end the conversations still open; close everything the
        communicator started."""
        if self._closed:
            return
        self._closed = True
        await self._end_conferences()
        for ui in list(self._uis):
            if not ui.hung_up:
                with contextlib.suppress(Exception):
                    await ui.hangup()
        await self._tasks.cancel()
        if self._nodes is not None:
            await self._nodes.close()
        await self._resources.aclose()
        self._events.close()
