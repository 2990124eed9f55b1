"""TTS cache and the AudioSocket codec, without Asterisk."""

from __future__ import annotations

import asyncio
import threading
import uuid
import wave
from pathlib import Path

import pytest

from asteramisk.media.audiosocket import (
    KIND_AUDIO,
    KIND_DTMF,
    KIND_HANGUP,
    KIND_UUID,
    AudioSocketParser,
    encode_frame,
)
from asteramisk.media.tts import Audio, TTSCache, TTSEngine


class CountingEngine(TTSEngine):
    name = "counting"
    voice = "v1"

    def __init__(self) -> None:
        self.texts: list[str] = []
        self.threads: set[int] = set()

    def synthesize(self, text: str) -> Audio:
        self.texts.append(text)
        self.threads.add(threading.get_ident())
        return Audio(b"\x01\x00" * 22050, 22050)  # one second at 22.05 kHz


async def test_cache_synthesises_once_off_the_loop_and_survives_restarts(tmp_path: Path) -> None:
    engine = CountingEngine()
    cache = TTSCache(engine, tmp_path)
    path = await cache.get("Hello")
    assert await cache.get("Hello") == path
    assert engine.texts == ["Hello"]
    assert threading.get_ident() not in engine.threads  # synthesis ran in a worker thread
    with wave.open(str(path)) as wav:
        assert (wav.getframerate(), wav.getnchannels(), wav.getsampwidth()) == (8000, 1, 2)
        assert abs(wav.getnframes() - 8000) < 10
    again = TTSCache(engine, tmp_path)  # a new process finds the file
    assert await again.get("Hello") == path and engine.texts == ["Hello"]


async def test_exact_text_is_the_key(tmp_path: Path) -> None:
    cache = TTSCache(CountingEngine(), tmp_path)
    paths = {await cache.get(text) for text in ("1.5", "15", "15 ", "Hello", "hello")}
    assert len(paths) == 5


async def test_concurrent_requests_share_one_synthesis(tmp_path: Path) -> None:
    engine = CountingEngine()
    cache = TTSCache(engine, tmp_path)
    paths = await asyncio.gather(*(cache.get("same phrase") for _ in range(10)))
    assert len(set(paths)) == 1 and engine.texts == ["same phrase"]


async def test_no_half_written_file_is_ever_visible(tmp_path: Path) -> None:
    class Failing(CountingEngine):
        def synthesize(self, text: str) -> Audio:
            raise RuntimeError("engine broke")

    cache = TTSCache(Failing(), tmp_path)
    with pytest.raises(RuntimeError):
        await cache.get("x")
    assert not any(tmp_path.iterdir())  # noqa: ASYNC240 (a test, on a tmp dir)


def frames_stream() -> bytes:
    call = uuid.uuid4()
    return b"".join(
        [
            encode_frame(KIND_UUID, call.bytes),
            encode_frame(KIND_AUDIO, bytes(range(256)) + bytes(64)),
            encode_frame(KIND_DTMF, b"5"),
            encode_frame(KIND_AUDIO, b"\x00\x01" * 160),
            encode_frame(KIND_HANGUP),
        ]
    )


def test_audiosocket_frames_whole() -> None:
    frames = AudioSocketParser().feed(frames_stream())
    assert [f.kind for f in frames] == [KIND_UUID, KIND_AUDIO, KIND_DTMF, KIND_AUDIO, KIND_HANGUP]
    assert uuid.UUID(frames[0].uuid)
    assert len(frames[1].payload) == 320 and frames[2].payload == b"5"


def test_audiosocket_frames_split_at_every_byte_boundary() -> None:
    stream = frames_stream()
    expected = AudioSocketParser().feed(stream)
    for cut in range(len(stream) + 1):
        parser = AudioSocketParser()
        assert parser.feed(stream[:cut]) + parser.feed(stream[cut:]) == expected
    parser = AudioSocketParser()
    one_by_one = [f for i in range(len(stream)) for f in parser.feed(stream[i : i + 1])]
    assert one_by_one == expected


def test_audiosocket_refuses_oversized_payload() -> None:
    with pytest.raises(ValueError):
        encode_frame(KIND_AUDIO, bytes(70000))


async def test_media_server_serves_only_cache_files(tmp_path: Path) -> None:
    import aiohttp

    from asteramisk.media.http import MediaServer

    cache = TTSCache(CountingEngine(), tmp_path / "cache")
    path = await cache.get("hello")
    (tmp_path / "secret.txt").write_text("not for Asterisk")
    async with MediaServer(cache.directory) as server, aiohttp.ClientSession() as http:
        async with http.get(f"{server.base_url}/{path.name}") as response:
            assert response.status == 200 and (await response.read())[:4] == b"RIFF"
        for bad in ("../secret.txt", "..%2Fsecret.txt", "tts-zz.wav", "secret.txt"):
            async with http.get(f"{server.base_url}/{bad}") as response:
                assert response.status == 404, bad
    assert server.host == "127.0.0.1"


async def test_media_server_closes_idle_connections(tmp_path: Path) -> None:
    from asteramisk.media.http import MediaServer

    async with MediaServer(tmp_path, idle_timeout=0.3) as server:
        idle = [await asyncio.open_connection("127.0.0.1", server.port) for _ in range(20)]
        for reader, writer in idle:
            assert await asyncio.wait_for(reader.read(), 3) == b""  # closed, never held
            writer.close()


def test_no_audioop_in_the_call_audio_path() -> None:
    """audioop left the standard library in 3.13: a call's audio (detection, resampling,
    streaming, recognition) runs on NumPy and soxr. (pydub, which reads gTTS's MP3, still
    brings audioop-lts with it.)"""
    import subprocess
    import sys

    modules = (
        "asteramisk.media.vad, asteramisk.media.voicing, asteramisk.media.resample, "
        "asteramisk.media.format, asteramisk.media.audio_server, asteramisk.media.stt"
    )
    check = f"import sys, {modules}; assert 'audioop' not in sys.modules, 'audioop imported'"
    subprocess.run([sys.executable, "-W", "error::DeprecationWarning", "-c", check], check=True)
    source = Path(__file__).resolve().parents[2] / "asteramisk"
    if source.is_dir():  # (the installed package's tests have no source tree beside them)
        assert [p for p in source.rglob("*.py") if "audioop" in p.read_text()] == []
