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
:mod:`asteramisk.text_dispatch` and sent by :mod:`asteramisk.asterisk.messaging`, its calls
admitted and run by :mod:`asteramisk.calls`. What happens is published as events
(``server.events()``, :mod:`asteramisk.events`) and, with ``metrics_port``, counted for
Prometheus (:mod:`asteramisk.metrics`).

Each call runs its handler in its own task with a :class:`~asteramisk.ui.VoiceUI`. When the
caller hangs up, the handler's next verb raises
:class:`~asteramisk.exceptions.HangupException` (it is not cancelled). If the handler raises,
the caller hears a short apology, the call is hung up and the error logged; the server keeps
serving. When the handler returns, the call is hung up.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import Sequence
from typing import Any, Self

from asteramisk.asterisk.ari import ARIClient
from asteramisk.asterisk.messaging import check_number, send_message
from asteramisk.asterisk.music import MusicClasses
from asteramisk.asterisk.stasis import StasisRouter
from asteramisk.calls import CallDispatch
from asteramisk.config import Settings, config
from asteramisk.events import EventSource, EventStream, TextSent, reconnect_hook
from asteramisk.exceptions import ConfigurationError
from asteramisk.gatherings import Gatherings
from asteramisk.handlers import APOLOGY
from asteramisk.lifecycle import AsyncResource, TaskSet, until_sigterm
from asteramisk.media.speech import Speech
from asteramisk.registrations import CallHandler, Registration, TextHandler
from asteramisk.server_nodes import ServerNodes
from asteramisk.server_parts import Started, connect, listen_address_of, start_metrics
from asteramisk.text_dispatch import BUSY_TEXT
from asteramisk.ui import TextUI, VoiceUI
from asteramisk.ui.conversations import conversations

__all__ = ["APOLOGY", "BUSY_TEXT", "Server"]

log = logging.getLogger(__name__)


class Server(EventSource, Gatherings, AsyncResource):
    """Serves incoming calls on your numbers (see the module docstring)."""

    ui_class: type[VoiceUI] = VoiceUI
    """The VoiceUI class every call gets, unless ``register_extension`` names another."""

    def __init__(
        self,
        host: str | None = None,
        port: int | None = None,
        *,
        metrics_port: int | None = None,
        metrics_host: str = "127.0.0.1",
        asterisks: Sequence[str] | None = None,
        settings: Settings | None = None,
    ) -> None:
        self._host, self._port = host, port
        self._asterisks = tuple(asterisks or ())
        self._settings = settings
        self._nodes: ServerNodes | None = None
        self._metrics_at = (metrics_host, metrics_port)
        self.metrics_port = metrics_port
        """Where ``/metrics`` is served (the port chosen, for ``metrics_port=0``)."""
        self.host: str = host or ""
        """The address the FastAGI server listens on (``AGI_SERVER_HOST`` at start)."""
        self.port: int = int(port or 0)
        self.ari_app = ""
        """This server's own Stasis application (each instance has one: see the module)."""
        self._ari: ARIClient | None = None
        self._up: Started | None = None
        self._router = StasisRouter(on_new=self._on_new_channel)
        self._resources = contextlib.AsyncExitStack()
        self._tasks = TaskSet(log, "ARI call")
        self._calls: CallDispatch | None = None
        self._events = EventStream()
        self._closed = False

    def __repr__(self) -> str:
        numbers = ",".join(r.number for r in self._up.registrations) if self._up else ""
        return (
            f"<Server {self.host}:{self.port} numbers={numbers or '-'} calls={self.active_calls}>"
        )

    @property
    def settings(self) -> Settings | None:
        """The configuration this server read at ``start()`` (None before)."""
        return self._up.settings if self._up else self._settings

    @property
    def nodes(self) -> list[Server]:
        """With several Asterisk servers, one Server for each that answered (else [])."""
        return self._nodes.members if self._nodes else []

    @property
    def connected(self) -> bool:
        """Whether Asterisk (any of them) is connected now."""
        up = self._up
        return bool(up and up.ami.connected) or any(n.connected for n in self.nodes)

    @property
    def speech(self) -> Speech | None:
        """Speech synthesis and recognition of this server's calls (None before start)."""
        return self._up.speech if self._up else None

    @property
    def calls_served(self) -> int:
        """How many calls this server has admitted and run a handler for."""
        calls = self._calls.calls_served if self._calls else 0
        return calls + sum(n.calls_served for n in self.nodes)

    @property
    def active_calls(self) -> int:
        """How many calls' handlers run now."""
        calls = len(self._calls.active) if self._calls else 0
        return calls + sum(n.active_calls for n in self.nodes)

    @classmethod
    async def create(
        cls,
        host: str | None = None,
        port: int | None = None,
        *,
        metrics_port: int | None = None,
        metrics_host: str = "127.0.0.1",
        asterisks: Sequence[str] | None = None,
    ) -> Self:
        """Create and start a server: connect to Asterisk, listen for its AGI connections.
        ``metrics_port``: serve Prometheus metrics there too (:mod:`asteramisk.metrics`).
        ``asterisks``: several Asterisk servers (default ``ASTERISK_HOSTS``): one FastAGI
        port each, from ``port`` on, and every number registered on all of them."""
        server = cls(
            host, port, metrics_port=metrics_port, metrics_host=metrics_host, asterisks=asterisks
        )
        await server.start()
        return server

    async def start(self) -> None:
        """Read the configuration, connect to AMI (and ARI), start the FastAGI server."""
        settings = self._settings or config.snapshot()
        hosts = self._asterisks or settings.asterisk_hosts()
        if len(hosts) > 1:
            return await self._start_nodes(settings, hosts)
        settings = settings.replace(ASTERISK_HOST=hosts[0], ASTERISK_HOSTS="")
        host, port = listen_address_of(settings, self._host, self._port)
        self.host, self.ari_app = host, f"{settings.ASTERISK_ARI_APP}-{uuid.uuid4().hex[:8]}"
        async with contextlib.AsyncExitStack() as resources:
            self.metrics_port = start_metrics(self, resources, self._metrics_at)
            up = await connect(
                resources,
                settings,
                (host, port),
                ari_app=self.ari_app,
                router=self._router,
                events=self._events,
                tasks=self._tasks,
                send=self.send_text,
                handler_of=self._text_handler_of,
            )
            self._up, self._ari, self.port = up, up.ari, up.agi.port
            self._resources = resources.pop_all()
        self._calls = CallDispatch(
            settings=settings,
            registrations=up.registrations,
            speech=up.speech,
            audio=up.audio,
            ari=self._ari,
            router=self._router,
            tasks=self._tasks,
            events=self._events,
            default_handler=self.call_handler,
            music_check=MusicClasses(up.ami).check,
        )
        up.agi.add_route("call", self._calls.on_agi_call)
        up.agi.add_route("text", up.texts.on_text)
        up.ami.add_connect_hook(up.registrations.restore)
        up.ami.add_connect_hook(reconnect_hook(self._events, "ami"))
        log.info("Server ready: AGI on %s:%s", self.host, self.port)

    async def _start_nodes(self, settings: Settings, hosts: Sequence[str]) -> None:
        self.host, self.port = listen_address_of(settings, self._host, self._port)
        self._nodes = nodes = ServerNodes(
            settings,
            hosts,
            listen=(self.host, self.port),
            new_node=lambda host, port, node_settings: Server(host, port, settings=node_settings),
            forward=self._events.publish,
        )
        await nodes.start()
        self._resources.push_async_callback(nodes.close)
        self.metrics_port = start_metrics(self, self._resources, self._metrics_at)

    def _started(self) -> Started:
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
        number = check_number(number)
        if transport not in ("ari", "agi"):
            raise ValueError(f"transport={transport!r}: it must be 'ari' or 'agi'.")
        text_handler, ui_class = text_handler or message_handler, ui_class or self.ui_class
        if self._nodes is not None:  # each node serves it with this server's handlers
            registration = Registration(number, call_handler, text_handler, ui_class, transport)
            registration.call_handler = call_handler or self.call_handler
            registration.text_handler = self._text_handler_of(registration)
            return await self._nodes.register(registration)
        up = self._started()
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
            Registration(number, call_handler, text_handler, ui_class, transport)
        )
        conversations.receive_on(number)
        await up.texts.deliver_kept(number)

    async def unregister_extension(self, number: str) -> None:
        """Stop serving ``number``: remove exactly the dialplan entries this server added
        (from the contexts it added them to)."""
        if self._nodes is not None:
            await self._nodes.unregister(str(number))
        if self._up is not None and await self._up.registrations.remove(str(number)):
            conversations.stop_receiving_on(str(number))

    @property
    def extensions(self) -> dict[str, int | None]:
        """The numbers this server serves, with their dialplan priority."""
        if self._nodes is not None:
            return self._nodes.extensions()
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

    def _on_new_channel(self, event: dict[str, Any]) -> None:
        """An event no call of ours routes: a new call, once the server is up."""
        if self._calls is not None:
            self._calls.on_new_channel(event)

    # -- texts ---------------------------------------------------------------------------

    async def send_text(self, to_number: str, from_number: str, body: str) -> None:
        """Send one text through the PSTN trunk.

        AMI ``MessageSend`` with ``Base64Body`` (nothing in a body can become a header), or,
        for a body too long for an AMI line (Asterisk reads at most 1024 bytes a line), ARI's
        ``endpoints/sendMessage``, where the body is a URL-encoded parameter.
        """
        if self._nodes is not None:
            return await self._nodes.send_text(to_number, from_number, body)
        up = self._started()
        await send_message(up.ami, self._ari, to_number, from_number, body, settings=up.settings)
        self._events.publish(TextSent(from_number=from_number, to_number=to_number, body=body))

    # -- lifecycle -----------------------------------------------------------------------

    async def serve_forever(self) -> None:
        """Serve until cancelled (Ctrl-C), stopped by SIGTERM (then it returns) or closed;
        then close the server, which removes its numbers from the dialplan."""
        try:
            if self._nodes is not None:
                await until_sigterm(asyncio.Event().wait())
            else:
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
            await self._end_conferences()  # their members' handlers go on, then end
            await self._up.agi.close(grace)
        await self._tasks.wait(grace)
        await self._tasks.cancel()
        self._events.close()
        await self._resources.aclose()

    def _gathering_parts(self) -> tuple[ARIClient, StasisRouter, Speech]:
        if self._nodes is not None:
            return self.nodes[0]._gathering_parts()
        up = self._started()
        if self._ari is None:
            raise ConfigurationError(
                "Conferences and queues need ARI: set ASTERISK_ARI_USER and ASTERISK_ARI_PASS."
            )
        return self._ari, self._router, up.speech

    async def _open(self) -> None:
        if self._up is None and self._nodes is None:
            await self.start()
