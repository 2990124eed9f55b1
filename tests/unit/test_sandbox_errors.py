"""The sandbox says clearly why it cannot run."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from asteramisk.exceptions import SandboxError
from asteramisk.testing.sandbox import Sandbox, SandboxSettings, check_ports


def test_not_root_is_explained(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("os.geteuid", lambda: 1000)
    with pytest.raises(SandboxError, match="needs root") as info:
        Sandbox(tmp_path).up()
    assert "ASTERISK_HOST" in str(info.value)  # and what to do instead


def test_missing_debootstrap_is_explained(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("os.geteuid", lambda: 0)
    monkeypatch.setattr(shutil, "which", lambda name: None)
    monkeypatch.setattr(Path, "exists", lambda self: False)
    with pytest.raises(SandboxError, match="apt-get install debootstrap"):
        Sandbox(tmp_path).provision(progress=lambda message: None)


def test_unreachable_mirror_is_explained(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ASTERAMISK_SANDBOX_MIRROR", "http://127.0.0.1:9/debian")
    with pytest.raises(SandboxError, match="could not be reached") as info:
        Sandbox(tmp_path).provision(progress=lambda message: None)
    assert "ASTERAMISK_SANDBOX_MIRROR" in str(info.value)
    assert not (tmp_path / "sid-root").exists()  # nothing half-made is taken for a sandbox


def test_taken_port_is_explained(tmp_path: Path) -> None:
    import socket

    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        settings = SandboxSettings("127.0.0.1", port, "u", "p", 1, "u", "p", 1)
        with pytest.raises(SandboxError, match=f"Port {port} .* is taken"):
            check_ports(settings)


def test_status_of_an_empty_directory(tmp_path: Path) -> None:
    sandbox = Sandbox(tmp_path)
    assert sandbox.status() == {
        "directory": str(tmp_path),
        "provisioned": False,
        "running": False,
        "pid": None,
    }
    assert sandbox.settings() is None
    assert not sandbox.down()
