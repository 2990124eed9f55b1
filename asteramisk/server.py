"""The Server: registers your numbers on Asterisk and runs a handler for every incoming call.

::

    server = await Server.create(host="127.0.0.1", port=4753)
    await server.register_extension("1234567890", call_handler=my_call_handler)
    await server.serve_forever()

``register_extension`` adds the number to ``ASTERISK_INCOMING_CALL_CONTEXT`` with AMI
``DialplanExtensionAdd``, at the next free priority, running ``Stasis()`` into this server's
own ARI application (``transport="ari"``, the default) or ``AGI()`` towards its FastAGI server
(``transport="agi"``).
Several instances of an app can serve one number, each at its own priority: an instance at
``MAX_CONCURRENT_CALLS`` hands the call on to the next priority, and so does Asterisk when an
instance is gone (its Stasis application or AGI port is not there), so a crashed app never
swallows calls. ``close()``
removes exactly the entries this server added; after an Asterisk restart the server adds them
again by itself.

The server owns what it starts and closes all of it: its AMI and ARI connections, its FastAGI
server, its :class:`~asteramisk.media.speech.Speech` (TTS cache, media http server, speech
recogniser) and its AudioSocket server. It reads the configuration once, at ``start()``
(:attr:`Server.settings`). Its numbers and dialplan entries are kept by
:mod:`asteramisk.registrations`, the ARI events routed by
:class:`~asteramisk.asterisk.stasis.StasisRouter`, incoming texts dispatched by
:mod:`asteramisk.text_dispatch` and sent by :mod:`asteramisk.asterisk.messaging`; this class
admits calls, dispatches them and runs their handlers (:mod:`asteramisk.handlers`).

Each call runs its handler in its own task with a :class:`~asteramisk.ui.VoiceUI`. When the
caller hangs up, the handler's next verb raises
:class:`~asteramisk.exceptions.HangupException` (it is not cancelled). If the handler raises,
the caller hears a short apology, the call is hung up and the error logged; the server keeps
serving. When the handler returns, the call is hung up.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import uuid
from typing import Any, Self

from asteramisk.addresses import advertised_host, allowed_clients, listen_address
from asteramisk.agi import AGI, FastAGIServer
from asteramisk.asterisk.agi_control import AGIControl
from asteramisk.asterisk.ami import AMIClient
from asteramisk.asterisk.ari import ARIClient
from asteramisk.asterisk.ari_control import ARIControl
from asteramisk.asterisk.control import CallControl
from asteramisk.asterisk.dialplan import Dialplan
from asteramisk.asterisk.messaging import check_number, send_message
from asteramisk.asterisk.sound_probe import sound_plays
from asteramisk.asterisk.stasis import StasisRouter, channel_of
from asteramisk.config import Settings, config
from asteramisk.exceptions import ConfigurationError
from asteramisk.handlers import APOLOGY, known, run_handler
from asteramisk.lifecycle import AsyncResource, TaskSet, until_sigterm
from asteramisk.media.audio_server import AudioSocketServer
from asteramisk.media.speech import Speech
from asteramisk.registrations import CallHandler, Registration, Registrations, TextHandler
from asteramisk.text_dispatch import BUSY_TEXT, TextDispatcher
from asteramisk.ui import TextUI, VoiceUI
from asteramisk.ui.conversations import conversations

__all__ = ["APOLOGY", "BUSY_TEXT", "Server"]

log = logging.getLogger(__name__)


class _Started:
    """What a started server has (one object, so nothing is half there)."""

    def __init__(
        self,
        settings: Settings,
        ami: AMIClient,
        agi: FastAGIServer,
        registrations: Registrations,
        texts: TextDispatcher,
        speech: Speech,
        audio: AudioSocketServer,
    ) -> None:
        self.settings, self.ami, self.agi = settings, ami, agi
        self.registrations, self.texts = registrations, texts
        self.speech, self.audio = speech, audio


class Server(AsyncResource):
    """Serves incoming calls on your numbers (see the module docstring)."""

    ui_class: type[VoiceUI] = VoiceUI
    """The VoiceUI class every call gets, unless ``register_extension`` names another."""

    def __init__(self, host: str | None = None, port: int | None = None) -> None:
        self._host, self._port = host, port
        self.host: str = host or ""
        """The address the FastAGI server listens on (``AGI_SERVER_HOST`` at start)."""
        self.port: int = int(port or 0)
        self.ari_app = ""
        """This server's own Stasis application (each instance has one: see the module)."""
        self._ari: ARIClient | None = None
        self._up: _Started | None = None
        self._router = StasisRouter(on_new=self._on_new_channel)
        self._resources = contextlib.AsyncExitStack()
        self._active: set[asyncio.Task[Any]] = set()
        self._tasks = TaskSet(log, "ARI call")
        self._closed = False
        self.calls_served = 0

    def __repr__(self) -> str:
        numbers = ",".join(r.number for r in self._up.registrations) if self._up else ""
        return (
            f"<Server {self.host}:{self.port} numbers={numbers or '-'} calls={len(self._active)}>"
        )

    @property
    def settings(self) -> Settings | None:
        """The configuration this server read at ``start()`` (None before)."""
        return self._up.settings if self._up else None

    @property
    def speech(self) -> Speech | None:
        """Speech synthesis and recognition of this server's calls (None before start)."""
        return self._up.speech if self._up else None

    @classmethod
    async def create(cls, host: str | None = None, port: int | None = None) -> Self:
        """Create and start a server: connect to Asterisk, listen for its AGI connections."""
        server = cls(host, port)
        await server.start()
        return server

    async def start(self) -> None:
        """Read the configuration, connect to AMI (and ARI), start the FastAGI server."""
        settings = config.snapshot()
        host, port = _listen_address(settings, self._host, self._port)
        speech = Speech.from_settings(settings, http_host=host)  # checks TTS_* first
        self.host, self.ari_app = host, f"{settings.ASTERISK_ARI_APP}-{uuid.uuid4().hex[:8]}"
        async with contextlib.AsyncExitStack() as resources:
            ami = await resources.enter_async_context(AMIClient.from_settings(settings))
            advertise = speech.advertise_host = advertised_host(settings, host, ami.local_address)
            if settings.is_set("ASTERISK_ARI_USER") and settings.is_set("ASTERISK_ARI_PASS"):
                ari = ARIClient.from_settings(settings, app=self.ari_app)
                self._ari = await resources.enter_async_context(ari)
                self._ari.on_event("*", self._router.dispatch)
                self._ari.add_connect_hook(self._router.reconcile)
            agi = await _started_agi(host, port, advertise, allowed_clients(settings, host))
            resources.push_async_callback(agi.close, 0)
            self.port = agi.port
            speech.sound_check = functools.partial(sound_plays, ami)
            await resources.enter_async_context(speech)
            audio = AudioSocketServer(host, advertise_host=advertise)
            resources.push_async_callback(audio.close)
            registrations = Registrations(
                Dialplan(ami), settings, ari_app=self.ari_app, agi_url=agi.url
            )
            texts = TextDispatcher(
                registrations,
                settings,
                send=self.send_text,
                handler_of=self._text_handler_of,
                tasks=self._tasks,
                ami=ami,
            )
            self._up = _Started(settings, ami, agi, registrations, texts, speech, audio)
            self._resources = resources.pop_all()
        agi.add_route("call", self._on_call)
        agi.add_route("text", texts.on_text)
        ami.add_connect_hook(registrations.restore)
        log.info("Server ready: AGI on %s:%s", self.host, self.port)

    def _started(self) -> _Started:
        if self._up is None:
            raise RuntimeError("Server not started: use `await Server.create(...)`.")
        return self._up

    # -- registration --------------------------------------------------------------------

    async def register_extension(
        self,
        number: str,
        call_handler: CallHandler | None = None,
        text_handler: TextHandler | None = None,
        *,
        message_handler: TextHandler | None = None,
        ui_class: type[VoiceUI] | None = None,
        transport: str = "ari",
    ) -> None:
        """Serve calls to ``number`` with ``call_handler(ui)``.

        Without ``call_handler``, the server's own ``call_handler`` method serves it (for
        subclasses). ``message_handler`` is another name for ``text_handler``. ``ui_class``
        is the ``VoiceUI`` subclass each call gets. ``transport`` is ``"ari"`` (the default:
        the call enters this server's Stasis application) or ``"agi"`` (FastAGI on this
        server's port); the handler cannot tell the difference.
        """
        up = self._started()
        number = check_number(number)
        if transport not in ("ari", "agi"):
            raise ValueError(f"transport={transport!r}: it must be 'ari' or 'agi'.")
        if transport == "ari" and self._ari is None:
            raise ConfigurationError(
                "transport='ari' needs ARI: set ASTERISK_ARI_USER and ASTERISK_ARI_PASS "
                "(config.ASTERISK_ARI_USER = ... or export ASTERISK_ARI_USER=...), or register "
                "with transport='agi'."
            )
        if up.registrations.get(number) is not None:
            await self.unregister_extension(number)
        # Texts always come here: replies to conversations a Communicator of this process
        # started arrive so, even on a number served without a text handler.
        await up.registrations.add(
            Registration(
                number,
                call_handler,
                text_handler or message_handler,
                ui_class or self.ui_class,
                transport,
            )
        )
        conversations.receive_on(number)
        await up.texts.deliver_kept(number)

    async def unregister_extension(self, number: str) -> None:
        """Stop serving ``number``: remove exactly the dialplan entries this server added
        (from the contexts it added them to)."""
        if self._up is not None and await self._up.registrations.remove(str(number)):
            conversations.stop_receiving_on(str(number))

    @property
    def extensions(self) -> dict[str, int | None]:
        """The numbers this server serves, with their dialplan priority."""
        return self._up.registrations.priorities() if self._up is not None else {}

    def _text_handler_of(self, registration: Registration) -> TextHandler | None:
        if registration.text_handler is None and type(self).text_handler is Server.text_handler:
            return None  # no handler given, none overridden: the number takes no conversations
        return registration.text_handler or self.text_handler

    # -- calls ---------------------------------------------------------------------------

    async def call_handler(self, ui: VoiceUI) -> None:
        """Serves numbers registered without a ``call_handler``; override it in a subclass."""
        raise NotImplementedError(
            "No call handler: pass call_handler= to register_extension, or subclass Server "
            "and override call_handler(self, ui)."
        )

    async def text_handler(self, ui: TextUI) -> None:
        """Serves texts to numbers registered without a ``text_handler``; override it."""
        raise NotImplementedError("No text handler.")

    def _admit(self, number: str) -> Registration | None:
        """The registration serving ``number``, or None to pass the call on."""
        up = self._started()
        registration = up.registrations.get(number)
        if registration is None:
            log.warning("A call for %s, which this server no longer serves: passed on", number)
            return None
        if len(self._active) >= up.settings.MAX_CONCURRENT_CALLS:
            log.info(
                "At MAX_CONCURRENT_CALLS (%d): call for %s passed on to the next priority",
                up.settings.MAX_CONCURRENT_CALLS,
                number,
            )
            return None
        return registration

    async def _on_call(self, agi: AGI) -> None:
        """A call over FastAGI. Returning without hanging up passes it on."""
        number = agi.args[0] if agi.args else agi.env.get("agi_extension", "")
        registration = self._admit(number)
        if registration is not None:
            up = self._started()
            endpoint = up.settings.ASTERISK_PSTN_ENDPOINT
            control = AGIControl(agi, endpoint, audio=up.audio, ari=self._ari)
            caller = known(agi.env.get("agi_callerid"))
            await self._serve(registration, control, caller, known(agi.env.get("agi_calleridname")))

    def _on_new_channel(self, event: dict[str, Any]) -> None:
        """An event of a channel no call of ours routes: a new call entering our Stasis
        application (its own events are routed to its control from here on)."""
        if event.get("type") != "StasisStart":
            return
        up = self._started()
        assert self._ari is not None
        channel = event.get("channel") or {}
        channel_id = channel_of(event)
        args = event.get("args") or []
        number = str(args[0]) if args else str(channel.get("dialplan", {}).get("exten", ""))
        registration = self._admit(number)
        if registration is None:  # passed on: the dialplan continues at the next priority
            self._tasks.spawn(
                self._ari.cleanup("channels", "continueInDialplan", channelId=channel_id)
            )
            return
        control = ARIControl(
            self._ari,
            channel_id,
            up.settings.ASTERISK_PSTN_ENDPOINT,
            router=self._router,
            audio=up.audio,
        )
        self._router.add(channel_id, control.on_event, control.reconcile)
        caller = channel.get("caller") or {}
        name = known(caller.get("name"))
        self._tasks.spawn(
            self._on_ari_call(registration, control, known(caller.get("number")), name)
        )

    async def _on_ari_call(
        self, registration: Registration, control: ARIControl, caller: str, name: str
    ) -> None:
        """A call over ARI, admitted: serve it, then release what it used."""
        try:
            await self._serve(registration, control, caller, name)
        finally:
            self._router.remove(control.channel_id)
            await control.close()

    async def _serve(
        self,
        registration: Registration,
        control: CallControl,
        remote_number: str,
        remote_name: str,
    ) -> None:
        """Run the handler of one call, whatever its transport (see the module docstring)."""
        task = asyncio.current_task()
        assert task is not None
        self._active.add(task)
        self.calls_served += 1
        ui = registration.ui_class(
            control,
            speech=self._started().speech,
            remote_number=remote_number,
            remote_name=remote_name,
            local_number=registration.number,
        )
        try:
            await run_handler(registration.call_handler or self.call_handler, ui)
        finally:
            self._active.discard(task)
            if not ui.hung_up:
                try:
                    await ui.hangup()
                except Exception:
                    log.debug("Hangup after the handler failed", exc_info=True)

    # -- texts ---------------------------------------------------------------------------

    async def send_text(self, to_number: str, from_number: str, body: str) -> None:
        """Send one text through the PSTN trunk.

        AMI ``MessageSend`` with ``Base64Body`` (nothing in a body can become a header), or,
        for a body too long for an AMI line (Asterisk reads at most 1024 bytes a line), ARI's
        ``endpoints/sendMessage``, where the body is a URL-encoded parameter.
        """
        up = self._started()
        await send_message(up.ami, self._ari, to_number, from_number, body, settings=up.settings)

    # -- lifecycle -----------------------------------------------------------------------

    async def serve_forever(self) -> None:
        """Serve until cancelled (Ctrl-C), stopped by SIGTERM (then it returns) or closed;
        then close the server, which removes its numbers from the dialplan."""
        try:
            await until_sigterm(self._started().agi.serve_forever())
        finally:
            await self.close()

    async def close(self, grace: float = 5.0) -> None:
        """Unregister every number, let running calls finish (``grace`` s), then close
        everything the server started (nothing of it keeps running)."""
        if self._closed:
            return
        self._closed = True
        if self._up is not None:
            for number in await self._up.registrations.remove_all():
                conversations.stop_receiving_on(number)
            await self._up.agi.close(grace)
        await self._tasks.wait(grace)
        await self._tasks.cancel()
        await self._resources.aclose()

    async def _open(self) -> None:
        if self._up is None:
            await self.start()


def _listen_address(settings: Settings, host: str | None, port: int | None) -> tuple[str, int]:
    """Check what a server needs of ``settings``; the host and port its FastAGI server
    listens on (``host``/``port`` when given; see :mod:`asteramisk.addresses`)."""
    settings.validate(
        "ASTERISK_HOST",
        "ASTERISK_AMI_PORT",
        "ASTERISK_AMI_USER",
        "ASTERISK_AMI_PASS",
        "ASTERISK_INCOMING_CALL_CONTEXT",
        "AGI_SERVER_HOST",
        "AGI_SERVER_PORT",
        "MAX_CONCURRENT_CALLS",
    )
    return listen_address(settings, host, port)


async def _started_agi(
    host: str, port: int, advertise: str, allowed: list[str] | None
) -> FastAGIServer:
    agi = FastAGIServer(host, port, advertise_host=advertise, allowed_clients=allowed)
    try:
        await agi.start()
    except OSError as exc:
        raise ConfigurationError(
            f"Cannot listen on {host}:{port} ({exc.strerror}). Another program (or "
            "another instance of your app) has it: set AGI_SERVER_PORT to a free port."
        ) from None
    return agi
