"""Texts through Asterisk: send one, encode its body, read the numbers of a message.

A text goes out through the PSTN endpoint with AMI ``MessageSend`` and a ``Base64Body`` (so
unicode, emoji and line breaks pass intact and nothing in a body can become an AMI header),
or, for a body too long for an AMI line, with ARI's ``endpoints/sendMessage``, its parameters
in the request's JSON body (in the URL, Asterisk refused bodies of about 3,500 characters).
"""

from __future__ import annotations

import base64
import re
from typing import Any

from asteramisk.asterisk.ami import AMIClient
from asteramisk.asterisk.ari import ARIClient

__all__ = [
    "AMI_BODY_LIMIT",
    "check_number",
    "encode_body",
    "parse_number",
    "send_message",
]

AMI_BODY_LIMIT = 900
"""The longest base64 body sent over AMI (its lines are at most 1024 bytes)."""

_SIP_USER = re.compile(r"sips?:([^@;>]+)")
_NUMBER = re.compile(r"^\+?[0-9A-Za-z*#]{1,64}$")


def check_number(number: str, what: str = "number") -> str:
    """``number`` as a string, or a ValueError naming ``what`` when it is not a phone number
    or extension (digits, a leading +, the letters and * # of extensions)."""
    number = str(number)
    if not _NUMBER.match(number):
        raise ValueError(
            f"{what} {number!r} is not a phone number: use digits (a leading + and the "
            "letters and * # of extensions are allowed)."
        )
    return number


def parse_number(address: str) -> str:
    """The phone number in whatever form ``MESSAGE(from)`` takes.

    ``5550100``, ``sip:5550100@host``, ``"Name" <sip:+15550100@host:5060>`` all give the
    number (a leading + is kept).
    """
    match = _SIP_USER.search(address)
    user = match.group(1) if match else address
    return re.sub(r"[^0-9+*#A-Za-z]", "", user.strip().strip('"'))


def encode_body(body: str) -> str:
    """A message body for AMI ``Base64Body``."""
    return base64.b64encode(body.encode("utf-8")).decode("ascii")


async def send_message(
    ami: AMIClient,
    ari: ARIClient | None,
    to_number: str,
    from_number: str,
    body: str,
    *,
    settings: Any,
    from_name: str | None = None,
) -> None:
    """One text to ``to_number`` through the PSTN endpoint that ``settings`` (a
    :class:`~asteramisk.config.Settings`, or the live config) names."""
    host = settings.ASTERISK_PSTN_GATEWAY_HOST
    where = f"@{host}:{settings.ASTERISK_PSTN_GATEWAY_PORT}" if host else ""
    to = f"pjsip:{settings.ASTERISK_PSTN_ENDPOINT}/sip:{to_number}{where}"
    sender = f'"{from_name or settings.SYSTEM_NAME}" <sip:{from_number}@{host or "localhost"}>'
    encoded = encode_body(body)
    if len(encoded) <= AMI_BODY_LIMIT:
        await ami.action({"Action": "MessageSend", "To": to, "From": sender, "Base64Body": encoded})
    elif ari is not None:  # in the request's body: a URL carries only a few kilobytes
        payload = {"to": to, "from": sender, "body": body}
        await ari.request_json("PUT", "endpoints/sendMessage", payload)
    else:
        raise ValueError(
            f"A text of {len(body)} characters does not fit an AMI line; long texts go over "
            "ARI: set ASTERISK_ARI_USER and ASTERISK_ARI_PASS."
        )
