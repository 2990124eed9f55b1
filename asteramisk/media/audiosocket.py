"""The AudioSocket protocol, sans I/O: frames in, events out; audio in, frames out.

Asterisk's AudioSocket (the application, or ARI externalMedia with ``encapsulation=
audiosocket``) streams a call's audio over TCP in frames of ``kind (1 byte) | length (2 bytes,
big endian) | payload``: first the call's UUID, then 20 ms of 8 kHz signed 16-bit audio at a
time, DTMF keys, and a hangup or error frame at the end. :class:`AudioSocketParser` takes the
received bytes in chunks of any size and returns whole frames.
"""

from __future__ import annotations

import struct
import uuid
from dataclasses import dataclass

__all__ = [
    "KIND_AUDIO",
    "KIND_DTMF",
    "KIND_ERROR",
    "KIND_HANGUP",
    "KIND_UUID",
    "AudioSocketParser",
    "Frame",
    "encode_frame",
]

KIND_HANGUP = 0x00
KIND_UUID = 0x01
KIND_DTMF = 0x03
KIND_AUDIO = 0x10
KIND_ERROR = 0xFF
MAX_PAYLOAD = 65535
_HEADER = struct.Struct(">BH")


@dataclass(frozen=True, slots=True)
class Frame:
    kind: int
    payload: bytes

    @property
    def uuid(self) -> str:
        """The call's id, for a UUID frame."""
        return str(uuid.UUID(bytes=self.payload))


def encode_frame(kind: int, payload: bytes = b"") -> bytes:
    """One frame's bytes."""
    if len(payload) > MAX_PAYLOAD:
        raise ValueError(f"AudioSocket payload of {len(payload)} bytes exceeds {MAX_PAYLOAD}")
    return _HEADER.pack(kind, len(payload)) + payload


class AudioSocketParser:
    """Reassembles frames from a byte stream split anywhere."""

    def __init__(self) -> None:
        self._buffer = bytearray()

    def feed(self, data: bytes) -> list[Frame]:
        self._buffer += data
        frames: list[Frame] = []
        while len(self._buffer) >= 3:
            kind, length = _HEADER.unpack_from(self._buffer)
            if len(self._buffer) < 3 + length:
                break
            frames.append(Frame(kind, bytes(self._buffer[3 : 3 + length])))
            del self._buffer[: 3 + length]
        return frames
