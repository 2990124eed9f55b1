"""The few call primitives the voice UI is written on.

``VoiceUI`` (through :class:`~asteramisk.ui.audio.CallAudio`) is written once over
:class:`CallControl`; each transport implements these primitives:
:class:`~asteramisk.asterisk.agi_control.AGIControl` (FastAGI) and
:class:`~asteramisk.asterisk.ari_control.ARIControl` (ARI), and
:class:`~asteramisk.testing.fakes.FakeCallControl` for unit tests without Asterisk.
Escape digits let a key interrupt playback: the key is returned so that it counts for the
next ``gather`` (barge-in).
"""

from __future__ import annotations

import asyncio
from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable

from asteramisk.asterisk.recordings import Recording
from asteramisk.media.audio_server import AudioStream
from asteramisk.media.format import DTMF_KEYS

__all__ = ["ALL_KEYS", "CallControl", "dial_target"]

ALL_KEYS = DTMF_KEYS


class CallControl(ABC):
    """What a voice call can be asked to do."""

    call_id = ""
    """Asterisk's unique id of the call's channel (as in its logs and CDRs)."""
    hangup_cause: int | None = None
    """The Q.850 cause Asterisk gave when the call ended (16: normal clearing); None while it
    runs, and where the transport does not tell (FastAGI)."""

    @abstractmethod
    async def answer(self) -> None: ...

    async def ended(self, timeout: float) -> None:  # noqa: B027 (a no-op unless overridden)
        """Wait (at most ``timeout`` s) until Asterisk has said how the call ended, so that
        :attr:`hangup_cause` is known; at once where the transport does not say."""

    @abstractmethod
    async def hangup(self) -> None: ...

    can_listen = False
    """Whether :meth:`listen` streams the caller's audio on this transport."""
    listens_while_playing = False
    """Whether the stream stays attached while a file plays (so the caller's voice can
    interrupt it); if not, any other primitive detaches the stream first."""

    @abstractmethod
    async def play(
        self, sound: str, escape_digits: str = ALL_KEYS, interrupt: asyncio.Event | None = None
    ) -> str | None:
        """Play ``sound`` (a name Asterisk resolves, without extension); the key that
        interrupted it, '' if ``interrupt`` was set (the caller spoke), or None."""

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
    ) -> Recording:
        """Record the caller as WAV into Asterisk's recording spool, under the last part of
        ``path``; the :class:`~asteramisk.asterisk.recordings.Recording` (``RecordingError``
        if Asterisk cannot make it)."""

    @abstractmethod
    async def transfer(self, destination: str) -> None:
        """Connect the call to ``destination``: a channel (``PJSIP/100``) or a number
        (dialled through the PSTN trunk), until one side hangs up.
        :class:`~asteramisk.exceptions.CallFailedException` (with the Q.850 cause) when the
        destination does not answer."""

    @abstractmethod
    async def variable(self, name: str) -> str | None: ...

    music_check: Callable[[str], Awaitable[None]] | None = None
    """Set by the call's owner: raises PlaybackError unless Asterisk has the music-on-hold
    class given (:class:`~asteramisk.asterisk.music.MusicClasses`)."""

    async def hold(self, music_class: str) -> None:
        """Play Asterisk's music-on-hold class ``music_class`` to the caller until
        :meth:`unhold` (PlaybackError if Asterisk has no such class)."""
        if self.music_check is not None:
            await self.music_check(music_class)
        await self._start_music(music_class)

    async def _start_music(self, music_class: str) -> None:
        raise NotImplementedError(f"Music on hold is not available on {type(self).__name__}.")

    async def unhold(self) -> None:
        """Stop the music on hold."""
        raise NotImplementedError(f"Music on hold is not available on {type(self).__name__}.")

    async def dial(
        self, destination: str, *, timeout: float, caller_id: str | None = None
    ) -> CallControl:
        """Place a new call to ``destination`` (a number, through the PSTN trunk, or a
        channel) from this call's owner; its control once answered
        (:class:`~asteramisk.exceptions.CallFailedException` if not). While it rings, a
        hangup of this call raises ``HangupException`` and hangs it up."""
        raise NotImplementedError(
            f"Placing a second call from a call needs the ARI transport; this call uses "
            f"{type(self).__name__}. Register the number with transport='ari' (the default)."
        )

    async def bridge(self, other: CallControl) -> None:
        """Connect this call and ``other`` (both the app's) until either leaves; the one that
        stays is the app's again."""
        raise NotImplementedError(
            f"Bridging calls needs the ARI transport; this call uses {type(self).__name__}. "
            "Register the number with transport='ari' (the default)."
        )

    async def in_stasis(self) -> CallControl:
        """This call as an ARI call (what bridges, conferences and queues need): itself over
        ARI; over FastAGI, the call visiting the owner's Stasis application."""
        raise NotImplementedError(
            f"Bridges, conferences and queues need ARI; {type(self).__name__} has none."
        )

    gone: asyncio.Event
    """Set once Asterisk says the call has ended (over ARI, what :meth:`in_stasis` gives)."""

    legs: list[CallControl]
    """The calls placed from this one (:meth:`dial`), hung up with it unless handed on."""

    def release_leg(self, leg: CallControl) -> None:
        """``leg`` (placed from this call) is no longer this call's to hang up."""
        if leg in self.legs:
            self.legs.remove(leg)

    handoff: asyncio.Future[None] | None = None
    """Set by :meth:`hand_off`: done once the call and the other have both ended."""

    def hand_off(self, other: CallControl) -> None:
        """Connect this call and ``other`` for good: when either leaves, the other is hung
        up (:attr:`handoff` is done then). Returns at once."""
        raise NotImplementedError(
            f"Connecting calls needs the ARI transport; this call uses {type(self).__name__}."
        )

    async def listen(self) -> AudioStream:
        """The caller's audio, streamed to this process (for speech recognition)."""
        raise NotImplementedError(
            f"Listening to the caller needs the ARI transport; this call uses "
            f"{type(self).__name__}. Register the number with transport='ari' (the default)."
        )

    async def carry_stream_audio(self) -> None:
        """Make the audio sent on the :meth:`listen` stream heard by the caller until the
        next playback (which stops it; call this again after one)."""
        return None

    async def close(self) -> None:
        """Release what the call used besides the channel (its audio stream)."""
        return None


def dial_target(destination: str, pstn_endpoint: str) -> str:
    """What to dial for ``destination``: a channel (``PJSIP/100``) as it is, a number through
    the PSTN trunk."""
    return destination if "/" in destination else f"PJSIP/{destination}@{pstn_endpoint}"
