"""The few call primitives the voice UI is written on, with an AGI implementation.

``VoiceUI`` is written once over :class:`CallControl`; each transport (AGI here; ARI to come)
implements these primitives. Escape digits let a key interrupt playback: the key is returned so
that it counts for the next ``gather`` (barge-in).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import TypeVar

from asteramisk.agi import AGI, core

__all__ = ["AGIControl", "CallControl"]

ALL_KEYS = "0123456789*#"
T = TypeVar("T")


class CallControl(ABC):
    """What a voice call can be asked to do."""

    @abstractmethod
    async def answer(self) -> None: ...

    @abstractmethod
    async def hangup(self) -> None: ...

    @abstractmethod
    async def play(self, sound: str, escape_digits: str = ALL_KEYS) -> str | None:
        """Play ``sound`` (a name Asterisk resolves, without extension); the key that
        interrupted it, or None."""

    @abstractmethod
    async def wait_digit(self, timeout: float) -> str | None:
        """The next key pressed within ``timeout`` seconds, or None."""

    @abstractmethod
    async def send_dtmf(self, digits: str) -> None: ...

    @abstractmethod
    async def say_digits(self, digits: str, escape_digits: str = ALL_KEYS) -> str | None: ...

    @abstractmethod
    async def say_number(self, number: int, escape_digits: str = ALL_KEYS) -> str | None: ...

    @abstractmethod
    async def record(
        self, path: str, *, max_seconds: float, silence: int | None, beep: bool, finish_on_key: str
    ) -> str:
        """Record to ``path`` (Asterisk's view, without extension) as WAV; the key that
        ended it, or ''."""

    @abstractmethod
    async def transfer(self, destination: str) -> None:
        """Send the call to ``destination``: a channel (``PJSIP/100``) or a number
        (dialled through the PSTN trunk)."""

    @abstractmethod
    async def variable(self, name: str) -> str | None: ...


class AGIControl(CallControl):
    """The primitives over a FastAGI session."""

    def __init__(self, agi: AGI, pstn_endpoint: str = "pstn") -> None:
        self.agi = agi
        self.pstn_endpoint = pstn_endpoint

    async def _run(self, action: core.Action[T]) -> T:
        """Execute ``action``; a failure because the caller is gone becomes a hangup.

        Asterisk answers ``result=-1`` to a command the hangup interrupted, a moment before
        its ``HANGUP`` line: the channel's status tells the two apart.
        """
        try:
            return await self.agi.execute(action)
        except core.AGIAppError:
            try:
                await self.agi.execute(core.ChannelStatus())
            except (core.AGIError, core.AGIHangup):
                raise core.AGIResultHangup("the caller hung up") from None
            raise

    async def answer(self) -> None:
        await self._run(core.Answer())

    async def hangup(self) -> None:
        await self._run(core.Hangup())

    async def play(self, sound: str, escape_digits: str = ALL_KEYS) -> str | None:
        result = await self._run(core.StreamFile(sound, escape_digits))
        return result[0] if result else None

    async def wait_digit(self, timeout: float) -> str | None:
        return await self._run(core.WaitForDigit(int(timeout * 1000)))

    async def send_dtmf(self, digits: str) -> None:
        await self._run(core.Exec("SendDTMF", [digits]))

    async def say_digits(self, digits: str, escape_digits: str = ALL_KEYS) -> str | None:
        return await self._run(core.SayDigits(digits, escape_digits))

    async def say_number(self, number: int, escape_digits: str = ALL_KEYS) -> str | None:
        return await self._run(core.SayNumber(number, escape_digits))

    async def record(
        self, path: str, *, max_seconds: float, silence: int | None, beep: bool, finish_on_key: str
    ) -> str:
        await self._run(core.SetAutohangup(0))
        key, _offset, _timed_out = await self._run(
            core.RecordFile(
                path, core.FORMAT_WAV, finish_on_key, int(max_seconds * 1000), 0, beep, silence
            )
        )
        return key

    async def transfer(self, destination: str) -> None:
        target = (
            destination if "/" in destination else (f"PJSIP/{destination}@{self.pstn_endpoint}")
        )
        await self._run(core.Exec("Dial", [target, "60"]))

    async def variable(self, name: str) -> str | None:
        return await self._run(core.GetFullVariable("${" + name + "}"))
