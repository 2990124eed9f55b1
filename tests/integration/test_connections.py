"""AMI and ARI connections against a real Asterisk (the sandbox unless ASTERISK_HOST is set)."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable

import pytest

from asteramisk.asterisk.ami import AMIClient
from asteramisk.asterisk.ari import ARIClient
from asteramisk.exceptions import (
    ActionError,
    AsteriskConnectionError,
    AuthenticationError,
)
from asteramisk.testing import SandboxSettings


async def test_ami_login_and_action(asterisk: SandboxSettings) -> None:
    async with AMIClient() as ami:
        assert ami.connected
        response = await ami.action({"Action": "CoreSettings"})
        assert response["AsteriskVersion"].startswith("22.")
        assert "System uptime" in await ami.command("core show uptime")


async def test_ami_refused_action_raises(asterisk: SandboxSettings) -> None:
    async with AMIClient() as ami:
        with pytest.raises(ActionError, match="DialplanExtensionRemove"):
            await ami.action(
                {
                    "Action": "DialplanExtensionRemove",
                    "Context": "no-such-context-anywhere",
                    "Extension": "1",
                }
            )


async def test_ami_header_injection_is_refused(asterisk: SandboxSettings) -> None:
    async with AMIClient() as ami:
        with pytest.raises(ValueError, match="CR, LF"):
            await ami.action(
                {
                    "Action": "Command",
                    "Command": "core show uptime\r\n\r\nAction: Originate",
                }
            )
        assert ami.connected  # nothing was sent, the connection is intact
        await ami.action({"Action": "Ping"})


async def test_ami_wrong_password_is_a_clear_error(
    asterisk: SandboxSettings, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    started = time.monotonic()
    with pytest.raises(AuthenticationError) as info:
        await AMIClient(secret="not-the-secret").connect()
    assert time.monotonic() - started < 10
    message = str(info.value)
    assert "refused the login" in message and "ASTERISK_AMI_PASS" in message
    assert "not-the-secret" not in caplog.text
    assert asterisk.ami_pass not in caplog.text


async def test_ami_unreachable_is_a_clear_error_in_bounded_time() -> None:
    started = time.monotonic()
    with pytest.raises(AsteriskConnectionError, match="Cannot reach Asterisk AMI"):
        await AMIClient("127.0.0.1", 1, "user", "secret", connect_timeout=3).connect()
    assert time.monotonic() - started < 3.5


async def test_ami_silent_port_times_out(unused_tcp_port: int) -> None:
    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await asyncio.sleep(30)

    server = await asyncio.start_server(silent, "127.0.0.1", unused_tcp_port)
    async with server:
        started = time.monotonic()
        with pytest.raises(AsteriskConnectionError, match="did not answer the login"):
            await AMIClient("127.0.0.1", unused_tcp_port, "u", "s", connect_timeout=1).connect()
        assert time.monotonic() - started < 2


async def test_ari_info(asterisk: SandboxSettings) -> None:
    async with ARIClient() as ari:
        info = await ari.request("asterisk", "getInfo")
        assert info["system"]["version"].startswith("22.")
        apps = await ari.request("applications", "list")
        assert any(app.get("name") == ari.app for app in apps)


async def test_ari_wrong_password_is_a_clear_error(asterisk: SandboxSettings) -> None:
    with pytest.raises(AuthenticationError, match="401") as info:
        await ARIClient(password="not-the-password").connect()
    assert "ASTERISK_ARI_PASS" in str(info.value)
    assert "not-the-password" not in str(info.value)


async def test_ari_unreachable_is_a_clear_error() -> None:
    with pytest.raises(AsteriskConnectionError, match="Cannot reach Asterisk ARI"):
        await ARIClient("127.0.0.1", 1, "u", "p").connect()


async def test_ari_refused_request_raises_action_error(asterisk: SandboxSettings) -> None:
    async with ARIClient() as ari:
        with pytest.raises(ActionError, match="404"):
            await ari.request("channels", "get", channelId="no-such-channel")


async def test_both_reconnect_after_asterisk_restart(
    asterisk: SandboxSettings, restart_asterisk: Callable[[], None]
) -> None:
    hooks: list[str] = []

    async with AMIClient() as ami, ARIClient() as ari:

        async def ami_hook() -> None:
            hooks.append("ami")

        async def ari_hook() -> None:
            hooks.append("ari")

        ami.add_connect_hook(ami_hook)
        ari.add_connect_hook(ari_hook)
        restarted = time.monotonic()
        await asyncio.to_thread(restart_asterisk)
        deadline = restarted + 10
        while not ("ami" in hooks and "ari" in hooks) and time.monotonic() < deadline:
            await asyncio.sleep(0.1)
        assert "ami" in hooks and "ari" in hooks, f"reconnected: {hooks}"
        assert ami.reconnects >= 1 and ari.reconnects >= 1
        uptime = await ami.command("core show uptime seconds")
        assert int(uptime.split("System uptime:")[1].split()[0]) < 30  # a fresh Asterisk
        apps = await ari.request("applications", "list")
        assert any(app.get("name") == ari.app for app in apps)
