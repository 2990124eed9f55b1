"""TLS to a real Asterisk: AMI over TLS and ARI over https/wss, verified against the
sandbox's CA; a certificate the app does not trust, or TLS and plain mixed up, fail with an
error that says what to set."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Iterator

import pytest

from asteramisk.asterisk.ami import AMIClient
from asteramisk.asterisk.ari import ARIClient
from asteramisk.config import config
from asteramisk.exceptions import AsteriskConnectionError
from asteramisk.server import Server
from asteramisk.testing import SandboxSettings
from asteramisk.testing.phone import VirtualPhone
from asteramisk.ui import TextUI, VoiceUI


@pytest.fixture
def tls(asterisk: SandboxSettings) -> Iterator[SandboxSettings]:
    """The app's config switched to Asterisk's TLS ports, with the sandbox's CA."""
    if not (asterisk.ami_tls_port and asterisk.ari_tls_port and asterisk.ca_file):
        raise RuntimeError(
            "This Asterisk has no TLS ports or CA given: set ASTERISK_AMI_TLS_PORT, "
            "ASTERISK_ARI_TLS_PORT and ASTERISK_TLS_CA_FILE to test TLS against it."
        )
    config.ASTERISK_AMI_TLS = True
    config.ASTERISK_ARI_TLS = True
    config.ASTERISK_AMI_PORT = asterisk.ami_tls_port
    config.ASTERISK_ARI_PORT = asterisk.ari_tls_port
    config.ASTERISK_TLS_CA_FILE = asterisk.ca_file
    try:
        yield asterisk
    finally:
        config.reset()
        asterisk.apply()  # the settings of this Asterisk (the remote sandbox's are TLS already)


@pytest.fixture
async def phone(asterisk: SandboxSettings) -> AsyncIterator[VirtualPhone]:
    # made before the switch to TLS: the phone is the caller, not the app under test
    async with VirtualPhone("5550192", vocabulary="thank you for calling".split()) as p:
        yield p


async def test_a_server_over_tls_serves_a_call_and_a_text(
    phone: VirtualPhone, tls: SandboxSettings
) -> None:
    """AMI (registering, texts) over TLS; ARI (the call, its events over wss) over https."""

    async def call(ui: VoiceUI) -> None:
        await ui.answer()
        await ui.say("Thank you for calling.")
        await ui.hangup()

    async def text(ui: TextUI) -> None:
        await ui.say(f"You said: {ui.first_message}")

    async with Server(port=0) as server:  # only TLS ports: nothing can go in clear text
        await server.register_extension("2110", call_handler=call, text_handler=text)
        call_made = await phone.call("2110")
        assert await call_made.hear(timeout=15) == "thank you for calling"
        await call_made.wait_hangup(10)
        await phone.send_text("2110", "hello over tls")
        assert await phone.receive_text() == "You said: hello over tls"


async def test_ami_and_ari_over_tls_verify_asterisks_certificate(tls: SandboxSettings) -> None:
    async with AMIClient() as ami:
        assert ami.tls
        assert "Asterisk 22" in await ami.command("core show version")
    async with ARIClient(app="asteramisk-tls-test") as ari:
        info = await ari.request("asterisk", "getInfo")
        assert info["system"]["version"].startswith("22")


async def test_a_certificate_the_app_does_not_trust_is_refused_with_the_fix(
    tls: SandboxSettings,
) -> None:
    """Without the sandbox's CA (only the system's CAs), Asterisk's certificate is refused."""
    config.ASTERISK_TLS_CA_FILE = ""
    with pytest.raises(AsteriskConnectionError) as info:
        async with AMIClient():
            pass
    assert "certificate was not accepted" in str(info.value)
    assert "ASTERISK_TLS_CA_FILE" in str(info.value)
    with pytest.raises(AsteriskConnectionError) as info:
        async with ARIClient(app="asteramisk-tls-test"):
            pass
    assert "certificate was not accepted" in str(info.value)
    assert f"https://{tls.host}:{tls.ari_tls_port}/" in str(info.value)


async def test_tls_and_plain_mixed_up_say_so(tls: SandboxSettings) -> None:
    # TLS to the plain port: the handshake fails at once
    with pytest.raises(AsteriskConnectionError, match="TLS handshake failed"):
        async with AMIClient(port=tls.ami_port):
            pass
    # plain to the TLS port: Asterisk waits for a handshake, the login never comes
    started = time.monotonic()
    with pytest.raises(AsteriskConnectionError, match="needs ASTERISK_AMI_TLS"):
        async with AMIClient(tls=False, connect_timeout=1.5):
            pass
    assert time.monotonic() - started < 5
    with pytest.raises(AsteriskConnectionError, match="needs ASTERISK_ARI_TLS"):
        async with ARIClient(app="asteramisk-tls-test", tls=False):
            pass


async def test_credentials_in_clear_text_to_another_host_are_warned_about(
    asterisk: SandboxSettings, caplog: pytest.LogCaptureFixture
) -> None:
    """Plain AMI to the remote sandbox (another host, for the app) logs a warning that names
    the setting; to the local sandbox (loopback) nothing is said."""
    async with AMIClient(asterisk.host, asterisk.ami_port, tls=False):
        pass
    warned = f"AMI credentials go to {asterisk.host} in clear text" in caplog.text
    assert warned == bool(asterisk.app_host)
    if warned:
        assert "ASTERISK_AMI_TLS" in caplog.text
