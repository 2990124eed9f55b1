"""How to reach a running sandbox (:class:`SandboxSettings`), and whether it answers."""

from __future__ import annotations

import base64
import contextlib
import socket
import time
import urllib.error
import urllib.request
from dataclasses import dataclass

__all__ = ["SandboxSettings", "ami_fully_booted", "ari_answers"]


@dataclass(frozen=True)
class SandboxSettings:
    """How to reach a running sandbox: what an app puts in its config."""

    host: str
    ami_port: int
    ami_user: str
    ami_pass: str
    ari_port: int
    ari_user: str
    ari_pass: str
    sip_port: int
    call_context: str = "from-pstn"
    text_context: str = "from-pstn-text"
    pstn_endpoint: str = "pstn"
    sounds_dir: str = "/usr/share/asterisk/sounds"
    root: str = ""
    ami_tls_port: int = 0  # AMI over TLS (0: none)
    ari_tls_port: int = 0  # ARI over https and wss (0: none)
    ca_file: str = ""  # the CA that signed Asterisk's certificate, on this machine
    app_host: str = ""  # the app's address, when Asterisk is elsewhere (the remote sandbox)

    def env(self) -> dict[str, str]:
        """The settings as environment variables named like the config variables.

        For an Asterisk elsewhere (``app_host`` set): the app binds ``app_host``, lets only
        Asterisk connect, talks to AMI and ARI over TLS, and gets no TTS setting at all (its
        speech directory is its own, which Asterisk cannot read)."""
        if self.app_host:
            return {
                "ASTERISK_HOST": self.host,
                "ASTERISK_AMI_PORT": str(self.ami_tls_port),
                "ASTERISK_AMI_TLS": "yes",
                "ASTERISK_AMI_USER": self.ami_user,
                "ASTERISK_AMI_PASS": self.ami_pass,
                "ASTERISK_ARI_PORT": str(self.ari_tls_port),
                "ASTERISK_ARI_TLS": "yes",
                "ASTERISK_ARI_USER": self.ari_user,
                "ASTERISK_ARI_PASS": self.ari_pass,
                "ASTERISK_TLS_CA_FILE": self.ca_file,
                "ASTERISK_INCOMING_CALL_CONTEXT": self.call_context,
                "ASTERISK_INCOMING_TEXT_CONTEXT": self.text_context,
                "ASTERISK_PSTN_ENDPOINT": self.pstn_endpoint,
                "ASTERISK_PSTN_GATEWAY_HOST": self.host,
                "ASTERISK_PSTN_GATEWAY_PORT": str(self.sip_port),
                "AGI_SERVER_HOST": self.app_host,
                "AGI_ALLOWED_CLIENTS": self.host,
                "TTS_CACHE_DIR": "",
                "ASTERAMISK_SANDBOX_ROOT": self.root,
                "ASTERAMISK_SANDBOX_REMOTE": "1",
            }
        return {
            "ASTERISK_HOST": self.host,
            "ASTERISK_AMI_PORT": str(self.ami_port),
            "ASTERISK_AMI_USER": self.ami_user,
            "ASTERISK_AMI_PASS": self.ami_pass,
            "ASTERISK_ARI_PORT": str(self.ari_port),
            "ASTERISK_ARI_USER": self.ari_user,
            "ASTERISK_ARI_PASS": self.ari_pass,
            "ASTERISK_INCOMING_CALL_CONTEXT": self.call_context,
            "ASTERISK_INCOMING_TEXT_CONTEXT": self.text_context,
            "ASTERISK_PSTN_ENDPOINT": self.pstn_endpoint,
            "ASTERISK_PSTN_GATEWAY_HOST": self.host,
            "ASTERISK_PSTN_GATEWAY_PORT": str(self.sip_port),
            "ASTERISK_SOUNDS_DIR": self.sounds_dir,
            "TTS_CACHE_DIR": f"{self.root}{self.sounds_dir}/asteramisk" if self.root else "",
            "ASTERAMISK_SANDBOX_ROOT": self.root,
        }

    def apply(self) -> None:
        """Set :data:`asteramisk.config.config` to reach this sandbox."""
        from asteramisk.config import config

        for name, value in self.env().items():
            if not name.startswith("ASTERAMISK_"):
                setattr(config, name, value)

    def __repr__(self) -> str:
        return (
            f"SandboxSettings(host={self.host!r}, ami_port={self.ami_port}, "
            f"ari_port={self.ari_port}, sip_port={self.sip_port}, root={self.root!r}, "
            f"ami_tls_port={self.ami_tls_port}, ari_tls_port={self.ari_tls_port})"
        )


def ami_fully_booted(settings: SandboxSettings, timeout: float = 2.0) -> bool:
    """Log in to AMI with a plain socket and wait for the FullyBooted event."""
    try:
        with socket.create_connection((settings.host, settings.ami_port), timeout=timeout) as sock:
            login = (
                f"Action: Login\r\nUsername: {settings.ami_user}\r\n"
                f"Secret: {settings.ami_pass}\r\nEvents: system\r\n\r\n"
            )
            sock.sendall(login.encode())
            data = b""
            deadline = time.monotonic() + timeout
            while b"FullyBooted" not in data and time.monotonic() < deadline:
                chunk = sock.recv(4096)
                if not chunk or b"Authentication failed" in chunk:
                    return False
                data += chunk
            with contextlib.suppress(OSError):
                sock.sendall(b"Action: Logoff\r\n\r\n")
            return b"FullyBooted" in data
    except OSError:
        return False


def ari_answers(settings: SandboxSettings, timeout: float = 2.0) -> bool:
    """Whether ARI answers an authenticated request."""
    url = f"http://{settings.host}:{settings.ari_port}/ari/asterisk/info"
    token = base64.b64encode(f"{settings.ari_user}:{settings.ari_pass}".encode()).decode()
    request = urllib.request.Request(url, headers={"Authorization": f"Basic {token}"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return bool(response.status == 200)
    except (OSError, urllib.error.URLError):
        return False
