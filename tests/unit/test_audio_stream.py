"""Voice activity detection, the AudioSocket server, and the OpenAI transcriber's boundary."""

from __future__ import annotations

import asyncio
import math
import struct
import uuid

import httpx2 as httpx
import pytest
from openai import AsyncOpenAI

from asteramisk.exceptions import STTError
from asteramisk.media.audio_server import AudioSocketServer, AudioStream
from asteramisk.media.audiosocket import (
    KIND_AUDIO,
    KIND_HANGUP,
    KIND_UUID,
    AudioSocketParser,
    encode_frame,
)
from asteramisk.media.stt import OpenAITranscriber
from asteramisk.media.vad import FRAME_BYTES, VoiceActivityDetector

SILENCE = bytes(FRAME_BYTES)


def tone(ms: int, amplitude: int = 6000) -> bytes:
    samples = ms * 8
    return b"".join(
        struct.pack("<h", int(amplitude * math.sin(2 * math.pi * 440 * n / 8000)))
        for n in range(samples)
    )


def frames(pcm: bytes) -> list[bytes]:
    return [pcm[i : i + FRAME_BYTES] for i in range(0, len(pcm), FRAME_BYTES)]


def test_vad_finds_an_utterance_and_keeps_its_first_syllable() -> None:
    vad = VoiceActivityDetector(end_ms=400, pre_ms=100)
    events = []
    for frame in frames(SILENCE * 25 + tone(600) + SILENCE * 30):
        event = vad.feed(frame)
        if event is not None and event.kind != "pause":
            events.append(event)
    assert [e.kind for e in events] == ["start", "end"]
    # the whole tone, with 100 ms before it and the 400 ms of silence that ended it
    assert len(events[1].audio) >= len(tone(600))
    assert len(events[1].audio) <= len(tone(600)) + 600 * 16


def test_vad_ignores_a_click_and_steady_noise() -> None:
    vad = VoiceActivityDetector()
    noise = tone(20, 200)  # below min_rms
    events = [vad.feed(f) for f in frames(noise * 100 + tone(20) + noise * 50)]
    assert all(e is None for e in events)


def test_vad_short_pause_does_not_end_speech() -> None:
    vad = VoiceActivityDetector(end_ms=700)
    pcm = tone(400) + SILENCE * 15 + tone(400) + SILENCE * 40  # 300 ms pause inside
    kinds = [e.kind for f in frames(pcm) if (e := vad.feed(f)) is not None and e.kind != "pause"]
    assert kinds == ["start", "end"]


async def connect(server: AudioSocketServer, stream_id: str | None) -> asyncio.StreamWriter:
    _, writer = await asyncio.open_connection(server.host, server.port)
    if stream_id is not None:
        writer.write(encode_frame(KIND_UUID, uuid.UUID(stream_id).bytes))
    return writer


async def test_server_delivers_an_expected_streams_speech_split_anywhere() -> None:
    async with AudioSocketServer() as server:
        stream_id = str(uuid.uuid4())
        stream = await server.expect(stream_id)
        _, writer = await asyncio.open_connection(server.host, server.port)
        data = encode_frame(KIND_UUID, uuid.UUID(stream_id).bytes)
        for frame in frames(SILENCE * 10 + tone(500) + SILENCE * 50):
            data += encode_frame(KIND_AUDIO, frame)
        data += encode_frame(KIND_HANGUP)
        for i in range(0, len(data), 7):  # split across reads at odd places
            writer.write(data[i : i + 7])
        await writer.drain()
        audio = await stream.utterance(timeout=5)
        assert audio is not None and len(audio) >= len(tone(500))
        await asyncio.wait_for(stream.closed.wait(), 5)
        writer.close()


async def test_an_utterance_ends_when_asterisk_stops_sending_audio() -> None:
    """A Local channel with nothing playing, or a phone that suppresses silence, sends no
    frames once the caller stops: the missing time counts as silence and the utterance ends
    (it used to wait for the hangup). The connection stays open throughout."""
    async with AudioSocketServer() as server:
        stream_id = str(uuid.uuid4())
        stream = await server.expect(stream_id)
        writer = await connect(server, stream_id)
        for frame in frames(SILENCE * 10 + tone(600)):  # speech, then nothing at all
            writer.write(encode_frame(KIND_AUDIO, frame))
        await writer.drain()
        loop = asyncio.get_running_loop()
        started = loop.time()
        audio = await stream.utterance(timeout=5)
        assert audio is not None and len(audio) >= len(tone(600))
        assert loop.time() - started < 3  # the VAD's end of speech plus the gap tolerance
        assert stream.gap_frames > 0 and not stream.closed.is_set()
        writer.close()


async def test_closing_a_stream_sends_asterisk_a_hangup_frame() -> None:
    """AudioSocket() ends gracefully on a hangup frame; on a bare close it logs an error."""
    async with AudioSocketServer() as server:
        stream_id = str(uuid.uuid4())
        stream = await server.expect(stream_id)
        reader, writer = await connect_reader(server, stream_id)
        await asyncio.wait_for(stream.connected.wait(), 1)
        await asyncio.wait_for(stream.close(), 2)
        frames = AudioSocketParser().feed(await asyncio.wait_for(reader.read(), 2))
        assert frames and frames[-1].kind == KIND_HANGUP
        writer.close()


async def test_stray_connections_are_closed_and_do_not_delay_a_real_call() -> None:
    async with AudioSocketServer() as server:
        stream_id = str(uuid.uuid4())
        stream = await server.expect(stream_id)
        silent = await connect(server, None)  # says nothing at all
        stranger = await connect(server, str(uuid.uuid4()))  # unknown call
        garbage_reader, garbage = await asyncio.open_connection(server.host, server.port)
        garbage.write(b"GET / HTTP/1.1\r\n\r\n")
        real = await connect(server, stream_id)
        await asyncio.wait_for(stream.connected.wait(), 1)  # at once, not after the others
        assert await asyncio.wait_for(garbage_reader.read(), 3) == b""  # closed by the server
        for writer in (silent, stranger, garbage, real):
            writer.close()
        await asyncio.sleep(2.5)
        assert server.refused >= 2


async def test_outgoing_audio_is_paced_and_flush_drops_it() -> None:
    async with AudioSocketServer() as server:
        stream_id = str(uuid.uuid4())
        stream = await server.expect(stream_id)
        reader, writer = await connect_reader(server, stream_id)
        await asyncio.wait_for(stream.connected.wait(), 1)
        stream.send(tone(1000))  # 50 frames
        loop = asyncio.get_running_loop()
        started = loop.time()
        parser = AudioSocketParser()
        loud = 0
        while loop.time() - started < 0.5:
            for frame in parser.feed(await reader.read(4096)):
                loud += frame.kind == KIND_AUDIO and frame.payload != SILENCE
        assert 20 <= loud <= 30  # about 25 frames in 0.5 s: real time, not all at once
        stream.flush()
        await asyncio.wait_for(stream.drained(), 0.1)
        writer.close()


async def connect_reader(
    server: AudioSocketServer, stream_id: str
) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    reader, writer = await asyncio.open_connection(server.host, server.port)
    writer.write(encode_frame(KIND_UUID, uuid.UUID(stream_id).bytes))
    return reader, writer


async def test_openai_transcriber_sends_wav_and_phrases_and_returns_the_text() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"text": " Cancel my order. "})

    client = AsyncOpenAI(
        api_key="sk-test-placeholder",
        http_client=httpx.AsyncClient(transport=httpx.MockTransport(handler)),
        max_retries=0,
    )
    stt = OpenAITranscriber(client, model="gpt-4o-mini-transcribe")
    assert await stt.transcribe(tone(300), ["cancel my order", "book"]) == "cancel my order"
    assert await stt.transcribe(tone(300)) == "Cancel my order."
    request = seen[0]
    assert request.url.path.endswith("/audio/transcriptions")
    body = request.content
    assert b"RIFF" in body and b"WAVE" in body  # the audio went as a WAV file
    assert b"gpt-4o-mini-transcribe" in body and b"cancel my order" in body
    assert await stt.transcribe(b"") == ""  # nothing to send: no request
    assert len(seen) == 2


async def test_openai_transcriber_error_surfaces() -> None:
    client = AsyncOpenAI(
        api_key="sk-test-placeholder",
        http_client=httpx.AsyncClient(
            transport=httpx.MockTransport(
                lambda r: httpx.Response(401, json={"error": {"message": "bad key"}})
            )
        ),
        max_retries=0,
    )
    from openai import AuthenticationError

    with pytest.raises(STTError, match="OpenAI transcription") as raised:
        await OpenAITranscriber(client).transcribe(tone(300))
    assert isinstance(raised.value.__cause__, AuthenticationError)  # mapped at the adapter


def white_noise(ms: int, rms: int, seed: int = 7) -> bytes:
    import random

    generator = random.Random(seed)
    sigma = rms  # Gaussian noise: its RMS is its standard deviation
    count = ms * 8
    return struct.pack(
        f"<{count}h",
        *(max(-32768, min(32767, int(generator.gauss(0, sigma)))) for _ in range(count)),
    )


def test_vad_is_never_stuck_in_steady_noise() -> None:
    """White noise at -35 dBFS (RMS 582) and no speech at all: the old floor, which followed
    only frames it called silent, reported 'speaking' for good."""
    vad = VoiceActivityDetector()
    speaking = []
    events = []
    for frame in frames(white_noise(10_000, 582)):
        event = vad.feed(frame)
        if event is not None and event.kind != "pause":
            events.append(event.kind)
        speaking.append(vad.speaking)
    assert not any(speaking[150:])  # from 3 s on: never speaking
    assert events in ([], ["start", "end"])  # at most one false start, while it learns


def test_vad_hears_speech_in_noise_and_its_end() -> None:
    """Bursts of 'speech' 10 dB above white noise, with pauses: one utterance, ended."""
    vad = VoiceActivityDetector()
    noise = white_noise(3000, 582)
    speech = b"".join(
        _mix(tone(300, 2600), white_noise(300, 582, seed=n)) + white_noise(100, 582, seed=9)
        for n in range(4)
    )
    kinds = [
        e.kind
        for f in frames(noise + speech + noise)
        if (e := vad.feed(f)) is not None and e.kind != "pause"
    ]
    assert kinds[-2:] == ["start", "end"] and kinds.count("start") <= 2


def _mix(a: bytes, b: bytes) -> bytes:
    import numpy as np

    mixed = np.frombuffer(a, np.int16).astype(int) + np.frombuffer(b[: len(a)], np.int16)
    return np.clip(mixed, -32768, 32767).astype(np.int16).tobytes()


def test_an_utterance_ends_a_little_after_the_voice_not_after_the_whole_wait() -> None:
    """The 700 ms of quiet that ends a turn is not the recogniser's to decode: the audio ends
    200 ms after the last voiced frame."""
    vad = VoiceActivityDetector(end_ms=700, pre_ms=100)
    ends = [
        e
        for f in frames(SILENCE * 25 + tone(600) + SILENCE * 50)
        if (e := vad.feed(f)) and e.kind != "pause"
    ]
    assert [e.kind for e in ends] == ["start", "end"]
    # pre_ms counts back from the start, which comes 60 ms (3 voiced frames) into the tone
    assert len(ends[1].audio) == ((100 - 60) + 600 + 200) * 16


def test_a_pause_gives_the_words_so_far_and_the_end_the_same_audio() -> None:
    """After 300 ms of quiet the turn may be over: the pause carries what the end will carry
    if nothing more is said, so recognition can start 400 ms before the end (700 ms)."""
    vad = VoiceActivityDetector(end_ms=700)
    timeline = []
    for n, f in enumerate(frames(SILENCE * 10 + tone(600) + SILENCE * 50)):
        if (event := vad.feed(f)) is not None:
            timeline.append((event.kind, n, event.audio))
    kinds = [(kind, n) for kind, n, _ in timeline]
    assert kinds == [("start", 12), ("pause", 54), ("end", 74)]
    assert timeline[1][2] == timeline[2][2] != b""


def test_a_caller_who_speaks_on_after_a_pause_makes_a_longer_turn() -> None:
    vad = VoiceActivityDetector(end_ms=700)
    audio = SILENCE * 10 + tone(400) + SILENCE * 20 + tone(400) + SILENCE * 50
    timeline = [(e.kind, e.audio) for f in frames(audio) if (e := vad.feed(f)) is not None]
    assert [kind for kind, _ in timeline] == ["start", "pause", "pause", "end"]
    assert len(timeline[1][1]) < len(timeline[2][1]) == len(timeline[3][1])


async def test_a_stream_tells_its_pauses_and_keeps_them_out_of_its_events() -> None:
    stream = AudioStream("s1")
    told: list[bytes] = []
    stream.on_pause = told.append
    stream.on_audio(SILENCE * 10 + tone(600) + SILENCE * 50)
    assert len(told) == 1
    assert await stream.utterance(1) == told[0]


async def test_a_failing_listener_is_dropped_and_the_stream_goes_on(
    caplog: pytest.LogCaptureFixture,
) -> None:
    stream = AudioStream("s2")
    seen: list[bool] = []

    def broken(frame: bytes, voiced: bool) -> None:
        raise RuntimeError("a bug")

    def pause(audio: bytes) -> None:
        raise RuntimeError("another bug")

    stream.frame_listeners += [broken, lambda frame, voiced: seen.append(voiced)]
    stream.on_pause = pause
    stream.on_audio(SILENCE * 10 + tone(600) + SILENCE * 50)
    assert stream.frame_listeners[0] is not broken and len(stream.frame_listeners) == 1
    assert len(seen) == 10 + 30 + 50 and any(seen)  # the other listener heard every frame
    assert await stream.utterance(1)  # and the turn still came
    assert "frame listener" in caplog.text and "at a pause" in caplog.text
