"""Long text is synthesised and said in bounded pieces."""

from __future__ import annotations

import asyncio
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from asteramisk.media.tts import Audio, TTSCache, TTSEngine
from asteramisk.media.tts.chunks import MAX_CHARS, split_text
from asteramisk.testing.fakes import fake_call


def test_sentences_are_pieces_and_long_ones_are_cut_at_a_space() -> None:
    short = "Hello there. How are you?\nFine!"
    assert split_text(short) == [short]  # what fits is said as it always was: one piece
    assert split_text(short, max_chars=26) == ["Hello there. How are you?", "Fine!"]
    words = "word " * 100
    pieces = split_text(words, max_chars=42)
    assert all(len(p) <= 42 for p in pieces) and " ".join(pieces) == words.strip()
    assert all(not p.startswith(" ") and p.endswith("word") for p in pieces)
    assert split_text("x" * 100, max_chars=40) == ["x" * 40, "x" * 40, "x" * 20]
    assert split_text("   ") == []


@given(st.text(alphabet=st.sampled_from("ab .!\n"), max_size=400), st.integers(1, 50))
def test_pieces_are_bounded_and_keep_every_word(text: str, limit: int) -> None:
    pieces = split_text(text, max_chars=limit)
    assert all(0 < len(p) <= limit for p in pieces)
    assert "".join("".join(pieces).split()) == "".join(text.split())


class Recording(TTSEngine):
    name = "recording"

    def __init__(self) -> None:
        self.texts: list[str] = []

    def synthesize(self, text: str) -> Audio:
        self.texts.append(text)
        return Audio(b"\x01\x00" * len(text), 8000)


async def test_the_cache_synthesises_long_text_piece_by_piece(tmp_path: Path) -> None:
    engine = Recording()
    text = "lorem " * 400  # 2,400 characters and no full stop
    path = await TTSCache(engine, tmp_path).get(text)
    assert len(engine.texts) >= 10 and max(len(t) for t in engine.texts) <= MAX_CHARS
    assert path.stat().st_size > 2 * len(text.strip()) - 2 * len(engine.texts)  # all of it


async def test_say_speaks_a_long_text_in_pieces_and_a_key_stops_the_rest(tmp_path: Path) -> None:
    call = fake_call(tmp_path, play_seconds=0.3)
    sentences = [f"This is sentence number {n} of a long announcement." for n in range(12)]
    pieces = [" ".join(sentences[:4]), " ".join(sentences[4:8]), " ".join(sentences[8:])]
    await call.ui.say(" ".join(sentences))
    assert call.heard == pieces  # packed into pieces of at most 240 characters
    assert call.ui.transcript == [("say", " ".join(sentences))]

    again = fake_call(tmp_path / "2", play_seconds=0.3)
    asyncio.get_running_loop().call_later(0.4, lambda: again.control.press("5"))
    await again.ui.say(" ".join(sentences))
    assert again.heard == pieces[:2]  # the key in the second piece: the rest unsaid
    assert await again.ui.gather(timeout=0.1) == "5"
