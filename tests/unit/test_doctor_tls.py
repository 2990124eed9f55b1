"""doctor's TLS check: credentials never cross a network in clear text. (The whole doctor
against the sandbox, TLS on and off: tests/integration/test_doctor.py.)"""

from __future__ import annotations

from asteramisk.doctor import tls_check


def test_clear_text_to_another_host_fails_and_names_the_fix() -> None:
    check = tls_check("10.99.0.2", ami_tls=False, ari_tls=True)
    assert not check.ok
    assert check.detail == "AMI credentials go to 10.99.0.2 in clear text"
    assert "ASTERISK_AMI_TLS=yes" in check.fix and "tlsenable = yes" in check.fix
    both = tls_check("pbx.example.com", ami_tls=False, ari_tls=False)
    assert both.detail == "AMI and ARI credentials go to pbx.example.com in clear text"


def test_loopback_needs_no_tls_and_tls_names_what_it_trusts() -> None:
    assert tls_check("127.0.0.1", ami_tls=False, ari_tls=False).ok
    check = tls_check("10.99.0.2", ami_tls=True, ari_tls=True, ca_file="/etc/pbx-ca.pem")
    assert check.ok and "/etc/pbx-ca.pem" in check.detail
    assert "the system's CAs" in tls_check("pbx.example.com", True, True).detail
