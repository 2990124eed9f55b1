"""The AMI connection, on panoramisk: login with clear errors, actions with timeouts, reconnect.

::

    async with AMIClient() as ami:            # host, port, user and secret from config
        response = await ami.action({"Action": "CoreSettings"})
        ami.on_event("FullyBooted", lambda event: ...)
        ami.add_connect_hook(reregister)      # after every (re)login, once Asterisk is booted

A wrong secret or an unreachable host raises within ``ASTERISK_CONNECT_TIMEOUT`` seconds; there
is no endless retry at start-up. Once connected, a dropped connection (Asterisk restarting) is
retried with backoff, and the connect hooks run again when Asterisk is back. The secret is
never logged.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import ssl
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from panoramisk import Manager, actions
from panoramisk.ami_protocol import AMIProtocol
from panoramisk.message import Message

from asteramisk.asterisk.tls import client_context, tls_failure, warn_if_cleartext
from asteramisk.config import Settings, config
from asteramisk.exceptions import ActionError, AsteriskConnectionError, AuthenticationError
from asteramisk.lifecycle import AsyncResource, TaskSet

__all__ = ["AMIClient", "Message"]

log = logging.getLogger(__name__)

EventCallback = Callable[[Message], object]
ConnectHook = Callable[[], Awaitable[None]]

_BACKOFF_FIRST = 0.2
_BACKOFF_MAX = 2.0


def check_header_value(name: str, value: object) -> str:
    """An AMI header value as text; refuses CR, LF and NUL, which would inject headers."""
    text = str(value)
    if any(c in text for c in "\r\n\x00"):
        raise ValueError(
            f"AMI header {name!r} contains a CR, LF or NUL character, which would end the "
            "header and inject others; encode the value (for message bodies, Base64Body)."
        )
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError(f"AMI header {name!r} is not valid text (a lone surrogate)") from None
    return text


class _Action(actions.Action):  # type: ignore[misc]
    """panoramisk's Action, minus a KeyError on "... successfully queued" without Async."""

    @property
    def multi(self) -> bool:
        if "async" not in self:
            message = self.responses[0].message.lower()
            if message.endswith("successfully queued"):
                return bool(self.as_list)
        return bool(super().multi)


class _Protocol(AMIProtocol):  # type: ignore[misc]
    """panoramisk's protocol, where one odd message cannot take the connection down."""

    def handle_message(self, message: Message) -> None:
        try:
            super().handle_message(message)
        except Exception:
            log.exception("AMI: could not handle a message from Asterisk; ignored")


class _Manager(Manager):  # type: ignore[misc]
    """panoramisk's Manager with our reconnect policy instead of its fixed timer."""

    def __init__(self, owner: AMIClient, **settings: Any) -> None:
        super().__init__(**settings)
        self.owner = owner

    def connection_made(self, future: asyncio.Future[Any]) -> None:
        if future.cancelled():
            return
        exc = future.exception()
        if exc is not None:
            self.owner._connection_failed(exc)
            return
        if self.owner.closed:
            future.result()[0].close()
            return
        super().connection_made(future)

    def connection_lost(self, exc: object) -> None:
        self._connected = False
        pinger: asyncio.TimerHandle | None = getattr(self, "pinger", None)
        if pinger is not None:
            pinger.cancel()
            self.pinger = None
        self._fail_unanswered()
        self.owner._connection_lost()

    def _fail_unanswered(self) -> None:
        """The actions Asterisk had not answered when the connection dropped fail now.
        panoramisk would send them again after the reconnect, whenever that is: an
        Originate or a restart that may already have run would run twice."""
        while self.awaiting_actions:
            action = self.awaiting_actions.popleft()
            if not action.future.done():
                action.future.set_exception(
                    AsteriskConnectionError(
                        f"The AMI connection to {self.owner.host}:{self.owner.port} was lost "
                        f"before Asterisk answered {action['Action']}; it may or may not have "
                        "run, and is not sent again."
                    )
                )


class AMIClient(AsyncResource):
    """A logged-in AMI connection that reconnects by itself (see the module docstring)."""

    def __init__(
        self,
        host: str | None = None,
        port: int | None = None,
        username: str | None = None,
        secret: str | None = None,
        *,
        connect_timeout: float | None = None,
        action_timeout: float | None = None,
        events: str = "on",
        tls: bool | None = None,
        ca_file: str | None = None,
    ) -> None:
        """``events`` is the AMI event mask: ``"on"`` (all), or classes like ``"system,call"``;
        ``"system"`` keeps a connection that only sends actions quiet (it must include system,
        whose FullyBooted event tells that Asterisk is ready). ``tls`` connects over TLS,
        verifying Asterisk's certificate against ``ca_file`` (or the system's CAs); both
        default to ``ASTERISK_AMI_TLS`` and ``ASTERISK_TLS_CA_FILE``."""
        self.events = events
        self.host: str = host if host is not None else config.ASTERISK_HOST
        self.port: int = int(port if port is not None else config.ASTERISK_AMI_PORT)
        self.username: str = username if username is not None else config.ASTERISK_AMI_USER
        self._secret: str = secret if secret is not None else config.ASTERISK_AMI_PASS
        self.connect_timeout: float = connect_timeout or config.ASTERISK_CONNECT_TIMEOUT
        self.action_timeout: float = action_timeout or config.ASTERISK_ACTION_TIMEOUT
        self.tls: bool = bool(tls if tls is not None else config.ASTERISK_AMI_TLS)
        self.ca_file: str = ca_file if ca_file is not None else config.ASTERISK_TLS_CA_FILE
        self._ssl: ssl.SSLContext | bool = client_context(self.ca_file) if self.tls else False
        self.closed = False
        self._manager: _Manager | None = None
        self._starting = False
        self._hooks: list[ConnectHook] = []
        self._listeners: list[tuple[str, EventCallback]] = []
        self._backoff = _BACKOFF_FIRST
        self._reconnect_handle: asyncio.TimerHandle | None = None
        self._tasks = TaskSet(log, "AMI connect hook")
        self._booted = asyncio.Event()
        self.reconnects = 0

    @classmethod
    def from_settings(cls, settings: Settings, *, events: str = "on") -> AMIClient:
        """A client configured by a snapshot of the configuration."""
        return cls(
            settings.ASTERISK_HOST,
            settings.ASTERISK_AMI_PORT,
            settings.ASTERISK_AMI_USER,
            settings.ASTERISK_AMI_PASS,
            connect_timeout=settings.ASTERISK_CONNECT_TIMEOUT,
            action_timeout=settings.ASTERISK_ACTION_TIMEOUT,
            events=events,
            tls=settings.ASTERISK_AMI_TLS,
            ca_file=settings.ASTERISK_TLS_CA_FILE,
        )

    def __repr__(self) -> str:
        state = "closed" if self.closed else ("connected" if self.connected else "disconnected")
        tls = " tls" if self.tls else ""
        return f"<AMIClient {self.username}@{self.host}:{self.port}{tls} {state}>"

    @property
    def connected(self) -> bool:
        manager = self._manager
        return bool(manager is not None and manager._connected and manager.authenticated)

    @property
    def local_address(self) -> str:
        """This machine's address on the connection to Asterisk ('' when not connected):
        the address Asterisk sees the app at."""
        protocol = getattr(self._manager, "protocol", None)
        transport = getattr(protocol, "transport", None)
        sockname = transport.get_extra_info("sockname") if transport is not None else None
        return str(sockname[0]) if sockname else ""

    async def _open(self) -> None:
        await self.connect()

    # -- connecting ----------------------------------------------------------------------

    async def connect(self) -> None:
        """Connect and log in; raise a clear error within ``connect_timeout`` seconds."""
        if self.closed:
            raise AsteriskConnectionError("This AMIClient is closed; create a new one.")
        warn_if_cleartext(log, self.host, self.tls, "AMI", "ASTERISK_AMI_TLS")
        manager = self._new_manager()
        self._starting = True
        try:
            async with asyncio.timeout(self.connect_timeout):
                await self._login(manager)
        except TimeoutError:
            self._abort()
            raise AsteriskConnectionError(
                f"Asterisk AMI at {self.host}:{self.port} did not answer the login within "
                f"{self.connect_timeout:g} s. Is it Asterisk's manager port "
                "(manager.conf [general] port), and is the host right? (A TLS port, "
                "tlsbindaddr, needs ASTERISK_AMI_TLS.)"
            ) from None
        except BaseException:
            self._abort()
            raise
        finally:
            self._starting = False
        log.info("AMI connected to %s:%s as %s", self.host, self.port, self.username)

    def _new_manager(self) -> _Manager:
        self._booted.clear()
        manager = _Manager(
            self,
            host=self.host,
            port=self.port,
            username=self.username,
            secret=self._secret,
            events=self.events,
            ssl=self._ssl,
            ping_delay=10,
            ping_interval=10,
            reconnect_timeout=_BACKOFF_FIRST,
            loop=asyncio.get_running_loop(),
            forgetable_actions=("ping", "login", "logoff"),
            protocol_factory=_Protocol,
        )
        manager.register_event("FullyBooted", self._fully_booted)
        manager.on_login = self._logged_in
        for pattern, callback in self._listeners:
            manager.register_event(pattern, _adapt(callback))
        self._manager = manager
        return manager

    async def _login(self, manager: _Manager) -> None:
        try:
            await manager.connect()
        except OSError as exc:
            where = f"Asterisk AMI at {self.host}:{self.port}"
            failure = tls_failure(exc, where, self.ca_file, "ASTERISK_AMI_TLS")
            if failure is not None:
                raise failure from None
            raise AsteriskConnectionError(
                f"Cannot reach Asterisk AMI at {self.host}:{self.port}: {exc.strerror or exc}. "
                "Is Asterisk running, with manager.conf [general] enabled = yes, and do "
                "ASTERISK_HOST / ASTERISK_AMI_PORT point at it?"
            ) from None
        # panoramisk sends Login from the connect task's done-callback, which has run by now.
        future = manager.authenticated_future
        response = await future if future is not None else None
        if response is not None and not response.success:
            if "shutting down" in str(response.message):
                raise AsteriskConnectionError(
                    f"Asterisk at {self.host}:{self.port} is shutting down and refused the "
                    "login; connect again once it is back."
                )
            raise AuthenticationError(
                f"Asterisk AMI at {self.host}:{self.port} refused the login of user "
                f"{self.username!r}: {response.message or 'Authentication failed'}. Check that "
                "ASTERISK_AMI_USER names a section of manager.conf (or manager.d/) and that "
                "ASTERISK_AMI_PASS is its secret, and that the section permits this host."
            )
        await self._booted.wait()

    def _abort(self) -> None:
        manager, self._manager = self._manager, None
        if manager is not None:
            manager.close()

    def _logged_in(self, manager: _Manager) -> None:
        self._backoff = _BACKOFF_FIRST

    def _fully_booted(self, manager: _Manager, event: Message) -> None:
        first = not self._booted.is_set()
        self._booted.set()
        if first and not self._starting:
            log.info("AMI reconnected to %s:%s", self.host, self.port)
        if first:
            for hook in list(self._hooks):
                self._tasks.spawn(hook())

    def _connection_lost(self) -> None:
        self._booted.clear()
        if self.closed or self._starting:
            return
        log.warning("AMI connection to %s:%s lost; reconnecting", self.host, self.port)
        self._schedule_reconnect()

    def _connection_failed(self, exc: BaseException) -> None:
        if self.closed or self._starting:
            return
        log.debug("AMI reconnect to %s:%s failed: %s", self.host, self.port, exc)
        self._schedule_reconnect()

    def _schedule_reconnect(self) -> None:
        if self._reconnect_handle is not None:
            self._reconnect_handle.cancel()
        delay, self._backoff = self._backoff, min(self._backoff * 2, _BACKOFF_MAX)
        loop = asyncio.get_running_loop()
        self._reconnect_handle = loop.call_later(delay, self._reconnect)

    def _reconnect(self) -> None:
        self._reconnect_handle = None
        if self.closed or self._manager is None:
            return
        self.reconnects += 1
        self._manager.connect()

    # -- using ---------------------------------------------------------------------------

    async def action(
        self,
        action: Mapping[str, object],
        *,
        timeout: float | None = None,
        check: bool = True,
        as_list: bool | None = None,
    ) -> Any:
        """Send an AMI action and return Asterisk's response (a list for event lists).

        Raises :class:`ActionError` if Asterisk answers with an error (unless ``check`` is
        false) or does not answer within ``timeout`` seconds, and
        :class:`AsteriskConnectionError` when not connected. Header values may not contain
        CR or LF.
        """
        fields: dict[str, Any] = {}
        for key, value in action.items():
            check_header_value(key, key)
            if isinstance(value, list | tuple):
                fields[key] = [check_header_value(key, item) for item in value]
            else:
                fields[key] = check_header_value(key, value)
        name = fields.get("Action", "?")
        manager = self._manager
        if manager is None or not self.connected or manager.protocol is None:
            raise AsteriskConnectionError(
                f"Cannot send AMI action {name}: not connected to {self.host}:{self.port}."
            )
        future = manager.send_action(_Action(fields, as_list=as_list), as_list=as_list)
        try:
            async with asyncio.timeout(timeout or self.action_timeout):
                response = await future
        except TimeoutError:
            future.cancel()  # never sent again after a reconnect
            raise ActionError(
                f"Asterisk did not answer AMI action {name} within "
                f"{timeout or self.action_timeout:g} s."
            ) from None
        first = response[0] if isinstance(response, list) else response
        if check and not first.success:
            raise ActionError(
                f"AMI action {name} failed: {first.message or first.response}", response
            )
        return response

    async def command(self, command: str, *, timeout: float | None = None) -> str:
        """Run an Asterisk CLI command over AMI and return its output.

        A command that fails in the CLI ("There is no existence of 'x' context") still
        returns its output: reading it is the caller's business.
        """
        response = await self.action(
            {"Action": "Command", "Command": command}, timeout=timeout, check=False
        )
        output = response.get("Output", response.content or "")
        return "\n".join(output) if isinstance(output, list) else str(output)

    def on_event(self, pattern: str, callback: EventCallback) -> None:
        """Call ``callback(event)`` for every event whose name matches ``pattern`` (fnmatch)."""
        self._listeners.append((pattern, callback))
        if self._manager is not None:
            self._manager.register_event(pattern, _adapt(callback))

    def add_connect_hook(self, hook: ConnectHook) -> None:
        """Run ``await hook()`` after every reconnect, once Asterisk is fully booted."""
        self._hooks.append(hook)

    async def wait_connected(self, timeout: float | None = None) -> None:
        """Wait until the connection is up and Asterisk fully booted."""
        async with asyncio.timeout(timeout):
            await self._booted.wait()

    async def close(self) -> None:
        """Log off, close the connection and cancel what this client started."""
        if self.closed:
            return
        self.closed = True
        if self._reconnect_handle is not None:
            self._reconnect_handle.cancel()
        await self._tasks.cancel()
        manager, self._manager = self._manager, None
        if manager is not None:
            with contextlib.suppress(Exception):
                if manager.protocol is not None and manager._connected:
                    manager.protocol.send({"Action": "Logoff"})
            manager.close()


def _adapt(callback: EventCallback) -> Callable[[Manager, Message], object]:
    def dispatch(manager: Manager, event: Message) -> object:
        return callback(event)

    return dispatch
