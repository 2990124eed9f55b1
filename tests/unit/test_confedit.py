from __future__ import annotations

import re
from pathlib import Path

import pytest

from asteramisk.testing import confedit
from asteramisk.testing.sandbox import Sandbox, SandboxSettings

TEXT = """[pstn]
type = aor
contact = sip:old:5060 ; comment kept

[pstn]
type = endpoint
context = from-pstn
allow = ulaw
allow = alaw
"""


def test_set_option_only_in_the_typed_block() -> None:
    out = confedit.set_option(TEXT, "pstn", "contact", "sip:127.0.0.1:15060", type_="aor")
    assert "contact = sip:127.0.0.1:15060 ; comment kept" in out
    out = confedit.set_option(out, "pstn", "context", "x", type_="endpoint")
    assert "context = x" in out


def test_unknown_option_raises_so_edits_never_silently_vanish() -> None:
    with pytest.raises(KeyError):
        confedit.set_option(TEXT, "pstn", "nothing", "x")
    with pytest.raises(KeyError):
        confedit.set_option(TEXT, "pstn", "contact", "x", type_="endpoint")
    with pytest.raises(KeyError):
        confedit.drop_section(TEXT, "absent")


def test_drop_option_and_section() -> None:
    out = confedit.drop_option(TEXT, "pstn", "allow", type_="endpoint")
    assert "allow" not in out
    out = confedit.drop_section(TEXT, "pstn")
    assert out.strip() == ""


def test_sandbox_renders_every_example_config(tmp_path: Path) -> None:
    root = tmp_path / "sid-root" / "etc/asterisk"
    root.mkdir(parents=True)
    (root / "asterisk.conf").write_text("[directories](!)\nastetcdir => /etc/asterisk\n[options]\n")
    settings = SandboxSettings(
        host="127.0.0.1",
        ami_port=15038,
        ami_user="u1",
        ami_pass="p1",
        ari_port=18088,
        ari_user="u2",
        ari_pass="p2",
        sip_port=15060,
    )
    files = Sandbox(tmp_path).render(settings)
    examples = Path(__file__).resolve().parents[2] / "example_configs"
    for path in examples.rglob("*.conf"):
        assert path.relative_to(examples).as_posix() in files
    assert "[u1]\nsecret = p1" in files["manager.d/asteramisk.conf"]
    assert "password = p2" in files["ari.conf"]
    assert "bindport = 18088" in files["http.conf"]
    assert "port = 15038" in files["manager.conf"]
    pjsip = files["pjsip.conf"]
    assert "type = registration" not in pjsip
    assert "contact = sip:127.0.0.1:15060" in pjsip
    assert "message_context = from-pstn-text" in pjsip
    assert "[from-pstn-text]" in files["extensions.conf"]
    assert "[directories]\nastetcdir => /etc/asteramisk-sandbox" in files["asterisk.conf"]


def test_example_configs_hold_placeholders_not_secrets() -> None:
    examples = Path(__file__).resolve().parents[2] / "example_configs"
    single = [p for p in examples.rglob("*.conf") if "cluster" not in p.parts]
    text = "\n".join(p.read_text() for p in single)
    for placeholder in ("yourpassword", "youraripassword", "yoursippassword"):
        assert placeholder in text
    for line in text.splitlines():
        if line.strip().startswith(("bindaddr", "bind ")):
            assert "127.0.0.1" in line, line


def test_cluster_configs_use_documentation_addresses_only() -> None:
    """A cluster node binds its address on the LAN: the examples give RFC 5737 addresses,
    never one that could be someone's, and no password (Kamailio is trusted by address)."""
    cluster = Path(__file__).resolve().parents[2] / "example_configs" / "cluster"
    text = "\n".join(p.read_text() for p in sorted(cluster.iterdir()))
    addresses = set(re.findall(r"\b\d{1,3}(?:\.\d{1,3}){3}\b", text))
    assert addresses and all(a.startswith("192.0.2.") for a in addresses), addresses
    assert "password" not in text.replace("no password", "")
