"""`asteramisk doctor` on the real sandbox: all passes, and each failure names its fix."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from asteramisk.config import config
from asteramisk.doctor import run_doctor
from asteramisk.testing import SandboxSettings


def doctor() -> tuple[int, str]:
    lines: list[str] = []
    status = run_doctor(lines.append)
    return status, "\n".join(lines)


def doctor_with(**settings: object) -> tuple[int, str]:
    """doctor() with these configuration variables set, and unset after."""
    for name, value in settings.items():
        setattr(config, name, value)
    try:
        return doctor()
    finally:
        for name in settings:
            delattr(config, name)


@pytest.fixture
def free_agi_port(unused_tcp_port: int) -> Iterator[None]:
    config.AGI_SERVER_PORT = unused_tcp_port
    yield
    del config.AGI_SERVER_PORT


def test_a_good_setup_passes(asterisk: SandboxSettings, free_agi_port: None) -> None:
    status, text = doctor()
    assert status == 0, text
    assert "[ok  ] AMI login: Asterisk 22." in text
    assert "[ok  ] ARI and the http server" in text
    assert "Asterisk reaches our FastAGI server" in text and "test call Local/s@" in text
    if asterisk.app_host:  # the remote sandbox: over TLS, and speech goes over http
        assert "[ok  ] TLS: AMI and ARI over TLS, Asterisk's certificate verified" in text
        assert f"[ok  ] Asterisk reaches our AudioSocket server ({asterisk.app_host}:" in text
        assert "[ok  ] synthesised speech plays (TTS_DELIVERY=auto: http)" in text
    else:
        assert "[ok  ] TLS: not needed: Asterisk is on this machine (loopback)" in text
        assert "[ok  ] Asterisk reaches our AudioSocket server (127.0.0.1:" in text
        assert "[ok  ] synthesised speech plays (TTS_DELIVERY=auto: file)" in text
    assert "9 passed, 0 failed" in text
    assert "metrics: Server.create(..., metrics_port=9464)" in text  # and where to look next


def test_a_setup_over_tls_passes(asterisk: SandboxSettings, free_agi_port: None) -> None:
    config.ASTERISK_AMI_TLS = config.ASTERISK_ARI_TLS = True
    config.ASTERISK_AMI_PORT, config.ASTERISK_ARI_PORT = (
        asterisk.ami_tls_port,
        asterisk.ari_tls_port,
    )
    config.ASTERISK_TLS_CA_FILE = asterisk.ca_file
    try:
        status, text = doctor()
        assert status == 0, text
        verified = f"Asterisk's certificate verified ({asterisk.ca_file})"
        assert f"[ok  ] TLS: AMI and ARI over TLS, {verified}" in text
        config.ASTERISK_TLS_CA_FILE = ""  # the system's CAs do not know the sandbox's
        status, text = doctor()
        assert status == 1
        assert "[FAIL] AMI login: " in text and "certificate was not accepted" in text
    finally:
        config.reset()
        asterisk.apply()  # the settings of this Asterisk (the remote sandbox's are TLS already)


def test_an_audiosocket_address_asterisk_cannot_reach_fails_with_the_fix(
    asterisk: SandboxSettings, free_agi_port: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Asterisk reaches the FastAGI port, but not the AudioSocket server's (a firewall that
    lets only AGI_SERVER_PORT through): Asterisk is told a port where nothing listens."""
    from asteramisk.media.audio_server import AudioSocketServer

    monkeypatch.setattr(AudioSocketServer, "address", property(lambda self: "127.0.0.1:9"))
    status, text = doctor()
    assert status == 1
    assert "[ok  ] Asterisk reaches our FastAGI server" in text
    assert "[FAIL] Asterisk reaches our AudioSocket server (127.0.0.1:9)" in text
    assert "not only AGI_SERVER_PORT" in text
    assert "[ok  ] synthesised speech plays" in text  # the call went on


def test_speech_asterisk_cannot_find_fails_and_http_fixes_it(
    asterisk: SandboxSettings, free_agi_port: None, tmp_path: Path
) -> None:
    """The field's silent failure: speech written where Asterisk never looks. doctor said
    "6 passed" on it; with TTS_DELIVERY=file it fails now, and with the default (auto) or
    http, the fixes it names, speech goes over http and plays."""
    config.TTS_CACHE_DIR = str(tmp_path)  # not Asterisk's sounds directory (its own root)
    config.TTS_DELIVERY = "file"
    try:
        status, text = doctor()
        assert status == 1, text
        assert "[FAIL] synthesised speech plays (TTS_DELIVERY=file)" in text
        assert f"Asterisk could not play a file written to {tmp_path}" in text
        assert "TTS_DELIVERY to 'auto' or 'http'" in text
        del config.TTS_DELIVERY
        status, text = doctor()
        assert status == 0, text
        assert "[ok  ] synthesised speech plays (TTS_DELIVERY=auto: http)" in text
        config.TTS_DELIVERY = "http"
        status, text = doctor()
        assert status == 0, text
        assert "[ok  ] synthesised speech plays (TTS_DELIVERY=http)" in text
    finally:
        config.TTS_CACHE_DIR = asterisk.env()["TTS_CACHE_DIR"]
        del config.TTS_DELIVERY


def test_wrong_ami_secret_says_which_file(asterisk: SandboxSettings) -> None:
    config.ASTERISK_AMI_PASS = "not-the-secret"
    try:
        status, text = doctor()
    finally:
        config.ASTERISK_AMI_PASS = asterisk.ami_pass
    assert status == 1
    assert "[FAIL] AMI login" in text and "manager.d/asteramisk.conf" in text
    assert "not-the-secret" not in text


def test_wrong_ari_password_and_missing_context(
    asterisk: SandboxSettings, free_agi_port: None
) -> None:
    config.ASTERISK_ARI_PASS = "not-the-password"
    config.ASTERISK_INCOMING_TEXT_CONTEXT = "no-such-context"
    try:
        status, text = doctor()
    finally:
        config.ASTERISK_ARI_PASS = asterisk.ari_pass
        config.ASTERISK_INCOMING_TEXT_CONTEXT = asterisk.text_context
    assert status == 1
    assert "[FAIL] ARI and the http server" in text and "ari.conf" in text
    assert "[FAIL] context no-such-context" in text and "extensions.conf" in text
    assert "[ok  ] context from-pstn (ASTERISK_INCOMING_CALL_CONTEXT)" in text


def test_unreachable_asterisk(asterisk: SandboxSettings) -> None:
    before = config.ASTERISK_AMI_PORT
    config.ASTERISK_AMI_PORT = 1
    try:
        status, text = doctor()
    finally:
        config.ASTERISK_AMI_PORT = before
    assert status == 1 and "manager.conf" in text


def test_a_media_address_asterisk_cannot_reach_fails_with_the_fix(
    asterisk: SandboxSettings, free_agi_port: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Speech over http, but Asterisk cannot fetch from the address it is given (a firewall,
    a wrong ASTERAMISK_ADVERTISE_HOST): the speech check fails and says what to check."""
    from asteramisk.media.http import MediaServer

    host = asterisk.app_host or "127.0.0.1"
    monkeypatch.setattr(MediaServer, "base_url", property(lambda self: f"http://{host}:9/media"))
    status, text = doctor_with(TTS_DELIVERY="http")
    assert status == 1
    assert "[ok  ] Asterisk reaches our FastAGI server" in text
    assert "[FAIL] synthesised speech plays (TTS_DELIVERY=http)" in text
    assert f"http://{host}:9/media/" in text
    assert "must be able to reach" in text


def test_a_fastagi_address_asterisk_cannot_reach_fails_with_the_fix(
    asterisk: SandboxSettings, free_agi_port: None
) -> None:
    """Asterisk told to connect to an address where the app is not (a wrong
    ASTERAMISK_ADVERTISE_HOST): the FastAGI check fails and names it."""
    # 127.0.0.2: Asterisk's own machine, where the app does not listen (it binds one address)
    status, text = doctor_with(ASTERAMISK_ADVERTISE_HOST="127.0.0.2")
    assert status == 1
    assert "[FAIL] Asterisk reaches our FastAGI server (127.0.0.2:" in text
    assert "no AGI connection came within 10 s" in text
    assert "ASTERAMISK_ADVERTISE_HOST" in text
