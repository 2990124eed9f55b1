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
    assert "[ok  ] synthesised speech plays (TTS_DELIVERY=auto: file)" in text
    assert "7 passed, 0 failed" in text


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
    config.ASTERISK_AMI_PORT = 1
    try:
        status, text = doctor()
    finally:
        config.ASTERISK_AMI_PORT = asterisk.ami_port
    assert status == 1 and "manager.conf" in text
