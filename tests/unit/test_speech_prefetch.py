"""A call's pauses reach its recogniser, which may start before the turn ends."""

from __future__ import annotations

from pathlib import Path

from asteramisk.media.speech import Speech
from asteramisk.testing.fakes import FakeCallControl, FakeTTSEngine, fake_call
from asteramisk.ui.audio import CallAudio


class Early:
    """A recogniser that can start early, recording what it was given."""

    name = "early"

    def __init__(self) -> None:
        self.prefetched: list[bytes] = []

    def prefetch(self, pcm: bytes) -> None:
        self.prefetched.append(pcm)

    async def transcribe(self, pcm: bytes, phrases: list[str] | None = None) -> str:
        return "early" if pcm in self.prefetched else "late"

    async def close(self) -> None:
        return None


async def test_a_calls_stream_tells_its_pauses_to_the_recogniser(tmp_path: Path) -> None:
    call = fake_call(tmp_path)  # its recogniser cannot start early: a pause changes nothing
    stream = await call.ui.audio.stream()
    assert stream.on_pause == call.speech.prefetch
    stream.on_pause(b"\x01\x00" * 800)
    early = Early()
    speech = Speech(FakeTTSEngine(), early, cache_dir=tmp_path, asterisk_dir="/sounds/x")
    stream = await CallAudio(FakeCallControl(), speech).stream()
    assert stream.on_pause is not None
    stream.on_pause(b"\x02\x00" * 800)
    assert early.prefetched == [b"\x02\x00" * 800]
    assert await speech.transcribe(b"\x02\x00" * 800) == "early"
