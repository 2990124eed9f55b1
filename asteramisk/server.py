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

Each call runs its handler in its own task with a :class:`~asteramisk.ui.VoiceUI`. When the
caller hangs up, the handler's next verb raises
:class:`~asteramisk.exceptions.HangupException` (it is not cancelled). If the handler raises,
the caller hears a short apology, the call is hung up and the error logged; the server keeps
serving. When the handler returns, the call is hung up.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import logging
import re
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Self

from asteramisk.agi import AGI, FastAGIServer, core
from asteramisk.asterisk.ami import AMIClient
from asteramisk.asterisk.ari import ARIClient
from asteramisk.asterisk.control import AGIControl, ARIControl, CallControl
from asteramisk.config import config
from asteramisk.exceptions import ActionError, ConfigurationError, HangupException
from asteramisk.lifecycle import AsyncResource, TaskSet
from asteramisk.media.http import MediaServer
from asteramisk.ui import UI, TextUI, VoiceUI, voice
from asteramisk.ui.conversations import conversations
from asteramisk.ui.text import check_number, encode_body, parse_number
from asteramisk.ui.voice import tts_cache

__all__ = ["Server"]

log = logging.getLogger(__name__)

CallHandler = Callable[[VoiceUI], Awaitable[object]]
TextHandler = Callable[[TextUI], Awaitable[object]]

_EXTENSION_LINE = re.compile(r"^\s*'([^']*)'\s*=>\s*(\d+)\.")
_PRIORITY_LINE = re.compile(r"^\s+(\d+)\.")
APOLOGY = "We are sorry, something went wrong. Goodbye."
BUSY_TEXT = "We are sorry, we cannot take another conversation right now. Please try later."


@dataclass
class _Registration:
    number: str
    call_handler: CallHandler | None
    text_handler: TextHandler | None
    ui_class: type[VoiceUI]
    transport: str
    priority: int | None = None
    text_priority: int | None = None


class Server(AsyncResource):
    """Serves incoming calls on your numbers (see the module docstring)."""

    ui_class: type[VoiceUI] = VoiceUI
    """The VoiceUI class every call gets, unless ``register_extension`` names another."""

    def __init__(self, host: str | None = None, port: int | None = None) -> None:
        self.host: str = host if host is not None else config.AGI_SERVER_HOST
        self.port: int = int(port if port is not None else config.AGI_SERVER_PORT)
        self._ami: AMIClient | None = None
        self._agi: FastAGIServer | None = None
        self._extensions: dict[str, _Registration] = {}
        self._active: set[asyncio.Task[Any]] = set()
        self._ari: ARIClient | None = None
        self._media: MediaServer | None = None
        self._ari_calls: dict[str, ARIControl] = {}
        self._conversations: set[TextUI] = set()
        """The conversations this server's text handlers hold (for the limit)."""
        self._tasks = TaskSet(log, "ARI call")
        self.ari_app = f"{config.ASTERISK_ARI_APP}-{uuid.uuid4().hex[:8]}"
        """This server's own Stasis application: each instance has one, so that a number
        served by several instances fails over from one to the next."""
        self._closed = False
        self.calls_served = 0

    def __repr__(self) -> str:
        numbers = ",".join(self._extensions) or "-"
        return f"<Server {self.host}:{self.port} numbers={numbers} calls={len(self._active)}>"

    @staticmethod
    def ari_configured() -> bool:
        """Whether ARI credentials are configured (then the server connects to ARI)."""
        return config.is_set("ASTERISK_ARI_USER") and config.is_set("ASTERISK_ARI_PASS")

    @classmethod
    async def create(cls, host: str | None = None, port: int | None = None) -> Self:
        """Create and start a server: connect to Asterisk, listen for its AGI connections."""
        server = cls(host, port)
        await server.start()
        return server

    async def start(self) -> None:
        """Check the configuration, connect to AMI and start the FastAGI server."""
        config.validate(
            "ASTERISK_HOST",
            "ASTERISK_AMI_PORT",
            "ASTERISK_AMI_USER",
            "ASTERISK_AMI_PASS",
            "ASTERISK_INCOMING_CALL_CONTEXT",
            "AGI_SERVER_HOST",
            "AGI_SERVER_PORT",
            "MAX_CONCURRENT_CALLS",
        )
        if config.TTS_DELIVERY not in ("file", "http"):
            raise ConfigurationError(
                f"TTS_DELIVERY is {config.TTS_DELIVERY!r}: it must be 'file' or 'http' "
                "(config.TTS_DELIVERY = 'http' or export TTS_DELIVERY=http)."
            )
        if self.host in ("0.0.0.0", "::"):
            raise ConfigurationError(
                "AGI_SERVER_HOST is a wildcard address, which Asterisk cannot dial back; bind "
                "the address Asterisk reaches this machine at (127.0.0.1 on the same host)."
            )
        self._ami = AMIClient()
        await self._ami.connect()
        if self.ari_configured():
            self._ari = ARIClient(app=self.ari_app)
            try:
                await self._ari.connect()
            except BaseException:
                await self._ami.close()
                raise
            self._ari.on_event("*", self._on_ari_event)
        self._agi = FastAGIServer(self.host, self.port)
        self._agi.add_route("call", self._on_call)
        self._agi.add_route("text", self._on_text)
        try:
            await self._agi.start()
        except OSError as exc:
            await self._ami.close()
            if self._ari is not None:
                await self._ari.close()
            raise ConfigurationError(
                f"Cannot listen on {self.host}:{self.port} ({exc.strerror}). Another program "
                "(or another instance of your app) has it: set AGI_SERVER_PORT to a free port."
            ) from None
        self.port = self._agi.port
        if config.TTS_DELIVERY == "http":
            self._media = MediaServer(tts_cache().directory, self.host, 0)
            await self._media.start()
            voice.media_base_url = self._media.base_url
        self._ami.add_connect_hook(self._reregister)
        log.info("Server ready: AGI on %s:%s", self.host, self.port)

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
        ami = self._require_started()
        number = check_number(number)
        if transport not in ("ari", "agi"):
            raise ValueError(f"transport={transport!r}: it must be 'ari' or 'agi'.")
        if transport == "ari" and self._ari is None:
            raise ConfigurationError(
                "transport='ari' needs ARI: set ASTERISK_ARI_USER and ASTERISK_ARI_PASS "
                "(config.ASTERISK_ARI_USER = ... or export ASTERISK_ARI_USER=...), or register "
                "with transport='agi'."
            )
        text_handler = text_handler or message_handler
        if number in self._extensions:
            await self.unregister_extension(number)
        registration = _Registration(
            number, call_handler, text_handler, ui_class or self.ui_class, transport
        )
        await self._add_to_dialplan(ami, registration)
        # Texts always come here: replies to conversations a Communicator of this process
        # started arrive so, even on a number served without a text handler.
        await self._add_to_dialplan(ami, registration, text=True)
        self._extensions[number] = registration
        conversations.receive_on(number)

    async def unregister_extension(self, number: str) -> None:
        """Stop serving ``number``: remove exactly the dialplan entry this server added."""
        registration = self._extensions.pop(str(number), None)
        if registration is None or self._ami is None:
            return
        conversations.stop_receiving_on(registration.number)
        entries = [
            (config.ASTERISK_INCOMING_CALL_CONTEXT, registration.priority),
            (config.ASTERISK_INCOMING_TEXT_CONTEXT, registration.text_priority),
        ]
        for context, priority in entries:
            if priority is None:
                continue
            try:
                await self._ami.action(
                    {
                        "Action": "DialplanExtensionRemove",
                        "Context": context,
                        "Extension": registration.number,
                        "Priority": str(priority),
                    }
                )
            except ActionError as exc:
                log.warning("Could not remove %s@%s: %s", number, context, exc)

    @property
    def extensions(self) -> dict[str, int | None]:
        """The numbers this server serves, with their dialplan priority."""
        return {number: r.priority for number, r in self._extensions.items()}

    def _serves_texts(self, registration: _Registration) -> bool:
        overridden = type(self).text_handler is not Server.text_handler
        return registration.text_handler is not None or overridden

    async def _add_to_dialplan(
        self, ami: AMIClient, registration: _Registration, *, text: bool = False
    ) -> None:
        context, app, data = self._dialplan_entry(registration, text=text)
        for _attempt in range(5):
            priority = await self._next_priority(ami, context, registration.number)
            try:
                await ami.action(
                    {
                        "Action": "DialplanExtensionAdd",
                        "Context": context,
                        "Extension": registration.number,
                        "Priority": str(priority),
                        "Application": app,
                        "ApplicationData": data,
                    }
                )
            except ActionError:
                continue  # another instance took that priority meanwhile: look again
            if text:
                registration.text_priority = priority
            else:
                registration.priority = priority
            log.info("Serving %s@%s at priority %d", registration.number, context, priority)
            return
        raise ActionError(f"Could not add {registration.number} to the dialplan of {context}")

    def _dialplan_entry(
        self, registration: _Registration, *, text: bool = False
    ) -> tuple[str, str, str]:
        """The context, application and data of this server's entry for a number."""
        number = registration.number
        if text:
            return config.ASTERISK_INCOMING_TEXT_CONTEXT, "AGI", self._agi_url("text", number)
        if registration.transport == "ari":
            return config.ASTERISK_INCOMING_CALL_CONTEXT, "Stasis", f"{self.ari_app},{number}"
        return config.ASTERISK_INCOMING_CALL_CONTEXT, "AGI", self._agi_url("call", number)

    def _agi_url(self, route: str, number: str) -> str:
        return f"agi://{self.host}:{self.port}/{route},{number}"

    async def _next_priority(self, ami: AMIClient, context: str, number: str) -> int:
        output = await ami.command(f"dialplan show {number}@{context}")
        current: str | None = None
        priorities = [0]
        for line in output.splitlines():
            match = _EXTENSION_LINE.match(line)
            if match:
                current = match.group(1)
                if current == number:
                    priorities.append(int(match.group(2)))
                continue
            match = _PRIORITY_LINE.match(line)
            if match and current == number:
                priorities.append(int(match.group(1)))
        return max(priorities) + 1

    async def _reregister(self) -> None:
        """After a reconnect: add back the entries Asterisk lost (a restart loses them)."""
        ami = self._require_started()
        for registration in list(self._extensions.values()):
            for text in (False, True):
                context, app, data = self._dialplan_entry(registration, text=text)
                output = await ami.command(f"dialplan show {registration.number}@{context}")
                if f"{app}({data})" not in output:  # this server's own entry, exactly
                    await self._add_to_dialplan(ami, registration, text=text)

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

    def _admit(self, number: str) -> _Registration | None:
        """The registration serving ``number``, or None to pass the call on."""
        registration = self._extensions.get(number)
        if registration is None:
            log.warning("A call for %s, which this server no longer serves: passed on", number)
            return None
        if len(self._active) >= config.MAX_CONCURRENT_CALLS:
            log.info(
                "At MAX_CONCURRENT_CALLS (%d): call for %s passed on to the next priority",
                config.MAX_CONCURRENT_CALLS,
                number,
            )
            return None
        return registration

    async def _on_call(self, agi: AGI) -> None:
        """A call over FastAGI. Returning without hanging up passes it on."""
        number = agi.args[0] if agi.args else agi.env.get("agi_extension", "")
        registration = self._admit(number)
        if registration is not None:
            control = AGIControl(agi, config.ASTERISK_PSTN_ENDPOINT, audio_host=self.host)
            caller = _known(agi.env.get("agi_callerid"))
            await self._serve(
                registration, control, caller, _known(agi.env.get("agi_calleridname"))
            )

    def _on_ari_event(self, event: dict[str, Any]) -> None:
        """Every event of our Stasis application: new calls, and events of calls we serve."""
        channel = event.get("channel") or {}
        channel_id = str(channel.get("id", ""))
        if not channel_id:
            source = event.get("playback") or event.get("recording") or {}
            channel_id = str(source.get("target_uri", "")).removeprefix("channel:")
        if event.get("type") == "StasisStart" and channel_id not in self._ari_calls:
            args = event.get("args") or []
            number = str(args[0]) if args else str(channel.get("dialplan", {}).get("exten", ""))
            caller = channel.get("caller") or {}
            self._tasks.spawn(
                self._on_ari_call(channel_id, number, caller.get("number"), caller.get("name"))
            )
            return
        control = self._ari_calls.get(channel_id)
        if control is not None:
            control.on_event(event)

    async def _on_ari_call(
        self, channel_id: str, number: str, caller_number: str | None, caller_name: str | None
    ) -> None:
        """A call over ARI. Passing it on continues the dialplan at the next priority."""
        assert self._ari is not None
        registration = self._admit(number)
        if registration is None:
            with contextlib.suppress(ActionError):
                await self._ari.request("channels", "continueInDialplan", channelId=channel_id)
            return
        control = ARIControl(
            self._ari,
            channel_id,
            config.ASTERISK_PSTN_ENDPOINT,
            routes=self._ari_calls,
            audio_host=self.host,
        )
        self._ari_calls[channel_id] = control
        try:
            await self._serve(registration, control, _known(caller_number), _known(caller_name))
        finally:
            del self._ari_calls[channel_id]
            await control.close()

    async def _serve(
        self,
        registration: _Registration,
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
            remote_number=remote_number,
            remote_name=remote_name,
            local_number=registration.number,
        )
        try:
            await _run_handler(registration.call_handler or self.call_handler, ui)
        finally:
            self._active.discard(task)
            if not ui.hung_up:
                try:
                    await ui.hangup()
                except Exception:
                    log.debug("Hangup after the handler failed", exc_info=True)

    # -- texts ---------------------------------------------------------------------------

    async def _on_text(self, agi: AGI) -> None:
        """One incoming text, on Asterisk's message channel: read it, hand it over, let go.

        The message channel is never held for the conversation: the handler runs in its own
        task. Returning without hanging up passes the text on to the next priority.
        """
        number = agi.args[0] if agi.args else agi.env.get("agi_extension", "")
        sender = await agi.execute(core.GetFullVariable("${MESSAGE(from)}")) or ""
        encoded = await agi.execute(core.GetFullVariable("${BASE64_ENCODE(${MESSAGE(body)})}"))
        body = base64.b64decode(encoded or "").decode("utf-8", "replace")
        their = parse_number(sender)
        conversation = conversations.get(number, their)
        if conversation is not None:
            conversation.deliver(body)
        else:
            registration = self._extensions.get(number)
            if registration is None or not self._serves_texts(registration):
                return
            if len(self._conversations) < config.MAX_CONCURRENT_CONVERSATIONS:
                ui = TextUI(self.send_text, remote_number=their, local_number=number)
                ui.first_message = body
                conversations.add(ui)
                self._conversations.add(ui)
                self._tasks.spawn(self._converse(registration, ui))
            elif await self._text_passed_on(registration):
                return
            else:
                await self.send_text(their, number, BUSY_TEXT)
        await agi.execute(core.Hangup())  # handled: the dialplan stops here

    async def _text_passed_on(self, registration: _Registration) -> bool:
        """At MAX_CONCURRENT_CONVERSATIONS: pass a new conversation on to the next priority
        (another instance) when there is one; False when there is none."""
        ami = self._require_started()
        context = config.ASTERISK_INCOMING_TEXT_CONTEXT
        last = await self._next_priority(ami, context, registration.number) - 1
        mine = registration.text_priority or 0
        log.info(
            "At MAX_CONCURRENT_CONVERSATIONS (%d): a text to %s %s",
            config.MAX_CONCURRENT_CONVERSATIONS,
            registration.number,
            "passed on to the next priority" if last > mine else "answered with a busy reply",
        )
        return last > mine

    async def _converse(self, registration: _Registration, ui: TextUI) -> None:
        try:
            await _run_handler(registration.text_handler or self.text_handler, ui)
        finally:
            ui.hung_up = True
            conversations.remove(ui)
            self._conversations.discard(ui)

    async def send_text(self, to_number: str, from_number: str, body: str) -> None:
        """Send one text through the PSTN trunk.

        AMI ``MessageSend`` with ``Base64Body`` (nothing in a body can become a header), or,
        for a body too long for an AMI line (Asterisk reads at most 1024 bytes a line), ARI's
        ``endpoints/sendMessage``, where the body is a URL-encoded parameter.
        """
        await send_message(self._require_started(), self._ari, to_number, from_number, body)

    # -- lifecycle -----------------------------------------------------------------------

    def _require_started(self) -> AMIClient:
        if self._ami is None or self._agi is None:
            raise RuntimeError("Server not started: use `await Server.create(...)`.")
        return self._ami

    async def serve_forever(self) -> None:
        """Serve until cancelled (Ctrl-C) or closed."""
        self._require_started()
        assert self._agi is not None
        await self._agi.serve_forever()

    async def close(self, grace: float = 5.0) -> None:
        """Unregister every number, let running calls finish (``grace`` s), disconnect."""
        if self._closed:
            return
        self._closed = True
        for number in list(self._extensions):
            await self.unregister_extension(number)
        if self._agi is not None:
            await self._agi.close(grace)
        await self._tasks.wait(grace)
        await self._tasks.cancel()
        if self._media is not None:
            await self._media.close()
        if self._ari is not None:
            await self._ari.close()
        if self._ami is not None:
            await self._ami.close()

    async def _open(self) -> None:
        if self._ami is None:
            await self.start()


async def send_message(
    ami: AMIClient,
    ari: ARIClient | None,
    to_number: str,
    from_number: str,
    body: str,
    from_name: str | None = None,
) -> None:
    """One text to ``to_number`` through the PSTN endpoint (see :meth:`Server.send_text`)."""
    host = config.ASTERISK_PSTN_GATEWAY_HOST
    where = f"@{host}:{config.ASTERISK_PSTN_GATEWAY_PORT}" if host else ""
    to = f"pjsip:{config.ASTERISK_PSTN_ENDPOINT}/sip:{to_number}{where}"
    sender = f'"{from_name or config.SYSTEM_NAME}" <sip:{from_number}@{host or "localhost"}>'
    encoded = encode_body(body)
    if len(encoded) <= AMI_BODY_LIMIT:
        await ami.action({"Action": "MessageSend", "To": to, "From": sender, "Base64Body": encoded})
    elif ari is not None:
        await ari.request("endpoints", "sendMessage", to=to, body=body, **{"from": sender})
    else:
        raise ValueError(
            f"A text of {len(body)} characters does not fit an AMI line; long texts go over "
            "ARI: set ASTERISK_ARI_USER and ASTERISK_ARI_PASS."
        )


AMI_BODY_LIMIT = 900
"""The longest base64 body sent over AMI (its lines are at most 1024 bytes)."""


def _known(value: str | None) -> str:
    return "" if value in (None, "", "unknown") else str(value)


async def _run_handler(handler: Callable[[Any], Awaitable[object]], ui: UI) -> None:
    """Run a call or text handler: a hangup is an outcome; an error is logged and the
    person gets an apology; the server goes on either way."""
    try:
        await handler(ui)
    except HangupException:
        log.debug("%s with %s ended", type(ui).__name__, ui.remote_number)
    except Exception:
        log.exception("The handler for %s (%s) raised", ui.local_number, type(ui).__name__)
        await _apologise(ui)


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
            await ui.control.play("an-error-has-occured", "")
        except Exception:
            log.debug("Could not play the apology", exc_info=True)
