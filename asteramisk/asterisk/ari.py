"""The ARI connection, on aioari: connect, subscribe a Stasis app, route events, reconnect.

::

    async with ARIClient() as ari:            # host, port, user, password and app from config
        info = await ari.request("asterisk", "getInfo")
        ari.on_event("StasisStart", on_start)  # on_start(event: dict) -> None | Awaitable
        ari.add_connect_hook(resubscribe)     # after every re-established websocket

A refused password (401) or an unreachable http server raises a clear error at connect time.
Once connected, a dropped websocket (Asterisk restarting) is reopened with backoff, which
re-registers the Stasis application. Credentials travel in the Authorization header, never in
a URL, so they cannot leak through an error message or a log line.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import logging
import ssl
import urllib.parse
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp
from aioari.client import Client
from aiohttp import web_exceptions
from aioswagger11.http_client import AsynchronousHttpClient, BasicAuthenticator

from asteramisk.asterisk.ari_errors import connect_error
from asteramisk.asterisk.tls import client_context, warn_if_cleartext
from asteramisk.config import Settings, config
from asteramisk.exceptions import ActionError, AsteriskConnectionError
from asteramisk.lifecycle import AsyncResource, TaskSet

__all__ = ["ARIClient"]

log = logging.getLogger(__name__)

EventCallback = Callable[[dict[str, Any]], object]
ConnectHook = Callable[[], Awaitable[None]]

_BACKOFF_FIRST = 0.2
_BACKOFF_MAX = 2.0


class _HttpClient(AsynchronousHttpClient):  # type: ignore[misc]
    """aioswagger's client, with the credentials in a header for the websocket too, and
    ``ssl`` (a verifying context, or True for the system's CAs) for https and wss."""

    def __init__(self, auth: BasicAuthenticator, ssl_context: ssl.SSLContext | None) -> None:
        # aioswagger's __init__ makes a session without TLS settings: ours has them
        self.authenticator = auth
        self.websockets: set[Any] = set()
        self.tls = ssl_context is not None
        connector = aiohttp.TCPConnector(ssl=ssl_context if ssl_context is not None else True)
        self.session = aiohttp.ClientSession(connector=connector)

    def secure(self, url: str) -> str:
        """Asterisk's api-docs give an ``http://`` basePath even when served over https: with
        TLS on, every request and the websocket go over TLS all the same."""
        if self.tls and url.startswith(("http://", "ws://")):
            scheme, rest = url.split("://", 1)
            return f"{scheme}s://{rest}"
        return url

    async def request(
        self,
        method: str,
        url: str,
        params: Any = None,
        data: Any = None,
        headers: Any = None,
    ) -> Any:
        return await super().request(method, self.secure(url), params, data, headers)

    async def ws_connect(self, url: str, params: dict[str, str] | None = None) -> Any:
        headers: dict[str, str] = {}
        self.authenticator.apply(headers, {})
        url = self.secure(url)
        if params:
            url += "?" + urllib.parse.urlencode(params)
        websocket = await self.session.ws_connect(url, headers=headers, heartbeat=20)
        self.websockets.add(websocket)
        return websocket


class ARIClient(AsyncResource):
    """A connection to ARI with its Stasis application (see the module docstring)."""

    def __init__(
        self,
        host: str | None = None,
        port: int | None = None,
        username: str | None = None,
        password: str | None = None,
        app: str | None = None,
        *,
        connect_timeout: float | None = None,
        request_timeout: float | None = None,
        tls: bool | None = None,
        ca_file: str | None = None,
    ) -> None:
        """``tls``: https and wss, verifying Asterisk's certificate against ``ca_file`` (or the
        system's CAs); both default to ``ASTERISK_ARI_TLS`` and ``ASTERISK_TLS_CA_FILE``."""
        self.host: str = host if host is not None else config.ASTERISK_HOST
        self.port: int = int(port if port is not None else config.ASTERISK_ARI_PORT)
        self.username: str = username if username is not None else config.ASTERISK_ARI_USER
        self._password: str = password if password is not None else config.ASTERISK_ARI_PASS
        self.app: str = app if app is not None else config.ASTERISK_ARI_APP
        self.connect_timeout: float = connect_timeout or config.ASTERISK_CONNECT_TIMEOUT
        self.request_timeout: float = request_timeout or config.ASTERISK_ACTION_TIMEOUT
        self.tls: bool = bool(tls if tls is not None else config.ASTERISK_ARI_TLS)
        self.ca_file: str = ca_file if ca_file is not None else config.ASTERISK_TLS_CA_FILE
        self._ssl = client_context(self.ca_file) if self.tls else None
        self.base_url = f"{'https' if self.tls else 'http'}://{self.host}:{self.port}/"
        self.closed = False
        self.reconnects = 0
        self._client: Client | None = None
        self._http: _HttpClient | None = None
        self._runner: asyncio.Task[None] | None = None
        self._hooks: list[ConnectHook] = []
        self._listeners: list[tuple[str, EventCallback]] = []
        self._connected = asyncio.Event()
        self._tasks = TaskSet(log, "ARI connect hook")

    @classmethod
    def from_settings(cls, settings: Settings, *, app: str) -> ARIClient:
        """A client of Stasis application ``app`` configured by a snapshot of the
        configuration."""
        return cls(
            settings.ASTERISK_HOST,
            settings.ASTERISK_ARI_PORT,
            settings.ASTERISK_ARI_USER,
            settings.ASTERISK_ARI_PASS,
            app,
            connect_timeout=settings.ASTERISK_CONNECT_TIMEOUT,
            request_timeout=settings.ASTERISK_ACTION_TIMEOUT,
            tls=settings.ASTERISK_ARI_TLS,
            ca_file=settings.ASTERISK_TLS_CA_FILE,
        )

    def __repr__(self) -> str:
        state = "closed" if self.closed else ("connected" if self.connected else "disconnected")
        return f"<ARIClient {self.username}@{self.host}:{self.port} app={self.app!r} {state}>"

    @property
    def connected(self) -> bool:
        return self._connected.is_set()

    @property
    def client(self) -> Client:
        """The underlying aioari client, for the ARI resources (channels, bridges, ...)."""
        if self._client is None:
            raise AsteriskConnectionError("ARIClient is not connected; call connect() first.")
        return self._client

    async def _open(self) -> None:
        await self.connect()

    async def connect(self) -> None:
        """Load the ARI API, open the event websocket for our app; clear errors on failure."""
        if self.closed:
            raise AsteriskConnectionError("This ARIClient is closed; create a new one.")
        warn_if_cleartext(log, self.host, self.tls, "ARI", "ASTERISK_ARI_TLS")
        authenticator = BasicAuthenticator(self.host, self.username, self._password)
        self._http = _HttpClient(authenticator, self._ssl)
        self._client = Client(self.base_url, self._http)
        try:
            async with asyncio.timeout(self.connect_timeout):
                await self._client.init()
            async with asyncio.timeout(self.connect_timeout):
                websocket = await self._open_websocket()
        except BaseException as exc:
            await self._http.close()
            self._client = self._http = None
            if isinstance(exc, Exception):
                raise connect_error(
                    exc, self.base_url, self.username, self.connect_timeout, self.ca_file
                ) from None
            raise
        for event_type, callback in self._listeners:
            self._client.on_event(event_type, callback)
        self._connected.set()
        self._runner = asyncio.create_task(self._run(websocket), name=f"ari-events-{self.app}")
        log.info(
            "ARI connected to %s:%s as %s, app %s", self.host, self.port, self.username, self.app
        )

    async def _open_websocket(self) -> Any:
        return await self.client.swagger.events.eventWebsocket(app=self.app)

    async def _run(self, websocket: Any) -> None:
        backoff = _BACKOFF_FIRST
        while not self.closed:
            if websocket is None:
                try:
                    async with asyncio.timeout(self.connect_timeout):
                        websocket = await self._open_websocket()
                except (
                    aiohttp.ClientError,
                    OSError,
                    TimeoutError,
                    web_exceptions.HTTPError,
                ) as exc:
                    log.debug("ARI reconnect to %s failed: %s", self.base_url, exc)
                    await asyncio.sleep(backoff)
                    backoff = min(backoff * 2, _BACKOFF_MAX)
                    continue
                self.reconnects += 1
                backoff = _BACKOFF_FIRST
                self._connected.set()
                log.info("ARI reconnected to %s", self.base_url)
                for hook in list(self._hooks):
                    self._tasks.spawn(hook())
            try:
                await self._drain(websocket)
            except (aiohttp.ClientError, OSError) as exc:
                log.debug("ARI websocket error: %s", exc)
            finally:
                self._connected.clear()
                await websocket.close()
                if self._http is not None:
                    self._http.websockets.discard(websocket)
                websocket = None
            if not self.closed:
                log.warning("ARI websocket to %s closed; reconnecting", self.base_url)

    async def _drain(self, websocket: Any) -> None:
        client = self.client
        async for message in websocket:
            if message.type != aiohttp.WSMsgType.TEXT:
                continue
            try:
                event = json.loads(message.data)
            except ValueError:
                log.warning("ARI sent a malformed event (not JSON); ignored")
                continue
            if isinstance(event, dict) and "type" in event:
                await client.process_ws(event)

    async def request(self, resource: str, operation: str, **params: Any) -> Any:
        """Call an ARI operation, e.g. ``request("channels", "hangup", channelId=...)``.

        Raises :class:`ActionError` when Asterisk refuses it or does not answer in time.
        """
        repository = getattr(self.client, resource)
        try:
            async with asyncio.timeout(self.request_timeout):
                return await getattr(repository, operation)(**params)
        except TimeoutError:
            raise ActionError(
                f"ARI {resource}.{operation} got no answer within {self.request_timeout:g} s"
            ) from None
        except web_exceptions.HTTPError as exc:
            raise ActionError(
                f"ARI {resource}.{operation} failed: {exc.status} {exc.text or exc.reason}",
                exc,
            ) from None
        except (aiohttp.ClientError, OSError) as exc:
            raise AsteriskConnectionError(
                f"ARI {resource}.{operation}: cannot reach {self.base_url}: {exc}"
            ) from None

    async def request_json(self, method: str, path: str, payload: dict[str, Any]) -> None:
        """Call the ARI resource ``path`` (``PUT endpoints/sendMessage``) with ``payload`` as
        its JSON body (ARI reads an operation's parameters from the body too): for values too
        long for a URL."""
        await self.raw(method, path, payload)

    async def raw(self, method: str, path: str, payload: dict[str, Any] | None = None) -> bytes:
        """Call the ARI resource ``path`` directly (a JSON body, or none) and return the
        bytes of the answer: for what the generated API does not carry well (long values,
        a recording's audio). :class:`ActionError` when Asterisk refuses it."""
        if self._http is None:
            raise AsteriskConnectionError("ARIClient is not connected; call connect() first.")
        token = base64.b64encode(f"{self.username}:{self._password}".encode()).decode()
        headers = {"Authorization": f"Basic {token}"}
        try:
            async with (
                asyncio.timeout(self.request_timeout),
                self._http.session.request(
                    method, f"{self.base_url}ari/{path}", json=payload, headers=headers
                ) as response,
            ):
                body: bytes = await response.read()
                if response.status >= 300:
                    text = body[:200].decode("utf-8", "replace")
                    raise ActionError(f"ARI {method} {path} failed: {response.status} {text}")
                return body
        except TimeoutError:
            raise ActionError(
                f"ARI {method} {path} got no answer within {self.request_timeout:g} s"
            ) from None
        except (aiohttp.ClientError, OSError) as exc:
            raise AsteriskConnectionError(
                f"ARI {method} {path}: cannot reach {self.base_url}: {exc}"
            ) from None

    async def lookup(self, resource: str, operation: str, **params: Any) -> Any:
        """What ``resource.operation`` gets (``{}`` if it has no body), or None if Asterisk
        refuses: it has no such thing (a channel hung up, a playback ended)."""
        try:
            result = await self.request(resource, operation, **params)
        except ActionError:
            return None
        return {} if result is None else result

    async def cleanup(
        self,
        resource: str,
        operation: str,
        *,
        after: asyncio.Future[Any] | None = None,
        **params: Any,
    ) -> None:
        """A request that undoes something (hang up a channel, stop a playback) and must
        not be lost: shielded, it runs to its end even when the caller is cancelled; a
        refusal (the thing is already gone) or a lost connection is no error.

        ``after`` is the request that made the thing, started with ``asyncio.ensure_future``:
        this one waits for its answer, since one sent sooner can reach Asterisk before the
        thing exists and miss it (a phone left ringing, a prompt left playing).
        """

        async def undo() -> None:
            if after is not None:
                await asyncio.wait([after])
                if not after.cancelled():
                    after.exception()  # retrieved: its awaiter reports what matters
            with contextlib.suppress(ActionError, ConnectionError):
                await self.request(resource, operation, **params)

        await asyncio.shield(asyncio.ensure_future(undo()))

    async def hang_up(self, channel_id: str, *, made_by: asyncio.Future[Any] | None = None) -> None:
        """Hang up ``channel_id`` (see :meth:`cleanup`; ``made_by`` is its originate)."""
        await self.cleanup("channels", "hangup", after=made_by, channelId=channel_id)

    def on_event(self, event_type: str, callback: EventCallback) -> None:
        """Call ``callback(event)`` for every event of ``event_type`` (``*`` for all)."""
        self._listeners.append((event_type, callback))
        if self._client is not None:
            self._client.on_event(event_type, callback)

    def add_connect_hook(self, hook: ConnectHook) -> None:
        """Run ``await hook()`` after every reconnect of the event websocket."""
        self._hooks.append(hook)

    async def wait_connected(self, timeout: float | None = None) -> None:
        """Wait until the event websocket is open."""
        async with asyncio.timeout(timeout):
            await self._connected.wait()

    async def close(self) -> None:
        """Close the websocket and the http session; cancel what this client started."""
        if self.closed:
            return
        self.closed = True
        self._connected.clear()
        if self._runner is not None:
            self._runner.cancel()
            await asyncio.gather(self._runner, return_exceptions=True)
        await self._tasks.cancel()
        if self._http is not None:
            await self._http.close()
        self._client = self._http = None
