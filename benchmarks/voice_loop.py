"""The voice loop of an agent on the sandbox (cascade and realtime), and AudioSocket pacing.

    python benchmarks/voice_loop.py [--turns 5] [--calls 1,20] [--streams 50,100,200,400]

1. Delay of a reply, with 1 and with 20 callers at once: VirtualPhones speak to calls whose
   handler runs
   ``connect_openai_agent`` with a scripted model (no network) and the offline engines
   (``STT_ENGINE``, piper). From the end of the caller's speech to the first audio of the reply at
   the phone, split into: the end-of-speech wait of voice activity detection (its ``end_ms``),
   speech recognition, the agent (scripted: the SDK's own overhead), speech synthesis of the
   first sentence, and the rest, which is the library's own share plus Asterisk's playback
   start and the trip back.
2. The same with a realtime agent (a scripted speech-to-speech model that answers 500 ms after
   the caller stops), on both transports: the model's turn wait, and the way of its audio into
   the call (resampling, pacing, Asterisk's path, the trip back to the phone).
3. Pacing: N AudioSocket streams connected to one AudioSocketServer of this process, fed 20 ms
   frames (speech-like bursts) by another process; for 5 s each stream runs voice activity
   detection and sends audio back at real time. Reported: frames sent more than one frame late.
"""

from __future__ import annotations

import argparse
import asyncio
import math
import random
import statistics
import struct
import sys
import time
import uuid
from typing import Any

from agents import Agent, RunConfig
from agents.realtime import RealtimeAgent
from agents.realtime.testing import RealtimeStep, ScriptedRealtimeModel
from agents.testing import ScriptedModel, assistant_message

from asteramisk.media.audio_server import AudioSocketServer
from asteramisk.server import Server
from asteramisk.testing import Sandbox
from asteramisk.testing.phone import VirtualPhone
from asteramisk.testing.realtime import TurnEnd, spoken
from asteramisk.ui import VoiceUI

CALLER = "book a table for friday"


async def voice_turns(turns: int, calls: int = 1) -> list[dict[str, float]]:
    """``calls`` callers at once, each speaking ``turns`` times to a cascade agent."""
    # A new text every turn and every run (the TTS cache outlives a run): each reply is synthesised.
    run = random.randrange(100, 1000)
    sessions: asyncio.Queue[Any] = asyncio.Queue()

    async def handler(ui: VoiceUI) -> None:
        await ui.answer()
        caller = int(ui.remote_number[-2:]) if ui.remote_number[-2:].isdigit() else 0
        replies = [[assistant_message(f"Number {run + 100 * caller + n}.")] for n in range(turns)]
        agent = Agent(name="Bench", model=ScriptedModel(replies))
        sessions.put_nowait(
            await ui.connect_openai_agent(
                agent, phrases=[CALLER], run_config=RunConfig(tracing_disabled=True)
            )
        )

    async with Server(port=0) as server:
        await server.register_extension("7100", call_handler=handler)
        phones = [VirtualPhone(f"55501{n:02d}") for n in range(calls)]
        for phone in phones:
            await phone.start()
        try:
            talked = await asyncio.gather(*(talk(phone, "7100", turns) for phone in phones))
            done = [await asyncio.wait_for(sessions.get(), 20) for _ in phones]
        finally:
            for phone in phones:
                await phone.close()
    vad_wait = end_wait()
    rows = []
    for session, times in zip(done, talked, strict=True):
        for (ended, heard), turn in zip(times, session.turns, strict=False):
            rows.append(
                {
                    "phone": heard - ended,
                    "vad": vad_wait,
                    "stt": turn["stt"],
                    "agent": turn["first_text"] - turn["stt"],
                    "tts": turn["first_audio"] - turn["first_text"],
                    "rest": heard - ended - vad_wait - turn["first_audio"],
                }
            )
    return rows


def end_wait() -> float:
    """The end-of-turn wait of the detector a Server of these settings gives its calls."""
    from asteramisk.config import config
    from asteramisk.media.voicing import EnergyVoicing, SileroVoicing, voicing_engine

    if config.VAD_END_MS:
        return config.VAD_END_MS / 1000
    silero = voicing_engine(config.VAD_ENGINE) == "silero"
    return (SileroVoicing.end_ms if silero else EnergyVoicing.end_ms) / 1000


async def realtime_turns(turns: int, transport: str) -> list[dict[str, float]]:
    """Caller stops -> reply heard with a realtime agent: the model's (scripted) turn wait,
    then the way of its audio into the call (resampling, pacing, Asterisk, the trip back)."""
    fired: list[float] = []
    model = ScriptedRealtimeModel(
        [
            RealtimeStep(
                expect=TurnEnd(fired),
                emit=spoken(f"Reply number {n}. Anything else?", f"r{n}", f"a{n}"),
            )
            for n in range(turns)
        ],
        strict=False,
    )

    async def handler(ui: VoiceUI) -> None:
        await ui.answer()
        await ui.connect_openai_agent(
            RealtimeAgent(name="Bench"), mode="realtime", realtime_model=model
        )

    async with Server(port=0) as server, VirtualPhone("5550191") as phone:
        await server.register_extension("7101", call_handler=handler, transport=transport)
        turned = await talk(phone, "7101", turns)
    # the loop's clock is time.monotonic(), as the model's turn times are
    return [
        {"phone": heard - done, "model": model_at - done, "rest": heard - model_at}
        for (done, heard), model_at in zip(turned, fired, strict=True)
    ]


async def talk(phone: VirtualPhone, number: str, turns: int) -> list[tuple[float, float]]:
    """Call ``number`` and speak ``turns`` times; for each, when the phone's words ended and
    when it first heard the reply (the loop's clock)."""
    call = await phone.call(number)
    await asyncio.sleep(1)
    loop = asyncio.get_running_loop()
    times = []
    for _ in range(turns):
        call._speech_since_read = False
        await call.say(CALLER)
        done = loop.time() - 0.2  # say() appends 200 ms of silence after the words
        await call.wait_for_speech(timeout=15)
        times.append((done, call._last_speech))
        await asyncio.sleep(3)  # the reply plays out
        call._audio.clear()
        call._read = 0
    await call.hangup()
    return times


FEEDER = r"""
import asyncio, math, struct, sys, uuid
ids = sys.argv[2:]
port = int(sys.argv[1])
tone = b"".join(struct.pack("<h", int(5000 * math.sin(2 * math.pi * 300 * n / 8000)))
                for n in range(160))
silence = bytes(320)
def frame(kind, payload): return bytes([kind]) + len(payload).to_bytes(2, "big") + payload
async def main():
    writers = []
    for stream_id in ids:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(frame(1, uuid.UUID(stream_id).bytes))
        writers.append((reader, writer))
    async def drain(reader):
        while await reader.read(65536):
            pass
    tasks = [asyncio.ensure_future(drain(r)) for r, _ in writers]
    loop = asyncio.get_running_loop()
    start = loop.time()
    for n in range(250):  # 5 s
        audio = tone if (n // 25) % 2 == 0 else silence  # 0.5 s bursts
        for _, writer in writers:
            writer.write(frame(0x10, audio))
        await asyncio.sleep(max(0, start + (n + 1) * 0.02 - loop.time()))
    for _, writer in writers:
        writer.write(frame(0, b""))
        writer.close()
    for task in tasks:
        task.cancel()
asyncio.run(main())
"""


async def pacing(streams: int) -> dict[str, float]:
    async with AudioSocketServer() as server:
        ids = [str(uuid.uuid4()) for _ in range(streams)]
        handles = [await server.expect(i) for i in ids]
        speech = bytes(
            b"".join(
                struct.pack("<h", int(3000 * math.sin(2 * math.pi * 500 * n / 8000)))
                for n in range(8000 * 6)
            )
        )
        feeder = await asyncio.create_subprocess_exec(
            sys.executable, "-c", FEEDER, str(server.port), *ids
        )
        await asyncio.gather(*(h.connected.wait() for h in handles))
        for handle in handles:
            handle.send(speech)
        cpu = time.process_time()
        await feeder.wait()
        cpu = time.process_time() - cpu
        await asyncio.sleep(0.2)
        sent = sum(h.frames_received for h in handles)
        late = sum(h.late_frames for h in handles)
        return {
            "streams": streams,
            "frames_in": sent,
            "late": late,
            "late_pct": 100 * late / max(1, streams * 250),
            "cpu": cpu / 5,
        }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--turns", type=int, default=5)
    parser.add_argument("--streams", default="50,100,200,400")
    parser.add_argument("--calls", default="1,20", help="cascade calls at once")
    args = parser.parse_args()
    Sandbox().up().apply()
    keys = ["phone", "vad", "stt", "agent", "tts", "rest"]
    print("Cascade (scripted model, offline STT and TTS), median of every turn, and p90:")
    print(
        "| calls at once | caller stops -> reply heard (p90) | VAD end wait | STT | agent "
        "| TTS | rest |"
    )
    print("| ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for calls in (int(c) for c in args.calls.split(",") if c):
        rows = asyncio.run(voice_turns(args.turns, calls))
        med = {k: statistics.median(r[k] for r in rows) for k in keys}
        p90 = sorted(r["phone"] for r in rows)[int(0.9 * (len(rows) - 1))]
        cells = [f"{med['phone'] * 1000:.0f} ms ({p90 * 1000:.0f} ms)"]
        cells += [f"{med[k] * 1000:.0f} ms" for k in keys[1:]]
        print(f"| {calls} | " + " | ".join(cells) + " |", flush=True)
    print()
    print("Realtime mode (scripted model):")
    print("| transport | caller stops -> reply heard | model's turn wait | audio into the call |")
    print("| --- | ---: | ---: | ---: |")
    for transport in ("ari", "agi"):
        rt = asyncio.run(realtime_turns(args.turns, transport))
        med = {k: statistics.median(r[k] for r in rt) for k in ("phone", "model", "rest")}
        print(
            f"| {transport} | {med['phone'] * 1000:.0f} ms | {med['model'] * 1000:.0f} ms "
            f"| {med['rest'] * 1000:.0f} ms |"
        )
    print()
    print("| streams | frames received | frames sent > 20 ms late | CPU (share of one core) |")
    print("| ---: | ---: | ---: | ---: |")
    for streams in (int(s) for s in args.streams.split(",")):
        r = asyncio.run(pacing(streams))
        print(
            f"| {streams} | {r['frames_in']:.0f} | {r['late']:.0f} ({r['late_pct']:.2f} %) "
            f"| {r['cpu'] * 100:.0f} % |"
        )


if __name__ == "__main__":
    main()
