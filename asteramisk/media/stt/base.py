"""The STT engine interface: 8 kHz 16-bit mono PCM in, words out (asynchronous).

An engine that holds a process, a thread pool or a connection releases it in ``close()``; its
owner (a :class:`~asteramisk.media.speech.Speech`) calls it. An engine's own failure is raised
as :class:`~asteramisk.exceptions.STTError`, mapped in the engine's adapter.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

__all__ = ["Prefetching", "Transcriber"]


class Transcriber(Protocol):
    """What an STT engine does."""

    name: str

    async def transcribe(self, pcm: bytes, phrases: list[str] | None = None) -> str:
        """The words said in ``pcm``; ``phrases``, when given, are what may be said."""
        ...

    async def close(self) -> None:
        """Release what the engine holds (idempotent)."""
        ...


@runtime_checkable
class Prefetching(Protocol):
    """An engine that can start on a caller's words before their turn has ended."""

    def prefetch(self, pcm: bytes) -> None:
        """Start transcribing ``pcm`` now: a ``transcribe`` of the same audio soon after
        takes this result (without blocking, and never raising)."""
        ...
