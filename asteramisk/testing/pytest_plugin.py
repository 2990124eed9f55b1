"""pytest fixtures to test an Asteramisk app against a real Asterisk.

Installed with asteramisk (entry point ``pytest11``), so any project gets:

``asterisk``
    (session) the connection settings of a running Asterisk, applied to
    :data:`asteramisk.config.config`. When ``ASTERISK_HOST``, ``ASTERISK_AMI_USER`` and
    ``ASTERISK_AMI_PASS`` are set in the environment, that Asterisk is used; otherwise the
    sandbox is provisioned and started (root needed). If neither works, every test that uses
    it errors loudly: nothing is skipped. (For TLS tests against your own Asterisk, also set
    ``ASTERISK_AMI_TLS_PORT``, ``ASTERISK_ARI_TLS_PORT`` and ``ASTERISK_TLS_CA_FILE``.)
``restart_asterisk``
    a function that restarts that Asterisk (``core restart now``) and returns once it is back.
"""

from __future__ import annotations

import os
import socket
import time
from collections.abc import Callable, Iterator

import pytest

from asteramisk.testing.sandbox import Sandbox
from asteramisk.testing.sandbox_settings import SandboxSettings, ami_fully_booted

__all__ = ["asterisk", "external_settings", "restart_asterisk"]


def external_settings() -> SandboxSettings | None:
    """Settings of an Asterisk named in the environment, or None to use the sandbox."""
    env = os.environ
    if not (env.get("ASTERISK_HOST") and env.get("ASTERISK_AMI_USER")):
        return None
    if env.get("ASTERAMISK_SANDBOX_ROOT"):
        return None  # these are a sandbox's own exported settings: manage it as the sandbox
    return SandboxSettings(
        host=env["ASTERISK_HOST"],
        ami_port=int(env.get("ASTERISK_AMI_PORT", 5038)),
        ami_user=env["ASTERISK_AMI_USER"],
        ami_pass=env.get("ASTERISK_AMI_PASS", ""),
        ari_port=int(env.get("ASTERISK_ARI_PORT", 8088)),
        ari_user=env.get("ASTERISK_ARI_USER", ""),
        ari_pass=env.get("ASTERISK_ARI_PASS", ""),
        sip_port=int(env.get("ASTERISK_PSTN_GATEWAY_PORT", 5060)),
        call_context=env.get("ASTERISK_INCOMING_CALL_CONTEXT", "from-pstn"),
        text_context=env.get("ASTERISK_INCOMING_TEXT_CONTEXT", "from-pstn"),
        ami_tls_port=int(env.get("ASTERISK_AMI_TLS_PORT", 0)),
        ari_tls_port=int(env.get("ASTERISK_ARI_TLS_PORT", 0)),
        ca_file=env.get("ASTERISK_TLS_CA_FILE", ""),
    )


@pytest.fixture(scope="session")
def asterisk() -> Iterator[SandboxSettings]:
    """A running Asterisk (see the module docstring); config points at it."""
    settings = external_settings() or Sandbox().up(progress=lambda message: None)
    from asteramisk.config import config

    settings.apply()
    try:
        yield settings
    finally:
        config.reset()


@pytest.fixture
def restart_asterisk(asterisk: SandboxSettings) -> Callable[[], None]:
    """Restart Asterisk (``core restart now``) and wait until AMI and ARI are back."""

    def restart() -> None:
        with socket.create_connection((asterisk.host, asterisk.ami_port), timeout=5) as sock:
            sock.sendall(
                (
                    f"Action: Login\r\nUsername: {asterisk.ami_user}\r\n"
                    f"Secret: {asterisk.ami_pass}\r\nEvents: off\r\n\r\n"
                    "Action: Command\r\nCommand: core restart now\r\n\r\n"
                ).encode()
            )
            time.sleep(0.5)
        deadline = time.monotonic() + 60
        time.sleep(1.0)
        while not ami_fully_booted(asterisk):
            if time.monotonic() > deadline:
                raise RuntimeError("Asterisk did not come back within 60 s of a restart")
            time.sleep(0.2)

    return restart
