"""Why a connection to ARI failed, said so that the user knows what to change."""

from __future__ import annotations

import aiohttp

from asteramisk.asterisk.tls import tls_failure
from asteramisk.exceptions import AsteriskConnectionError, AuthenticationError

__all__ = ["connect_error"]


def connect_error(
    exc: Exception, base_url: str, username: str, connect_timeout: float, ca_file: str
) -> Exception:
    """The clear error for ``exc``, raised while connecting to ARI at ``base_url``."""
    where = f"Asterisk ARI at {base_url}"
    failure = tls_failure(exc, where, ca_file, "ASTERISK_ARI_TLS")
    if failure is not None:
        return failure
    status = getattr(exc, "status", None) or getattr(exc, "status_code", None)
    if status == 401:
        return AuthenticationError(
            f"{where} refused user {username!r} (401 Unauthorized). Check that "
            "ASTERISK_ARI_USER names a `type = user` section of ari.conf and that "
            "ASTERISK_ARI_PASS is its password."
        )
    if isinstance(status, int):
        return AsteriskConnectionError(
            f"{where} answered {status}. Is ARI enabled (ari.conf [general] enabled = yes, "
            "module res_ari loaded) and does ASTERISK_ARI_PORT name http.conf's bindport?"
        )
    if isinstance(exc, TimeoutError):
        return AsteriskConnectionError(
            f"{where} did not answer within {connect_timeout:g} s. Is the host right?"
        )
    if isinstance(exc, aiohttp.ClientError | OSError):
        return AsteriskConnectionError(
            f"Cannot reach {where}: {exc}. Is Asterisk running with its http server "
            "enabled (http.conf [general] enabled = yes, bindaddr, bindport), and do "
            "ASTERISK_HOST / ASTERISK_ARI_PORT point at it? (An https port, tlsbindaddr, "
            "needs ASTERISK_ARI_TLS.)"
        )
    return AsteriskConnectionError(f"{where}: {exc}")
