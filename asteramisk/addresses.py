"""Where the app listens for Asterisk, and the address Asterisk is told to connect to.

Asterisk connects to the app three ways: FastAGI (the ``AGI(agi://...)`` of a number served
with ``transport="agi"``), AudioSocket (a call's audio, both transports) and, with
``TTS_DELIVERY=http``, the media server (speech files). All of them listen on
``AGI_SERVER_HOST``. Asterisk is given ``ASTERAMISK_ADVERTISE_HOST``; by default that is the
bind address itself, or, for a wildcard bind (``0.0.0.0``, ``::``: a container, a host with
several addresses), this machine's address on its AMI connection to Asterisk, which is the
address Asterisk sees the app at.

Loopback is the default and needs nothing more. A bind to any other address is open to the
network, so it needs ``AGI_ALLOWED_CLIENTS``: the addresses or networks that may connect (for
example Asterisk's address), or ``any`` to allow every address, said explicitly.
"""

from __future__ import annotations

import ipaddress

from asteramisk.config import Settings
from asteramisk.exceptions import ConfigurationError

__all__ = ["WILDCARDS", "advertised_host", "allowed_clients", "is_loopback", "listen_address"]

WILDCARDS = ("0.0.0.0", "::")


def listen_address(settings: Settings, host: str | None, port: int | None) -> tuple[str, int]:
    """The host and port the app's servers listen on (``host``/``port`` when given, else
    ``AGI_SERVER_HOST``/``AGI_SERVER_PORT``), checked (see :func:`allowed_clients`)."""
    host = host if host is not None else settings.AGI_SERVER_HOST
    allowed_clients(settings, host)
    return host, int(port if port is not None else settings.AGI_SERVER_PORT)


def allowed_clients(settings: Settings, host: str) -> list[str] | None:
    """Who may connect to a server bound to ``host``: None for anyone (loopback, or
    ``AGI_ALLOWED_CLIENTS=any``), else the networks of ``AGI_ALLOWED_CLIENTS``.

    Raises :class:`ConfigurationError` for a bind beyond loopback without it, or an entry
    that is not an address or network.
    """
    listed = [item.strip() for item in settings.AGI_ALLOWED_CLIENTS.split(",") if item.strip()]
    if listed == ["any"]:
        return None
    for item in listed:
        try:
            ipaddress.ip_network(item, strict=False)
        except ValueError:
            raise ConfigurationError(
                f"AGI_ALLOWED_CLIENTS: {item!r} is not an IP address or network (e.g. "
                "10.0.0.5 or 10.0.0.0/24); list them separated by commas, or write 'any'."
            ) from None
    if listed:
        return listed
    if is_loopback(host):
        return None
    raise ConfigurationError(
        f"AGI_SERVER_HOST={host} opens the app's FastAGI server to the network: set "
        "AGI_ALLOWED_CLIENTS to the address of your Asterisk (or its network, e.g. "
        "10.0.0.0/24), or to 'any' if a firewall guards the port."
    )


def advertised_host(settings: Settings, bind: str, local_address: str) -> str:
    """The address Asterisk is told to connect to for a server bound to ``bind``;
    ``local_address`` is this machine's address on its AMI connection ('' if unknown)."""
    if settings.ASTERAMISK_ADVERTISE_HOST:
        return str(settings.ASTERAMISK_ADVERTISE_HOST)
    if bind not in WILDCARDS:
        return bind
    if not local_address:
        raise ConfigurationError(
            f"AGI_SERVER_HOST={bind} listens everywhere, and the address Asterisk reaches "
            "this machine at is not known: set ASTERAMISK_ADVERTISE_HOST to it."
        )
    return local_address


def is_loopback(host: str) -> bool:
    """Whether ``host`` is this machine (an address of 127/8 or ::1, or localhost)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False  # a name: whatever it resolves to, it is not known to be loopback
