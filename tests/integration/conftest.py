"""Helpers to run FastAGI handlers on real calls: ``Local/`` channels originated over AMI."""

from __future__ import annotations

import asyncio
import itertools
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest

from asteramisk.addresses import advertised_host, allowed_clients
from asteramisk.agi import AGI, FastAGIServer
from asteramisk.asterisk.ami import AMIClient
from asteramisk.config import config
from asteramisk.server import Server
from asteramisk.testing import SandboxSettings


class AGICalls:
    """Runs a handler on a real call and returns what it returned (or raises what it raised)."""

    def __init__(self, ami: AMIClient, server: FastAGIServer, context: str) -> None:
        self.ami = ami
        self.server = server
        self.context = context
        self._numbers = itertools.count(1)

    async def add_extension(self, exten: str, priority: int, app: str, data: str = "") -> None:
        await self.ami.action(
            {
                "Action": "DialplanExtensionAdd",
                "Context": self.context,
                "Extension": exten,
                "Priority": str(priority),
                "Application": app,
                "ApplicationData": data,
                "Replace": "yes",
            }
        )

    async def run(
        self,
        handler: Callable[[AGI], Awaitable[Any]],
        *,
        timeout: float = 30.0,
        port: int | None = None,
    ) -> Any:
        """``port``: where Asterisk connects for this call (a fault proxy's), if not the
        server's own."""
        route = f"t{next(self._numbers)}"
        result: asyncio.Future[Any] = asyncio.get_running_loop().create_future()

        async def wrapped(agi: AGI) -> None:
            try:
                value = await handler(agi)
            except BaseException as exc:
                if not result.done():
                    result.set_exception(exc)
                raise
            if not result.done():
                result.set_result(value)

        self.server.add_route(route, wrapped)
        url = f"agi://{self.server.advertise_host}:{port or self.server.port}/{route}"
        await self.add_extension(route, 1, "AGI", url)
        await self.add_extension(route, 2, "Hangup")
        await self.ami.action(
            {
                "Action": "Originate",
                "Channel": f"Local/{route}@{self.context}/n",
                "Application": "Wait",
                "Data": "60",
                "Async": "true",
            }
        )
        try:
            return await asyncio.wait_for(result, timeout)
        finally:
            self.server.remove_route(route)

    async def press(self, agi: AGI, digits: str) -> None:
        """DTMF as if the caller pressed ``digits`` on the AGI channel."""
        for digit in digits:
            await self.ami.action(
                {
                    "Action": "PlayDTMF",
                    "Channel": agi.channel,
                    "Digit": digit,
                    "Duration": "80",
                    "Receive": "true",
                }
            )
            await asyncio.sleep(0.12)

    async def hang_up_caller(self, agi: AGI) -> None:
        """Hang up the calling half of the Local channel: the caller hangs up."""
        await self.ami.action({"Action": "Hangup", "Channel": agi.channel.replace(";2", ";1")})


@pytest.fixture
async def agi_calls(asterisk: SandboxSettings) -> AsyncIterator[AGICalls]:
    context = f"asteramisk-test-{uuid.uuid4().hex[:8]}"
    settings = config.snapshot()
    host = settings.AGI_SERVER_HOST  # where Asterisk reaches the app (the remote sandbox too)
    async with (
        AMIClient() as ami,
        FastAGIServer(
            host,
            0,
            advertise_host=advertised_host(settings, host, ami.local_address),
            allowed_clients=allowed_clients(settings, host),
        ) as server,
    ):
        calls = AGICalls(ami, server, context)
        try:
            yield calls
        finally:
            await ami.action(
                {"Action": "Command", "Command": f"dialplan remove context {context}"},
                check=False,
            )


@pytest.fixture
async def server(asterisk: SandboxSettings) -> AsyncIterator[Server]:
    """A Server on an ephemeral port, closed after the test."""
    async with Server(port=0) as server:
        yield server
