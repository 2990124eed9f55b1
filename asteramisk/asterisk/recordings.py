"""Recordings the app can use, wherever Asterisk runs.

Both transports record into Asterisk's recording spool (``/var/spool/asterisk/recording``),
under the last part of the path the app gives, as WAV. :class:`Recording`, what
``VoiceUI.record`` returns, is that path as Asterisk sees it (a ``str``, as before) and
fetches the audio over ARI (``GET /recordings/stored/{name}/file``), so an app on another
host, or in a container, gets the audio all the same.
"""

from __future__ import annotations

import asyncio
import urllib.parse
from pathlib import Path

from asteramisk.asterisk.ari import ARIClient
from asteramisk.exceptions import ConfigurationError

__all__ = ["RECORDING_SPOOL", "Recording", "recording_name"]

RECORDING_SPOOL = "/var/spool/asterisk/recording"
"""Where Asterisk keeps recordings (``astspooldir``/recording on Debian)."""


def recording_name(path: str) -> str:
    """The name a recording of ``path`` is stored under: its last part."""
    return path.rstrip("/").rsplit("/", 1)[-1]


class Recording(str):
    """The recording's path as Asterisk sees it (with ``.wav``); :meth:`read` gives its
    audio. ``name`` is its stored name (ARI ``/recordings/stored/{name}``)."""

    name: str
    _ari: ARIClient | None

    def __new__(cls, name: str, ari: ARIClient | None) -> Recording:
        recording = super().__new__(cls, f"{RECORDING_SPOOL}/{name}.wav")
        recording.name = name
        recording._ari = ari
        return recording

    async def read(self) -> bytes:
        """The recording as the bytes of a WAV file, fetched from Asterisk over ARI."""
        if self._ari is None:
            raise ConfigurationError(
                "Reading a recording fetches it over ARI: set ASTERISK_ARI_USER and "
                "ASTERISK_ARI_PASS (the server connects to ARI when they are set)."
            )
        quoted = urllib.parse.quote(self.name, safe="")
        return await self._ari.raw("GET", f"recordings/stored/{quoted}/file")

    async def save(self, path: str | Path) -> Path:
        """Fetch the recording (:meth:`read`) into the local file ``path``; returns it."""
        target = Path(path)
        await asyncio.to_thread(target.write_bytes, await self.read())
        return target
