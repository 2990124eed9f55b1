"""Text conversations shared by several app hosts, on Redis (``REDIS_URL``).

With several app hosts serving one number, the reply to a conversation may reach any of them
(and through any Asterisk). Each host keeps its own conversations in memory
(:mod:`asteramisk.ui.conversations`) and says in Redis which it holds:

- ``asteramisk:conversation:<our number>:<their number>`` is the id of the host holding that
  conversation, set when it opens (with a time to live, ``CONVERSATION_TTL``, refreshed every
  third of it while the conversation lives) and deleted when it ends;
- each host listens on its own channel, ``asteramisk:host:<id>``.

A text that reaches a host which does not hold its conversation is published on the holder's
channel. Redis answers how many listeners received it: one, and the holder delivers it (to the
conversation, or, if that ended meanwhile, to its own server as a new conversation); none, and
the holder is gone: this host takes the conversation over (only if no other host did first)
and starts it anew with the text. Either way one host, and one only, gets each text.

When Redis restarts, each host listens again and claims its open conversations again at once.
While Redis cannot be reached, a host delivers texts to the conversations it holds and starts
the others anew, and says so in a warning. Without ``REDIS_URL`` none of this runs: one host
keeps every conversation in memory, as before.

The relay is the process's (its conversations are): each Server and Communicator started with
``REDIS_URL`` holds it (:func:`acquire`) and lets it go at close; the last one closes it.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import uuid
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import urlsplit

from asteramisk.config import Settings
from asteramisk.exceptions import ConfigurationError
from asteramisk.ui.conversations import conversations

__all__ = ["TextRelay", "acquire"]

log = logging.getLogger("asteramisk.texts")

PREFIX = "asteramisk"
MAX_CONNECTIONS = 32
"""Connections to Redis one process opens at most (a request waits for a free one)."""
_TAKE_OVER = """
if redis.call('GET', KEYS[1]) == ARGV[1] or redis.call('EXISTS', KEYS[1]) == 0 then
    redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
    return 1
end
return 0
"""
"""Take a conversation over from a host that is gone, unless another host did first."""
_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
    return redis.call('DEL', KEYS[1])
end
return 0
"""
"""Forget a conversation, unless another host holds it now."""

Take = Callable[[str, str, str], Awaitable[bool]]
"""Start a conversation for a text handed to this host (our number, theirs, the text)."""

_relays: dict[str, TextRelay] = {}


async def acquire(settings: Settings) -> TextRelay | None:
    """The process's relay for ``settings.REDIS_URL`` (started on first use), held until
    :meth:`TextRelay.release`; None without ``REDIS_URL``."""
    url = settings.REDIS_URL
    if not url:
        return None
    relay = _relays.get(url)
    if relay is None:
        relay = _relays[url] = TextRelay(url, ttl=settings.CONVERSATION_TTL)
        try:
            await relay.start()
        except BaseException:
            del _relays[url]
            raise
    relay.holders += 1
    return relay


class TextRelay:
    """Hands texts between the app hosts (see the module docstring)."""

    def __init__(self, url: str, *, ttl: float = 60.0, client: Any = None) -> None:
        """``client``: a ``redis.asyncio.Redis`` (default: one for ``url``)."""
        try:
            import redis.asyncio as aioredis  # the 'cluster' extra
        except ImportError:
            raise ConfigurationError(
                "REDIS_URL is set but the redis client is not installed: "
                "pip install 'asteramisk[cluster]' (or unset REDIS_URL for one host)."
            ) from None
        self._url = url
        self.where = _where(url)
        """Redis's host and port, for messages (the URL holds its password)."""
        pool = aioredis.BlockingConnectionPool.from_url(
            url, max_connections=MAX_CONNECTIONS, timeout=5, socket_timeout=5,
            socket_connect_timeout=5,
        )  # fmt: skip
        self._redis: Any = client or aioredis.Redis(connection_pool=pool)
        self.host_id = uuid.uuid4().hex[:12]
        self.ttl = ttl
        self.holders = 0
        self.takers: list[Take] = []
        """The servers of this process, asked in turn to take a conversation anew."""
        self.handed = 0
        """Texts this host handed to another; ``received``: texts handed to it."""
        self.received = 0
        self._tasks: list[asyncio.Task[None]] = []
        self._listening = asyncio.Event()

    def __repr__(self) -> str:
        return f"<TextRelay {self.host_id} at {self.where}>"

    @property
    def listening(self) -> bool:
        """Whether this host receives the texts other hosts hand it (Redis is connected)."""
        return self._listening.is_set()

    async def wait_listening(self, timeout: float = 30.0) -> None:
        """Wait until this host listens again (after Redis came back)."""
        async with asyncio.timeout(timeout):
            await self._listening.wait()

    @property
    def channel(self) -> str:
        return f"{PREFIX}:host:{self.host_id}"

    async def start(self) -> None:
        """Check that Redis answers, then listen on this host's channel."""
        try:
            await self._redis.ping()
        except Exception as exc:
            await self._redis.aclose()
            raise ConfigurationError(
                f"Redis at {self.where} (REDIS_URL) does not answer: {_reason(exc)}. Check "
                "that it runs and that REDIS_URL has its address and password."
            ) from None
        conversations.attach(self)
        self._tasks = [
            asyncio.create_task(self._listen(), name="asteramisk text relay"),
            asyncio.create_task(self._refresh(), name="asteramisk conversation refresh"),
        ]
        try:
            await self.wait_listening(10)
        except TimeoutError:
            await self._stop()
            raise ConfigurationError(
                f"Redis at {self.where} (REDIS_URL) answers but did not let this host "
                "subscribe within 10 s: check its ACLs (SUBSCRIBE, PUBLISH) and its load."
            ) from None
        log.info("Texts shared with the other app hosts on Redis at %s", self.where)

    async def release(self) -> None:
        """One holder less; the last one closes the relay."""
        self.holders -= 1
        if self.holders > 0:
            return
        if _relays.get(self._url) is self:
            del _relays[self._url]
        for ui in conversations.open():
            with contextlib.suppress(Exception):
                await self._redis.eval(_RELEASE, 1, _key(*ui), self.host_id)
        await self._stop()

    async def _stop(self) -> None:
        conversations.detach(self)
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        await self._redis.aclose()

    # -- this host's conversations ---------------------------------------------------------

    async def claim(self, ours: str, theirs: str) -> None:
        """Say in Redis that this host holds the conversation (it opened here)."""
        try:
            await self._redis.set(_key(ours, theirs), self.host_id, px=self._ttl_ms)
        except Exception as exc:
            log.warning(
                "Redis at %s: could not claim the conversation %s-%s (%s); texts that reach "
                "another host may start it anew there",
                self.where,
                ours,
                theirs,
                _reason(exc),
            )

    async def forget(self, ours: str, theirs: str) -> None:
        """The conversation ended here: another host may start it anew."""
        with contextlib.suppress(Exception):
            await self._redis.eval(_RELEASE, 1, _key(ours, theirs), self.host_id)

    @property
    def _ttl_ms(self) -> int:
        return int(self.ttl * 1000)

    async def _refresh(self) -> None:
        while True:
            await asyncio.sleep(self.ttl / 3)
            await self._claim_all()

    async def _claim_all(self) -> None:
        held = conversations.open()
        if not held:
            return
        try:
            async with self._redis.pipeline(transaction=False) as pipe:
                for ours, theirs in held:
                    pipe.set(_key(ours, theirs), self.host_id, px=self._ttl_ms)
                await pipe.execute()
        except Exception as exc:
            log.warning("Redis at %s: could not refresh %d conversation(s): %s",
                        self.where, len(held), _reason(exc))  # fmt: skip

    # -- texts between hosts ---------------------------------------------------------------

    async def hand_over(self, ours: str, theirs: str, body: str) -> bool:
        """Hand a text to the host holding its conversation, if another live host does.
        False: this host is to start the conversation (none holds it, or its holder is
        gone and this host took it over)."""
        key = _key(ours, theirs)
        try:
            holder = await self._redis.get(key)
            for _attempt in range(3):  # a holder, or the host that took over from it
                if holder is None or holder.decode() == self.host_id:
                    break
                message = json.dumps({"ours": ours, "theirs": theirs, "body": body})
                if await self._redis.publish(f"{PREFIX}:host:{holder.decode()}", message):
                    self.handed += 1
                    return True
                log.warning("The host that held the conversation %s-%s is gone: it starts "
                            "anew here", ours, theirs)  # fmt: skip
                if await self._redis.eval(_TAKE_OVER, 1, key, holder, self.host_id, self._ttl_ms):
                    return False
                holder = await self._redis.get(key)  # another host took it first: to it
        except Exception as exc:
            log.warning(
                "Redis at %s cannot be reached (%s): the text from %s to %s is handled here",
                self.where,
                _reason(exc),
                theirs,
                ours,
            )
        return False

    async def _listen(self) -> None:
        backoff = 0.2
        while True:
            pubsub = self._redis.pubsub(ignore_subscribe_messages=True)
            try:
                await pubsub.subscribe(self.channel)
                await self._claim_all()  # after a Redis restart: ours again, at once
                self._listening.set()
                backoff = 0.2
                async for message in pubsub.listen():
                    await self._received(message.get("data"))
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                self._listening.clear()
                log.warning("Redis at %s lost (%s); listening again in %.1f s",
                            self.where, _reason(exc), backoff)  # fmt: skip
            finally:
                with contextlib.suppress(Exception):
                    await pubsub.aclose()
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, 2.0)

    async def _received(self, data: object) -> None:
        try:
            text = json.loads(data if isinstance(data, (str, bytes)) else "")
            ours, theirs, body = str(text["ours"]), str(text["theirs"]), str(text["body"])
        except (ValueError, KeyError, TypeError):
            log.warning("A malformed message on %s was ignored", self.channel)
            return
        self.received += 1
        conversation = conversations.get(ours, theirs)
        if conversation is not None:
            conversation.deliver(body)
            return
        for take in list(self.takers):  # it ended meanwhile: a new one, here
            if await take(ours, theirs, body):
                return
        log.error(
            "A text from %s to %s was handed to this host, whose conversation ended, and no "
            "server of this process takes new conversations on %s: it is lost: %r",
            theirs,
            ours,
            ours,
            body[:80],
        )


def _key(ours: str, theirs: str) -> str:
    return f"{PREFIX}:conversation:{ours}:{theirs}"


def _where(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.hostname or 'localhost'}:{parts.port or 6379}"


def _reason(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}".replace("\n", " ")[:200]
