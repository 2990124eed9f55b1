"""The verbs of a call that Asterisk carries out alone: keys sent, its own recordings of
digits and numbers, recording the caller, a blind transfer. :class:`~asteramisk.ui.VoiceUI`
has them; they need only its :class:`~asteramisk.asterisk.control.CallControl`.
"""

from __future__ import annotations

from asteramisk.asterisk.control import CallControl
from asteramisk.asterisk.recordings import Recording
from asteramisk.media.format import DTMF_KEYS
from asteramisk.ui.arguments import (
    DIAL_KEYS,
    check_destination,
    check_keys,
    check_positive,
    check_sound,
)
from asteramisk.ui.base import UI

__all__ = ["CallVerbs"]


class CallVerbs(UI):
    """A call's verbs that only ask Asterisk (see the module)."""

    control: CallControl
    _pending_keys: str
    """Keys the caller pressed that no ``gather`` has taken yet."""

    async def send_dtmf(self, digits: str) -> None:
        """Send DTMF ``digits`` to the caller (``0-9``, ``*``, ``#`` and ``A-D``)."""
        check_keys("send_dtmf", digits, DIAL_KEYS)
        self._check_open()
        await self.control.send_dtmf(digits)

    async def say_digits(self, digits: str | int) -> None:
        """Say each digit with Asterisk's own recordings."""
        digits = check_keys("say_digits", str(digits), DTMF_KEYS)
        self._check_open()
        key = await self.control.say_digits(digits)
        if key:
            self._pending_keys += key

    async def say_number(self, number: int) -> None:
        """Say a number naturally with Asterisk's own recordings ("forty two")."""
        self._check_open()
        key = await self.control.say_number(int(number))
        if key:
            self._pending_keys += key

    async def record(
        self,
        path: str,
        *,
        max_seconds: float = 60.0,
        silence: int | None = 3,
        beep: bool = True,
        finish_on_key: str = "#",
    ) -> Recording:
        """Record the caller as WAV, named by the last part of ``path``.

        Ends at ``finish_on_key``, after ``silence`` seconds of silence or ``max_seconds``.
        Asterisk keeps the recording in its recording spool, on both transports. Returns a
        :class:`~asteramisk.asterisk.recordings.Recording`: its path as Asterisk sees it (a
        ``str``, with ``.wav``), and ``await recording.read()`` (or ``save(local_path)``)
        gives the app its audio over ARI, wherever Asterisk runs. Raises
        :class:`~asteramisk.exceptions.RecordingError` when Asterisk cannot record."""
        check_sound("record", path, "path")
        check_positive("record", max_seconds, "max_seconds")
        if finish_on_key:
            check_keys("record", finish_on_key, DTMF_KEYS, "finish_on_key")
        self._check_open()
        return await self.control.record(
            path, max_seconds=max_seconds, silence=silence, beep=beep, finish_on_key=finish_on_key
        )

    async def transfer(self, destination: str) -> None:
        """Connect the caller to ``destination``: a number or a channel (``PJSIP/100``),
        until one side hangs up. Raises
        :class:`~asteramisk.exceptions.CallFailedException` (with its Q.850 ``cause``) when
        the destination is busy, refuses or does not answer: the caller is still the app's."""
        destination = check_destination("transfer", destination)
        self._check_open()
        await self.control.transfer(destination)
