"""Latency of incoming calls on the sandbox, per transport.

    python benchmarks/call_latency.py [--calls 10]

- call -> handler: from the Originate that makes the call enter Asterisk (the VirtualPhone
  dialling through the simulated PSTN) to the first line of the handler;
- cached say -> audio: from ``ui.say()`` of a phrase already in the TTS cache to the first
  audio frame of it reaching the phone (over AudioSocket, so it includes the trip back).
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time

from asteramisk.server import Server
from asteramisk.testing import Sandbox
from asteramisk.testing.phone import VirtualPhone
from asteramisk.ui import VoiceUI

PHRASE = "Thank you for calling."


async def measure(transport: str, calls: int) -> tuple[list[float], list[float]]:
    to_handler: list[float] = []
    to_audio: list[float] = []
    marks: dict[str, float] = {}

    async def handler(ui: VoiceUI) -> None:
        marks["handler"] = time.perf_counter()
        await ui.answer()
        await asyncio.sleep(0.5)
        marks["say"] = time.perf_counter()
        await ui.say(PHRASE)
        await asyncio.sleep(0.5)

    async with Server(port=0) as server, VirtualPhone() as phone:
        number = "7000" if transport == "ari" else "7001"
        await server.register_extension(number, call_handler=handler, transport=transport)
        assert server.speech is not None
        await server.speech.cache.get(PHRASE)  # cached before the calls
        for _ in range(calls):
            marks.clear()
            dialled = time.perf_counter()
            call = await phone.call(number)
            to_handler.append(marks["handler"] - dialled)
            await call.wait_for_speech()
            to_audio.append(time.perf_counter() - marks["say"])
            await call.wait_hangup(10)
    return to_handler, to_audio


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--calls", type=int, default=10)
    args = parser.parse_args()
    Sandbox().up().apply()
    print("| transport | call -> handler, median (max) | cached say -> audio, median (max) |")
    print("| --- | ---: | ---: |")
    for transport in ("ari", "agi"):
        handler, audio = asyncio.run(measure(transport, args.calls))
        print(
            f"| {transport} | {statistics.median(handler) * 1000:.0f} ms "
            f"({max(handler) * 1000:.0f}) | {statistics.median(audio) * 1000:.0f} ms "
            f"({max(audio) * 1000:.0f}) |"
        )


if __name__ == "__main__":
    main()
