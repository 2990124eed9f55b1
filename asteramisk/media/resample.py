"""Streaming sample-rate conversion of 16-bit mono PCM (telephone 8 kHz <-> 24 kHz models,
8 <-> 16 kHz recognisers), with soxr.

soxr's high-quality filter rejects what the lower rate cannot carry by more than 100 dB (the
interpolation and box filter used before let aliases through at 6-16 dB, and a cached prompt
lost more to our conversion than to G.711). A :class:`Resampler` converts audio that arrives
in chunks of any size (an odd byte count included) as if it were one piece; the filter looks
ahead and works in blocks, so the output comes about every 60 ms (at 20 ms chunks), and
``flush()`` gives back what it holds at the end of a piece. Where that delay matters and no
aliasing can happen (a caller's 8 kHz voice going up to a realtime model), ``quality="QQ"``
interpolates (cubic) with none. soxr saturates rather than
wrapping a loud sample around.
"""

from __future__ import annotations

import numpy as np
import soxr

from asteramisk.media.format import SAMPLE_WIDTH, SOXR_QUALITY

__all__ = ["Resampler"]


class Resampler:
    """Converts a stream of 16-bit mono PCM from ``from_rate`` to ``to_rate`` (in Hz)."""

    __slots__ = ("_carry", "_from", "_stream", "_to", "quality")

    def __init__(self, from_rate: int, to_rate: int, *, quality: str = SOXR_QUALITY) -> None:
        if from_rate <= 0 or to_rate <= 0:
            raise ValueError(f"sample rates must be positive, not {from_rate} -> {to_rate}")
        self._from, self._to = from_rate, to_rate
        self.quality = quality
        """soxr's quality: ``HQ`` (the default) or, going up where no delay is wanted,
        ``QQ`` (cubic interpolation: going up there are no aliases to filter out)."""
        self._stream: soxr.ResampleStream | None = None
        self._carry = b""  # an odd byte

    def __repr__(self) -> str:
        return f"<Resampler {self._from} -> {self._to} Hz>"

    def feed(self, pcm: bytes) -> bytes:
        """The converted audio for this chunk (what the chunks so far complete)."""
        data = self._carry + pcm if self._carry else pcm
        usable = len(data) - len(data) % SAMPLE_WIDTH
        self._carry = data[usable:]
        if self._from == self._to:
            return bytes(data[:usable])
        if not usable:
            return b""
        return self._convert(np.frombuffer(data, dtype=np.int16, count=usable // 2), last=False)

    def flush(self) -> bytes:
        """What the filter still holds (the end of the piece); the stream starts anew."""
        if self._from == self._to or self._stream is None:
            self.reset()
            return b""
        tail = self._convert(np.zeros(0, dtype=np.int16), last=True)
        self.reset()
        return tail

    def _convert(self, samples: np.ndarray, *, last: bool) -> bytes:
        if self._stream is None:
            self._stream = soxr.ResampleStream(
                self._from, self._to, 1, dtype="int16", quality=self.quality
            )
        out: np.ndarray = self._stream.resample_chunk(samples, last=last)
        return out.tobytes()

    def reset(self) -> None:
        """Forget the stream so far (a new piece of audio starts)."""
        self._stream = None
        self._carry = b""
