"""TLS settings and errors: a CA file that is not one, a certificate not accepted, and the
warning when credentials would cross a network in clear text. (AMI over TLS and ARI over
https/wss against a real Asterisk: tests/integration/test_tls.py.)"""

from __future__ import annotations

import logging
import ssl
from pathlib import Path

import pytest

from asteramisk.addresses import is_loopback
from asteramisk.asterisk.ami import AMIClient
from asteramisk.asterisk.ari import ARIClient
from asteramisk.asterisk.tls import client_context, tls_failure, warn_if_cleartext
from asteramisk.config import config
from asteramisk.exceptions import AsteriskConnectionError, ConfigurationError


def test_a_ca_file_that_is_missing_or_not_pem_is_named(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match=r"ASTERISK_TLS_CA_FILE .*not a file"):
        client_context(str(tmp_path / "nope.pem"))
    junk = tmp_path / "junk.pem"
    junk.write_text("not a certificate")
    with pytest.raises(ConfigurationError, match="must be PEM"):
        client_context(str(junk))
    assert client_context("").verify_mode == ssl.CERT_REQUIRED  # the system's CAs


def test_clients_refuse_a_bad_ca_file_when_made_not_at_the_first_call(tmp_path: Path) -> None:
    missing = str(tmp_path / "ca.pem")
    with pytest.raises(ConfigurationError):
        AMIClient("10.0.0.5", 5039, "u", "p", tls=True, ca_file=missing)
    with pytest.raises(ConfigurationError):
        ARIClient("10.0.0.5", 8089, "u", "p", "app", tls=True, ca_file=missing)
    ari = ARIClient("10.0.0.5", 8089, "u", "p", "app", tls=True, ca_file="")
    assert ari.base_url == "https://10.0.0.5:8089/"
    assert "tls" in repr(AMIClient("10.0.0.5", 5039, "u", "p", tls=True, ca_file=""))


def test_tls_settings_come_from_the_config() -> None:
    def ami() -> AMIClient:
        return AMIClient("10.0.0.5", 5039, "u", "p")

    def ari() -> ARIClient:
        return ARIClient("10.0.0.5", 8089, "u", "p", "app")

    config.ASTERISK_AMI_TLS = "yes"
    config.ASTERISK_ARI_TLS = "1"
    try:
        assert ami().tls and ari().tls
        assert ari().base_url.startswith("https://")
        config.ASTERISK_AMI_TLS = "maybe"
        with pytest.raises(ConfigurationError, match="ASTERISK_AMI_TLS"):
            ami()
    finally:
        del config.ASTERISK_AMI_TLS
        del config.ASTERISK_ARI_TLS
    assert not ami().tls and ari().base_url.startswith("http://")


def test_a_certificate_not_accepted_is_explained_through_wrapping_errors() -> None:
    verify = ssl.SSLCertVerificationError(1, "certificate verify failed")
    verify.verify_message = "unable to get local issuer certificate"
    try:
        try:
            raise verify
        except ssl.SSLError as inner:
            raise OSError("connect failed") from inner  # as aiohttp wraps it
    except OSError as outer:
        error = tls_failure(outer, "Asterisk ARI at https://h:8089/", "", "ASTERISK_ARI_TLS")
    assert isinstance(error, AsteriskConnectionError)
    text = str(error)
    assert "unable to get local issuer certificate" in text
    assert "system's trusted CAs" in text and "ASTERISK_TLS_CA_FILE" in text
    plain = tls_failure(ssl.SSLError(1, "wrong version number"), "AMI", "", "ASTERISK_AMI_TLS")
    assert plain is not None and "ASTERISK_AMI_TLS" in str(plain)
    assert tls_failure(ConnectionRefusedError(111, "refused"), "AMI", "", "X") is None


@pytest.mark.parametrize(
    ("host", "loopback"),
    [("127.0.0.1", True), ("127.9.9.9", True), ("::1", True), ("localhost", True),
     ("10.99.0.2", False), ("pbx.example.com", False), ("::ffff:10.0.0.1", False)],
)  # fmt: skip
def test_loopback_is_this_machine_only(host: str, loopback: bool) -> None:
    assert is_loopback(host) is loopback


def test_credentials_in_clear_text_to_another_host_are_warned_about(
    caplog: pytest.LogCaptureFixture,
) -> None:
    log = logging.getLogger("asteramisk.test")
    with caplog.at_level(logging.WARNING):
        warn_if_cleartext(log, "127.0.0.1", False, "AMI", "ASTERISK_AMI_TLS")
        warn_if_cleartext(log, "10.99.0.2", True, "AMI", "ASTERISK_AMI_TLS")
        assert caplog.text == ""
        warn_if_cleartext(log, "10.99.0.2", False, "AMI", "ASTERISK_AMI_TLS")
    assert "AMI credentials go to 10.99.0.2 in clear text" in caplog.text
    assert "ASTERISK_AMI_TLS" in caplog.text
