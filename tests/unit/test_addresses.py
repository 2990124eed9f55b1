"""Where the app listens and the address Asterisk is told to connect to."""

from __future__ import annotations

import pytest

from asteramisk.addresses import advertised_host, allowed_clients, listen_address
from asteramisk.config import VARIABLES, Config, Settings
from asteramisk.exceptions import ConfigurationError


def settings(monkeypatch: pytest.MonkeyPatch, **values: object) -> Settings:
    for variable in VARIABLES:
        monkeypatch.delenv(variable.name, raising=False)
    config = Config()
    for name, value in values.items():
        setattr(config, name, value)
    return config.snapshot()


def test_loopback_needs_nothing_and_is_what_asterisk_is_told(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    s = settings(monkeypatch)
    assert listen_address(s, None, None) == ("127.0.0.1", 4753)
    assert allowed_clients(s, "127.0.0.1") is None
    assert advertised_host(s, "127.0.0.1", "127.0.0.1") == "127.0.0.1"


@pytest.mark.parametrize("bind", ["0.0.0.0", "10.0.0.1", "::"])
def test_a_bind_beyond_loopback_needs_allowed_clients(
    monkeypatch: pytest.MonkeyPatch, bind: str
) -> None:
    with pytest.raises(ConfigurationError, match="AGI_ALLOWED_CLIENTS") as raised:
        listen_address(settings(monkeypatch, AGI_SERVER_HOST=bind), None, None)
    assert f"AGI_SERVER_HOST={bind}" in str(raised.value)


def test_allowed_clients_are_networks_or_any(monkeypatch: pytest.MonkeyPatch) -> None:
    listed = settings(monkeypatch, AGI_ALLOWED_CLIENTS="10.0.0.5, 192.168.1.0/24")
    assert allowed_clients(listed, "0.0.0.0") == ["10.0.0.5", "192.168.1.0/24"]
    assert allowed_clients(settings(monkeypatch, AGI_ALLOWED_CLIENTS="any"), "0.0.0.0") is None
    with pytest.raises(ConfigurationError, match=r"'asterisk\.example' is not an IP address"):
        allowed_clients(settings(monkeypatch, AGI_ALLOWED_CLIENTS="asterisk.example"), "::")


def test_a_wildcard_bind_advertises_the_address_asterisk_sees(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    s = settings(monkeypatch, AGI_SERVER_HOST="0.0.0.0", AGI_ALLOWED_CLIENTS="10.0.0.5")
    assert advertised_host(s, "0.0.0.0", "10.0.0.1") == "10.0.0.1"  # its AMI connection's
    with pytest.raises(ConfigurationError, match="ASTERAMISK_ADVERTISE_HOST"):
        advertised_host(s, "0.0.0.0", "")


def test_an_advertised_host_set_wins(monkeypatch: pytest.MonkeyPatch) -> None:
    s = settings(monkeypatch, ASTERAMISK_ADVERTISE_HOST="app.internal.example")
    assert advertised_host(s, "127.0.0.1", "127.0.0.1") == "app.internal.example"
    assert advertised_host(s, "0.0.0.0", "10.0.0.1") == "app.internal.example"
