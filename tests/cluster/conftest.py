"""The cluster sandbox for these tests (two Asterisk nodes, Kamailio, Redis), and app hosts
run as processes of their own, each in its own network namespace (tests/cluster/app_host.py)."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest

from asteramisk.config import config
from asteramisk.testing.cluster import ClusterSandbox, ClusterSettings

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def cluster() -> Iterator[tuple[ClusterSandbox, ClusterSettings]]:
    """The cluster sandbox, up for the session and down after it (nothing left running)."""
    sandbox = ClusterSandbox()
    settings = sandbox.up(progress=lambda message: None)
    try:
        yield sandbox, settings
    finally:
        sandbox.down()


@pytest.fixture
def on_cluster(cluster: tuple[ClusterSandbox, ClusterSettings]) -> Iterator[ClusterSettings]:
    """This process as an app host on the cluster's LAN (10.99.1.1): config set from the
    cluster's settings; every part of the cluster running again afterwards."""
    sandbox, settings = cluster
    for name, value in settings.env().items():
        if not name.startswith("ASTERAMISK_"):
            setattr(config, name, value)
    try:
        yield settings
    finally:
        config.reset()
        for part in ("node1", "node2", "kamailio", "redis"):
            sandbox.start(part)


def phone_on(settings: ClusterSettings, index: int) -> None:
    """Point config at one node (a VirtualPhone calls out through its trunk to Kamailio)."""
    for name, value in settings.for_node(index).env().items():
        if not name.startswith("ASTERAMISK_"):
            setattr(config, name, value)
    del config.ASTERISK_HOSTS
    config.ASTERISK_PSTN_GATEWAY_HOST, config.ASTERISK_PSTN_GATEWAY_PORT = settings.kamailio.split(
        ":"
    )


class AppHost:
    """tests/cluster/app_host.py in the namespace of ``name`` (app1, app2)."""

    def __init__(self, sandbox: ClusterSandbox, settings: ClusterSettings, name: str) -> None:
        self.host = sandbox.net.hosts[name]
        self.env = {
            **os.environ,
            **settings.env(),
            "AGI_SERVER_HOST": self.host.address,
            "ASTERAMISK_ADVERTISE_HOST": self.host.address,
            "PYTHONPATH": str(ROOT),
        }
        self.process: asyncio.subprocess.Process | None = None

    async def start(self, *args: str) -> dict[str, Any]:
        command = self.host.command(sys.executable, "-m", "tests.cluster.app_host", *args)
        self.process = await asyncio.create_subprocess_exec(
            *command,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            env=self.env,
            cwd=ROOT,
        )
        return await self.read(60)

    async def read(self, timeout: float = 120) -> dict[str, Any]:
        assert self.process is not None and self.process.stdout is not None
        raw = await asyncio.wait_for(self.process.stdout.readline(), timeout)
        if not raw:
            raise AssertionError(
                f"app host {self.host.name} ended (exit {self.process.returncode})"
            )
        result: dict[str, Any] = json.loads(raw)
        return result

    async def ask(self, timeout: float = 120) -> dict[str, Any]:
        assert self.process is not None and self.process.stdin is not None
        self.process.stdin.write(b"go\n")
        await self.process.stdin.drain()
        return await self.read(timeout)

    def kill(self) -> None:
        if self.process is not None and self.process.returncode is None:
            self.process.send_signal(signal.SIGKILL)

    async def stop(self) -> None:
        if self.process is None or self.process.returncode is not None:
            return
        assert self.process.stdin is not None
        self.process.stdin.close()
        try:
            await asyncio.wait_for(self.process.wait(), 20)
        except TimeoutError:
            self.kill()
            await self.process.wait()


@pytest.fixture
async def app_hosts(
    cluster: tuple[ClusterSandbox, ClusterSettings], on_cluster: ClusterSettings
) -> AsyncIterator[list[AppHost]]:
    """Two app hosts (not started: ``await host.start(mode, ...)``), stopped after."""
    sandbox, settings = cluster
    hosts = [AppHost(sandbox, settings, name) for name in ("app1", "app2")]
    try:
        yield hosts
    finally:
        for host in hosts:
            await host.stop()
