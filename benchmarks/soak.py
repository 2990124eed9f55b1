"""Soak: 10,000 SIP dialogs (IVR calls, calls answered by voice, texts) through one Server.

    python benchmarks/soak.py [--total 10000 --minutes 10]

SIPp (Debian's ``sip-tester``) runs five scenarios at once, in fixed shares of ``--total``:

- 30 % IVR calls over ARI and 30 % over AGI: ``say``, ``gather`` one key (none comes within
  1 s), ``say``, hang up;
- 10 % calls over ARI and 10 % over AGI answered by voice: ``prompt`` hears the caller say
  "yes please" (``caller.pcap``: RTP that SIPp plays, made here from the offline TTS);
- 20 % texts (SIP MESSAGE) from 20 senders: the handler reads it and replies, and the reply
  comes back in through the trunk to the sender's number, which the same Server serves.

Every 20 s it samples this process's fds, tasks and RSS with the calls handled so far; the
curve after warm-up (the first fifth) must be flat. At the end: what every handler saw, what
SIPp counted, and what is left in Asterisk (channels, bridges) and in the app.
"""

from __future__ import annotations

import argparse
import asyncio
import re
import time
import tracemalloc
from collections import Counter
from pathlib import Path
from typing import Any

from sip_load import SCENARIOS, fds, rss_mb, sipp, sockets, stop, wait_until, write_pcap

from asteramisk.asterisk.ami import AMIClient
from asteramisk.config import config
from asteramisk.exceptions import HangupException
from asteramisk.media.format import RATE, to_phone_rate
from asteramisk.media.tts import create_engine
from asteramisk.server import Server
from asteramisk.testing import Sandbox, SandboxSettings
from asteramisk.ui import TextUI, VoiceUI

SHARES = {  # number: (share of the total, scenario, transport or "text")
    "7400": (0.3, "caller.xml", "ari"),
    "7401": (0.3, "caller.xml", "agi"),
    "7402": (0.1, "caller.xml", "ari"),
    "7403": (0.1, "caller.xml", "agi"),
    "7404": (0.2, "texter.xml", "text"),
}
IVR, PROMPT = ("7400", "7401"), ("7402", "7403")
SENDERS = [f"55580{n:02d}" for n in range(20)]


def make_pcap(path: Path) -> None:
    """RTP (PCMU, 20 ms packets) of 2.5 s of silence, "yes please", 1.5 s of silence."""
    audio = create_engine().synthesize("Yes please.")
    voiced = to_phone_rate(audio.pcm, audio.rate)
    write_pcap(path, bytes(2 * RATE * 5 // 2) + voiced + bytes(2 * RATE * 3 // 2))


class Tally:
    """What the handlers saw."""

    def __init__(self) -> None:
        self.done: Counter[str] = Counter()
        self.heard: Counter[str] = Counter()
        self.failed: Counter[str] = Counter()
        self.replies = 0

    def handled(self) -> int:
        return sum(self.done.values()) + sum(self.failed.values())


def handlers(tally: Tally) -> dict[str, Any]:
    def ivr(number: str) -> Any:
        async def handler(ui: VoiceUI) -> None:
            try:
                await ui.answer()
                await ui.say("Welcome to the soak test.")
                await ui.gather("Press a key.", num_digits=1, timeout=1)
                await ui.say("Goodbye.")
                tally.done[number] += 1
            except HangupException:
                tally.failed[f"{number} hung up"] += 1

        return handler

    def prompt(number: str) -> Any:
        async def handler(ui: VoiceUI) -> None:
            try:
                await ui.answer()
                answer = await ui.prompt(
                    "Say yes please.", phrases=["yes please", "no thanks"], timeout=8, retries=0
                )
                tally.heard[answer or "(nothing)"] += 1
                tally.done[number] += 1
            except HangupException:
                tally.failed[f"{number} hung up"] += 1

        return handler

    async def text(ui: TextUI) -> None:
        await ui.say(f"Got it: {ui.first_message}")
        tally.done["7404"] += 1

    async def sink(ui: TextUI) -> None:
        tally.replies += 1

    return {"ivr": ivr, "prompt": prompt, "text": text, "sink": sink}


def sipp_counts(number: str, port: int) -> dict[str, int]:
    """SIPp's final cumulative counts, read from its screen."""
    screen = Path(f"/tmp/sipp-{number}-{port}.log").read_text(errors="replace")
    counts = {}
    for name in ("Successful call", "Failed call"):
        found = re.findall(rf"{name}\s*\|\s*\d+\s*\|\s*(\d+)", screen)
        counts[name] = int(found[-1]) if found else -1
    return counts


async def run(
    settings: SandboxSettings, total: int, minutes: float, trace: bool = False
) -> dict[str, Any]:
    tally = Tally()
    warm: tracemalloc.Snapshot | None = None
    made = handlers(tally)
    samples: list[tuple[float, int, int, int, float]] = []
    async with Server(port=0) as server:
        for number in IVR:
            await server.register_extension(
                number, call_handler=made["ivr"](number), transport=SHARES[number][2]
            )
        for number in PROMPT:
            await server.register_extension(
                number, call_handler=made["prompt"](number), transport=SHARES[number][2]
            )
        await server.register_extension("7404", text_handler=made["text"])
        for sender in SENDERS:
            await server.register_extension(sender, text_handler=made["sink"])
        assert server.speech is not None
        for phrase in ("Welcome to the soak test.", "Press a key.", "Goodbye.", "Say yes please."):
            await server.speech.file(phrase)  # cached before the load, as an app's prompts are
        seconds = minutes * 60
        runs = {}
        for n, (number, (share, scenario, _kind)) in enumerate(SHARES.items()):
            count = round(total * share)
            options = ["-sf", scenario, "-m", str(count), "-r", f"{count / seconds:.3f}"]
            options += ["-l", "80", "-recv_timeout", "70000"]
            if scenario == "texter.xml":
                options += ["-inf", "senders.csv"]
            port = 27000 + 10 * n
            runs[(number, port)] = sipp(settings, number, port, options)
        started = time.monotonic()
        try:
            while any(run.poll() is None for run in runs.values()):
                samples.append(
                    (
                        time.monotonic() - started,
                        tally.handled(),
                        fds(),
                        len(asyncio.all_tasks()),
                        rss_mb(),
                    )
                )
                if trace and warm is None and time.monotonic() - started > seconds / 5:
                    warm = tracemalloc.take_snapshot()
                await asyncio.sleep(20)
        finally:
            stop(list(runs.values()))
        elapsed = time.monotonic() - started
        await wait_until(lambda: tally.replies >= tally.done["7404"], 30)
        await asyncio.sleep(2)
        samples.append((elapsed, tally.handled(), fds(), len(asyncio.all_tasks()), rss_mb()))
        async with AMIClient() as ami:
            channels = (await ami.command("core show channels count")).splitlines()
            bridges = await ami.command("bridge show all")
        left = {"server": repr(server), "sockets": sockets()}
        grown = []
        if warm is not None:
            changes = tracemalloc.take_snapshot().compare_to(warm, "lineno")
            changes.sort(key=lambda change: change.size_diff, reverse=True)
            grown = [str(change) for change in changes[:5]]
    return {
        "seconds": round(elapsed),
        "handled": dict(tally.done),
        "failed": dict(tally.failed),
        "heard": dict(tally.heard),
        "replies back": tally.replies,
        "sipp": {f"{number}": sipp_counts(number, port) for number, port in runs},
        "Asterisk": [channels[0] if channels else "", bridges.strip().splitlines()[:2]],
        "left": left,
        "grown since warm-up (tracemalloc)": grown,
        "samples (s, handled, fds, tasks, RSS MB)": [
            (round(t), h, f, k, round(r)) for t, h, f, k, r in samples
        ],
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--total", type=int, default=10_000)
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--trace", action="store_true", help="where memory grew (tracemalloc)")
    args = parser.parse_args()
    if args.trace:
        tracemalloc.start(10)
    settings = Sandbox().up()
    settings.apply()
    config.MAX_CONCURRENT_CALLS = 300
    config.MAX_CONCURRENT_CONVERSATIONS = 300
    make_pcap(SCENARIOS / "caller.pcap")
    for key, value in asyncio.run(run(settings, args.total, args.minutes, args.trace)).items():
        print(f"{key}: {value}")


if __name__ == "__main__":
    main()
