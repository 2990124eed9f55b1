"""The sandbox's Asterisk configuration, rendered from ``example_configs/``: the same files a
user copies to ``/etc/asterisk``, with loopback binds, fresh credentials and a SIP endpoint that
loops calls and texts back into Asterisk as a simulated PSTN."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from asteramisk.exceptions import SandboxError
from asteramisk.testing import confedit
from asteramisk.testing.sandbox_settings import SandboxSettings
from asteramisk.testing.sandbox_tls import TLSFiles

__all__ = ["ETC", "example_configs", "render_config"]

ETC = "/etc/asteramisk-sandbox"  # inside the chroot


def example_configs() -> Path:
    """The ``example_configs`` directory the sandbox renders its configuration from."""
    candidates = [
        Path(os.environ.get("ASTERAMISK_EXAMPLE_CONFIGS", "")),
        Path(__file__).resolve().parents[2] / "example_configs",
        Path(sys.prefix) / "share" / "asteramisk" / "example_configs",  # installed wheel
    ]
    for candidate in candidates:
        if str(candidate) not in ("", ".") and (candidate / "pjsip.conf").is_file():
            return candidate
    raise SandboxError(
        "Cannot find example_configs/ (the Asterisk config templates). Run from a source "
        "checkout of asteramisk, or set ASTERAMISK_EXAMPLE_CONFIGS to its path."
    )


def render_config(
    settings: SandboxSettings, root: Path, tls: TLSFiles | None = None
) -> dict[str, str]:
    """The Asterisk config files of the sandbox in ``root``, by name (with TLS listeners on
    ``settings``' TLS ports when ``tls`` is given)."""
    source = example_configs()
    files = {
        path.relative_to(source).as_posix(): path.read_text()
        for path in sorted(source.rglob("*.conf"))
    }
    edit = confedit
    files["manager.conf"] = edit.set_option(
        edit.set_option(files["manager.conf"], "general", "port", str(settings.ami_port)),
        "general",
        "bindaddr",
        settings.host,
    )
    files["manager.d/asteramisk.conf"] = (
        files["manager.d/asteramisk.conf"]
        .replace("[yourusername]", f"[{settings.ami_user}]")
        .replace("yourpassword", settings.ami_pass)
    )
    if settings.app_host:  # the app is on the other end of the remote sandbox's link
        files["manager.d/asteramisk.conf"] = edit.set_option(
            files["manager.d/asteramisk.conf"],
            settings.ami_user,
            "permit",
            f"{settings.app_host}/255.255.255.255",
        )
    files["ari.conf"] = (
        files["ari.conf"]
        .replace("[yourariusername]", f"[{settings.ari_user}]")
        .replace("youraripassword", settings.ari_pass)
    )
    http = edit.set_option(files["http.conf"], "general", "bindaddr", settings.host)
    files["http.conf"] = edit.set_option(http, "general", "bindport", str(settings.ari_port))
    if tls is not None:
        for name, port in (
            ("manager.conf", settings.ami_tls_port),
            ("http.conf", settings.ari_tls_port),
        ):
            text = files[name]
            for key, value in (
                ("tlsenable", "yes"),
                ("tlsbindaddr", f"{settings.host}:{port}"),
                ("tlscertfile", tls.cert_file),
                ("tlsprivatekey", tls.key_file),
            ):
                text = edit.set_option(text, "general", key, value)
            files[name] = text
    rtp = edit.set_option(files["rtp.conf"], "general", "rtpstart", "30000")
    files["rtp.conf"] = edit.set_option(rtp, "general", "rtpend", "30999")
    files["pjsip.conf"] = _render_pjsip(files["pjsip.conf"], settings)
    files["extensions.conf"] = _render_extensions(files["extensions.conf"], settings)
    files["logger.conf"] = "[logfiles]\nconsole => notice,warning,error\n"
    files["asterisk.conf"] = _render_asterisk_conf(root)
    debian_amd = root / "etc/asterisk/amd.conf"  # Debian's defaults: AMD() loads with them
    if debian_amd.is_file():
        files["amd.conf"] = debian_amd.read_text()
    return files


def _render_pjsip(text: str, settings: SandboxSettings) -> str:
    edit = confedit
    loop = f"{settings.host}:{settings.sip_port}"
    text = edit.drop_section(text, "pstn-registration")
    text = edit.drop_section(text, "pstn-auth")
    text = edit.set_option(text, "transport-udp", "bind", loop)
    text = edit.set_option(text, "pstn", "contact", f"sip:{loop}", type_="aor")
    for key in ("outbound_auth", "from_user", "from_domain"):
        text = edit.drop_option(text, "pstn", key, type_="endpoint")
    text = edit.set_option(text, "pstn", "context", settings.call_context, type_="endpoint")
    text = edit.set_option(text, "pstn", "message_context", settings.text_context, type_="endpoint")
    text = edit.set_option(text, "pstn-identify", "match", settings.host)
    return (
        "; Rendered by the Asteramisk sandbox from example_configs/pjsip.conf.\n"
        "; The trunk points back at Asterisk itself: a simulated PSTN.\n" + text
    )


def _render_extensions(text: str, settings: SandboxSettings) -> str:
    text = text.replace("[from-pstn]", f"[{settings.call_context}]", 1)
    if settings.text_context != settings.call_context:
        # The same catch-all for texts to numbers nobody serves.
        block = text[text.index(f"[{settings.call_context}]") :]
        text += "\n" + block.replace(f"[{settings.call_context}]", f"[{settings.text_context}]", 1)
    return text


def _render_asterisk_conf(root: Path) -> str:
    debian = (root / "etc/asterisk/asterisk.conf").read_text()
    # Debian ships [directories](!): a template, not applied. Ours is a real section.
    text = debian.replace("[directories](!)", "[directories]")
    text = text.replace("astetcdir => /etc/asterisk", f"astetcdir => {ETC}")
    if f"astetcdir => {ETC}" not in text or "[directories]\n" not in text:
        raise SandboxError("Unexpected asterisk.conf in the sandbox root: no [directories]")
    return text
