"""Callers answering ``prompt()`` by voice, N of them within the same two seconds.

    python benchmarks/speech_load.py [--calls 10 50 100] [--transports ari agi]

SIPp (Debian's ``sip-tester``) places N calls into the sandbox at N/2 calls a second, split
over five utterances of the speech test set (``data/speech``, both voices, clean; RTP from
each recording, as PCMU): each caller is quiet for 3 s while the app asks "What would you
like?", then says its utterance, then waits. The app answers each call with ``prompt()``,
free (``STT_ENGINE``'s transcript) and with ``phrases=`` (the utterance's list), and hangs up.

Reported per transport, mode and N: answers right (free: every word, after Whisper's
normaliser; phrases: the expected phrase), the time from the end of the caller's words (the
call's answer + the words' end in its recording) to ``prompt()`` returning, p50/p90/max, and
CPU per call of this process (the app, with its recogniser threads) and of Asterisk.

Then the IVR case as a regression guard (``--ivr 500``): 500 calls at once answer, hear a
welcome, press 1 (RFC 2833, from sip-tester's own pcap), hear a thank-you and are hung up.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import resource
import statistics
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from sip_load import SCENARIOS, sipp, stop, write_pcap
from speech_set import VOICES, manifest, raw, speech_bounds
from stt_accuracy import words

from asteramisk.config import config
from asteramisk.exceptions import HangupException
from asteramisk.server import Server
from asteramisk.testing import Sandbox, SandboxSettings
from asteramisk.ui import VoiceUI

QUIET_BEFORE, QUIET_AFTER = 3.0, 2.0
CHOSEN = (  # (file of the set, voice): five answers callers give, each with phrases
    ("24.wav", "joe"),  # I would like sales please
    ("25.wav", "slt"),  # I need technical support
    ("28.wav", "joe"),  # can I speak to an operator
    ("31.wav", "slt"),  # I would like to cancel my appointment
    ("10.wav", "joe"),  # no thank you
)
NUMBERS = {("ari", "free"): "7500", ("agi", "free"): "7501"}
NUMBERS |= {("ari", "phrases"): "7502", ("agi", "phrases"): "7503"}


@dataclass(frozen=True)
class Answer:
    text: str
    phrases: tuple[str, ...]
    expect: str
    words_end: float
    """Seconds from the start of the recording to the end of the words."""


@dataclass
class Run:
    latencies: list[float] = field(default_factory=list)
    right: int = 0
    wrong: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)


def answers() -> list[Answer]:
    """The chosen utterances; writes speaker-K.pcap and speaker-K.xml for each."""
    entries = {str(e["file"]): e for e in manifest()}
    template = (SCENARIOS / "speaker.xml").read_text()
    chosen = []
    for k, (file, voice) in enumerate(CHOSEN):
        assert voice in VOICES
        entry = entries[file]
        pcm = raw(voice, file)
        _, last = speech_bounds(np.frombuffer(pcm, dtype=np.int16))
        quiet_before = bytes(int(QUIET_BEFORE * 8000) * 2)
        write_pcap(SCENARIOS / f"speaker-{k}.pcap", quiet_before + pcm + bytes(16000 * 2))
        scenario = template.replace("77K0", f"77{k}0").replace("SPEECH", f"speaker-{k}.pcap")
        (SCENARIOS / f"speaker-{k}.xml").write_text(scenario)
        phrases = entry.get("phrases")
        assert isinstance(phrases, list)
        chosen.append(
            Answer(
                text=str(entry["text"]),
                phrases=tuple(phrases),
                expect=str(entry["expect"]),
                words_end=QUIET_BEFORE + last / 8000,
            )
        )
    return chosen


def asterisk_cpu() -> float:
    """CPU seconds Asterisk has used (the sandbox's asterisk process)."""
    pid = subprocess.run(["pgrep", "-o", "-x", "asterisk"], capture_output=True, text=True)
    stat = Path(f"/proc/{pid.stdout.split()[0]}/stat").read_text()
    fields = stat.rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def app_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def loop_cpu() -> float:
    """CPU seconds of this process's main thread (the event loop; the rest is the
    recogniser's and the detectors' threads)."""
    fields = Path(f"/proc/self/task/{os.getpid()}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def handler(chosen: list[Answer], mode: str, run: Run) -> Any:
    async def answer_by_voice(ui: VoiceUI) -> None:
        try:
            await ui.answer()
            answered = time.monotonic()
            said = chosen[int(ui.remote_number[2])]
            heard = await ui.prompt(
                "What would you like?",
                phrases=said.phrases if mode == "phrases" else None,
                timeout=8,
                retries=0,
            )
            run.latencies.append(time.monotonic() - answered - said.words_end)
            expected = said.expect if mode == "phrases" else said.text
            if words(heard) == words(expected):
                run.right += 1
            else:
                run.wrong.append(f"{said.text!r} -> {heard!r}")
            await ui.hangup()
        except HangupException:
            run.failed.append("hung up")
        except Exception as exc:
            run.failed.append(f"{type(exc).__name__}: {exc}")

    return answer_by_voice


async def one_run(
    settings: SandboxSettings, server: Server, chosen: list[Answer], number: str, calls: int
) -> None:
    rate = max(5.0, calls / 2) / len(chosen)
    processes = []
    for k in range(len(chosen)):
        count = calls // len(chosen) + (k < calls % len(chosen))
        options = ["-sf", f"speaker-{k}.xml", "-m", str(count), "-r", f"{rate:.2f}"]
        options += ["-l", str(count), "-recv_timeout", "60000"]
        processes.append(sipp(settings, number, 28000 + 10 * k, options))
    try:
        deadline = time.monotonic() + 120
        while any(p.poll() is None for p in processes) and time.monotonic() < deadline:
            await asyncio.sleep(0.2)
    finally:
        stop([p for p in processes if p.poll() is None])


async def main_async(settings: SandboxSettings, counts: list[int], transports: list[str]) -> None:
    chosen = answers()
    async with Server(port=0) as server:
        print(
            "| transport | mode | callers | right | failed | end of words -> prompt() back "
            "p50 / p90 / max (s) | app CPU per call (ms) | of which the event loop | "
            "Asterisk CPU per call (ms) |"
        )
        print("|---|---|---|---|---|---|---|---|---|")
        # Warm-up, not measured: the recogniser's and the detectors' models load.
        await server.register_extension(
            NUMBERS["ari", "free"], call_handler=handler(chosen, "free", Run()), transport="ari"
        )
        await server.speech.file("What would you like?")  # type: ignore[union-attr]
        await one_run(settings, server, chosen, NUMBERS["ari", "free"], len(chosen))
        await server.unregister_extension(NUMBERS["ari", "free"])
        for calls in counts:
            for (transport, mode), number in NUMBERS.items():
                if transport not in transports:
                    continue
                run = Run()
                await server.register_extension(
                    number, call_handler=handler(chosen, mode, run), transport=transport
                )
                await server.speech.file("What would you like?")  # type: ignore[union-attr]
                app, loop, asterisk = app_cpu(), loop_cpu(), asterisk_cpu()
                await one_run(settings, server, chosen, number, calls)
                deadline = time.monotonic() + 30
                while len(run.latencies) + len(run.failed) < calls:
                    if time.monotonic() > deadline:
                        break
                    await asyncio.sleep(0.2)
                app_ms = (app_cpu() - app) / calls * 1000
                loop_ms = (loop_cpu() - loop) / calls * 1000
                asterisk_ms = (asterisk_cpu() - asterisk) / calls * 1000
                await server.unregister_extension(number)
                lat = sorted(run.latencies) or [float("nan")]
                p90 = float(np.percentile(lat, 90))
                print(
                    f"| {transport} | {mode} | {calls} | {run.right}/{calls} | "
                    f"{len(run.failed)} | {statistics.median(lat):.2f} / {p90:.2f} / "
                    f"{lat[-1]:.2f} | {app_ms:.0f} | {loop_ms:.0f} | {asterisk_ms:.0f} |",
                    flush=True,
                )
                for line in run.wrong[:3] + run.failed[:3]:
                    print(f"    {line}", flush=True)
                await asyncio.sleep(2)


def ivr_handler(run: Run) -> Any:
    async def ivr(ui: VoiceUI) -> None:
        try:
            await ui.answer()
            started = time.monotonic()
            await ui.say("Welcome. Press 1.")
            key = await ui.gather(num_digits=1, timeout=8)
            await ui.say("Thank you.")
            run.latencies.append(time.monotonic() - started)
            if key == "1":
                run.right += 1
            else:
                run.wrong.append(f"pressed {key!r}")
            await ui.hangup()
        except HangupException:
            run.failed.append("hung up")
        except Exception as exc:
            run.failed.append(f"{type(exc).__name__}: {exc}")

    return ivr


async def ivr_guard(settings: SandboxSettings, calls: int, transports: list[str]) -> None:
    """The IVR case, ``calls`` at once: answer, say, gather a key (RFC 2833), say, hang up."""
    async with Server(port=0) as server:
        print(
            "\n| IVR transport | calls at once | key heard | failed | app CPU per call (ms) "
            "| Asterisk CPU per call (ms) |"
        )
        print("|---|---|---|---|---|---|")
        for transport in transports:
            run = Run()
            await server.register_extension(
                "7510", call_handler=ivr_handler(run), transport=transport
            )
            for phrase in ("Welcome. Press 1.", "Thank you."):
                await server.speech.file(phrase)  # type: ignore[union-attr]
            app, asterisk = app_cpu(), asterisk_cpu()
            options = ["-sf", "ivr_caller.xml", "-m", str(calls), "-r", "50", "-rp", "1000"]
            options += ["-l", str(calls), "-recv_timeout", "60000"]
            process = sipp(settings, "7510", 28100, options)
            deadline = time.monotonic() + 180
            while process.poll() is None and time.monotonic() < deadline:
                await asyncio.sleep(0.5)
            stop([process] if process.poll() is None else [])
            app_ms = (app_cpu() - app) / calls * 1000
            asterisk_ms = (asterisk_cpu() - asterisk) / calls * 1000
            await server.unregister_extension("7510")
            print(
                f"| {transport} | {calls} | {run.right}/{calls} | {len(run.failed)} | "
                f"{app_ms:.1f} | {asterisk_ms:.1f} |",
                flush=True,
            )
            for line in run.wrong[:3] + run.failed[:3]:
                print(f"    {line}", flush=True)
            await asyncio.sleep(3)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, nargs="*", default=[10, 50, 100])
    parser.add_argument("--transports", nargs="+", default=["ari", "agi"])
    parser.add_argument("--ivr", type=int, default=500, help="IVR calls at once (0: none)")
    args = parser.parse_args()
    settings = Sandbox().up()
    settings.apply()
    config.MAX_CONCURRENT_CALLS = max(300, args.ivr)
    if args.calls:
        asyncio.run(main_async(settings, args.calls, args.transports))
    if args.ivr:
        asyncio.run(ivr_guard(settings, args.ivr, args.transports))


if __name__ == "__main__":
    main()
