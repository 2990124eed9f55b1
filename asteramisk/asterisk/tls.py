"""TLS to Asterisk: AMI over TLS, ARI over https and wss, and a warning when credentials would
cross a network in clear text.

``ASTERISK_AMI_TLS`` and ``ASTERISK_ARI_TLS`` turn it on; Asterisk's certificate is verified
against ``ASTERISK_TLS_CA_FILE`` (a PEM file) or, without one, the system's trusted CAs, and
must name ``ASTERISK_HOST``. A certificate that is not accepted fails the connection with an
:class:`~asteramisk.exceptions.AsteriskConnectionError` that says why and what to set.
"""

from __future__ import annotations

import logging
import ssl
from pathlib import Path

from asteramisk.addresses import is_loopback
from asteramisk.exceptions import AsteriskConnectionError, ConfigurationError

__all__ = ["client_context", "tls_failure", "warn_if_cleartext"]


def client_context(ca_file: str = "") -> ssl.SSLContext:
    """A client context that verifies the server: against ``ca_file``, or the system's CAs."""
    if ca_file and not Path(ca_file).is_file():
        raise ConfigurationError(
            f"ASTERISK_TLS_CA_FILE is {ca_file!r}, which is not a file: give the PEM file of "
            "the CA that signed Asterisk's certificate, or leave it unset to trust the "
            "system's CAs."
        )
    try:
        return ssl.create_default_context(cafile=ca_file or None)
    except ssl.SSLError as exc:
        raise ConfigurationError(
            f"ASTERISK_TLS_CA_FILE {ca_file!r} holds no CA certificate Python can read "
            f"({getattr(exc, 'reason', '') or exc}): it must be PEM."
        ) from None


def tls_failure(
    exc: BaseException, where: str, ca_file: str, setting: str
) -> AsteriskConnectionError | None:
    """A clear error for a TLS failure anywhere in ``exc``'s chain (None if it is not one).

    ``where`` names the service and address; ``setting`` the variable that turns TLS on.
    """
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, ssl.SSLCertVerificationError):
            trusted = f"the CA in {ca_file}" if ca_file else "the system's trusted CAs"
            return AsteriskConnectionError(
                f"{where}: Asterisk's TLS certificate was not accepted "
                f"({getattr(seen, 'verify_message', '') or seen}). It must be signed by "
                f"{trusted} and "
                "name the host you connect to (ASTERISK_HOST). Set ASTERISK_TLS_CA_FILE to "
                "the CA that signed it."
            )
        if isinstance(seen, ssl.SSLError):
            return AsteriskConnectionError(
                f"{where}: the TLS handshake failed ({getattr(seen, 'reason', '') or seen}). "
                "Is that port "
                f"Asterisk's TLS port (tlsbindaddr), and should {setting} be on?"
            )
        seen = seen.__cause__ or seen.__context__
    return None


def warn_if_cleartext(log: logging.Logger, host: str, tls: bool, what: str, setting: str) -> None:
    """Warn, once per connection made, when credentials go to another host without TLS."""
    if not tls and not is_loopback(host):
        log.warning(
            "%s credentials go to %s in clear text: anyone on the network between can read "
            "them. Turn on TLS (%s, see docs/security.rst).",
            what,
            host,
            setting,
        )
