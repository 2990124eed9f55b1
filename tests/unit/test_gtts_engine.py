"""gTTS at its transport boundary: Google's service is faked at requests' Session.send."""

from __future__ import annotations

import base64
import io
from typing import Any

import pytest
import requests
from pydub import AudioSegment
from pydub.generators import Sine

from asteramisk.exceptions import TTSError
from asteramisk.media.tts.gtts import GTTSEngine


def mp3_of_a_tone() -> bytes:
    out = io.BytesIO()
    Sine(440).to_audio_segment(duration=500).set_frame_rate(24000).export(out, format="mp3")
    return out.getvalue()


class FakeResponse:
    def __init__(self, body: bytes, request: requests.PreparedRequest) -> None:
        self.body = body
        self.status_code = 200
        self.request = request

    def raise_for_status(self) -> None:
        pass

    def iter_lines(self, chunk_size: int = 1) -> Any:
        yield from self.body.splitlines()


def test_synthesis_decodes_the_service_answer(monkeypatch: pytest.MonkeyPatch) -> None:
    sent: list[requests.PreparedRequest] = []
    audio = base64.b64encode(mp3_of_a_tone()).decode()

    def send(self: requests.Session, request: requests.PreparedRequest, **_: Any) -> FakeResponse:
        sent.append(request)
        line = f'[["wrb.fr","jQ1olc","[\\"{audio}\\"]",null]]'
        return FakeResponse(b")]}'\n" + line.encode(), request)

    monkeypatch.setattr(requests.Session, "send", send)
    result = GTTSEngine().synthesize("Hello from the fake service")
    assert sent and "translate.google" in str(sent[0].url)
    body = sent[0].body
    assert "Hello" in (body.decode() if isinstance(body, bytes) else str(body))
    assert result.rate == 24000
    segment = AudioSegment(result.pcm, sample_width=2, frame_rate=result.rate, channels=1)
    assert 400 < len(segment) < 700  # about the half second that was sent


def test_no_network_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    def send(self: requests.Session, request: requests.PreparedRequest, **_: Any) -> None:
        raise requests.exceptions.ConnectionError("no route to host")

    monkeypatch.setattr(requests.Session, "send", send)
    with pytest.raises(TTSError, match="needs the internet") as info:
        GTTSEngine().synthesize("Hello")
    assert "TTS_ENGINE=piper" in str(info.value)
