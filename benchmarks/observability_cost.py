"""What observing calls costs: the app's CPU per IVR call with and without metrics, traces
and an event subscriber, SIPp placing the calls.

    python benchmarks/observability_cost.py [--calls 120 --rate 20 --pairs 3]

One Server serves two IVR numbers (ARI and AGI): ``say``, ``gather`` one key (none comes
within 1 s), ``say``, hang up. SIPp (Debian's ``sip-tester``) places ``--calls`` calls at
``--rate`` a second, half to each number, in phases of each mode of :data:`MODES`, in rounds
whose order rotates. For each phase: this process's CPU time (user + system) per call
handled. The figures are the ratios of the medians over ``--pairs`` rounds to *off*; issue
19 asks for at most 1.10.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from collections.abc import Callable, Sequence
from typing import Any

from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter, SpanExportResult
from sip_load import SCENARIOS, sipp, stop, wait_until
from soak import make_pcap

from asteramisk.config import config
from asteramisk.exceptions import HangupException
from asteramisk.metrics import watch
from asteramisk.server import Server
from asteramisk.testing import Sandbox, SandboxSettings
from asteramisk.tracing import trace
from asteramisk.ui import VoiceUI

NUMBERS = {"7500": "ari", "7501": "agi"}


class DropSpans(SpanExporter):
    """An exporter that keeps nothing (the cost measured is making the spans)."""

    def __init__(self) -> None:
        self.spans = 0

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        self.spans += len(spans)
        return SpanExportResult.SUCCESS


MODES = ("off", "metrics", "metrics+events", "all")
"""What observes the server in a phase: nothing; Prometheus metrics; and a task reading
``server.events()``; and traces (the OpenTelemetry SDK, a batch processor, spans dropped)."""


async def phase(
    settings: SandboxSettings, server: Server, mode: str, calls: int, rate: float, n: int
) -> dict[str, Any]:
    handled: list[str] = []
    done = asyncio.Event()

    async def ivr(ui: VoiceUI) -> None:
        try:
            await ui.answer()
            await ui.say("Welcome to the cost test.")
            await ui.gather("Press a key.", num_digits=1, timeout=1)
            await ui.say("Goodbye.")
            handled.append("ok")
        except HangupException:
            handled.append("hung up")
        if len(handled) >= calls:
            done.set()

    for number, transport in NUMBERS.items():
        await server.register_extension(number, call_handler=ivr, transport=transport)
    stops: list[Callable[[], None]] = []
    exporter = DropSpans()
    provider = TracerProvider()
    reader: asyncio.Task[None] | None = None
    events_read = 0
    if mode != "off":
        stops.append(watch(server))
    if mode == "all":
        provider.add_span_processor(BatchSpanProcessor(exporter))
        stops.append(trace(server, provider))
    if mode in ("metrics+events", "all"):
        subscription = server.events()

        async def read() -> None:
            nonlocal events_read
            async for _event in subscription:
                events_read += 1

        reader = asyncio.ensure_future(read())
    cpu, wall = time.process_time(), time.monotonic()
    runs = []
    for k, number in enumerate(NUMBERS):
        options = ["-sf", "caller.xml", "-m", str(calls // 2), "-r", f"{rate / 2:.2f}"]
        options += ["-l", "100", "-recv_timeout", "30000"]
        runs.append(sipp(settings, number, 28000 + 100 * n + 10 * k, options))
    try:
        await asyncio.wait_for(done.wait(), calls / rate + 60)
    finally:
        stop(runs)
    await wait_until(lambda: server.active_calls == 0, 20)
    used = time.process_time() - cpu
    seconds = time.monotonic() - wall
    for each in stops:
        each()
    if reader is not None:
        subscription.close()
        await reader
    provider.shutdown()
    return {
        "mode": mode,
        "calls": len(handled),
        "completed": handled.count("ok"),
        "cpu ms per call": round(1000 * used / max(1, len(handled)), 2),
        "seconds": round(seconds, 1),
        "spans": exporter.spans,
        "events read": events_read,
    }


async def run(settings: SandboxSettings, calls: int, rate: float, pairs: int) -> None:
    async with Server(port=0) as server:
        assert server.speech is not None
        for phrase in ("Welcome to the cost test.", "Press a key.", "Goodbye."):
            await server.speech.file(phrase)  # cached, as an app's prompts are
        await phase(settings, server, "off", 20, rate, 0)  # warm-up, not counted
        results: list[dict[str, Any]] = []
        for pair in range(pairs):  # each round in another order: drift spreads evenly
            order = MODES[pair % len(MODES) :] + MODES[: pair % len(MODES)]
            for mode in order:
                result = await phase(settings, server, mode, calls, rate, len(results) + 1)
                print(result, flush=True)
                results.append(result)
    off = statistics.median(r["cpu ms per call"] for r in results if r["mode"] == "off")
    print(f"CPU per call with nothing observing: {off:.2f} ms (median of {pairs})")
    for mode in MODES[1:]:
        on = statistics.median(r["cpu ms per call"] for r in results if r["mode"] == mode)
        print(f"{mode}: {on:.2f} ms, {on / off:.3f}x")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--calls", type=int, default=120)
    parser.add_argument("--rate", type=float, default=20.0)
    parser.add_argument("--pairs", type=int, default=3)
    args = parser.parse_args()
    settings = Sandbox().up()
    settings.apply()
    config.MAX_CONCURRENT_CALLS = 300
    make_pcap(SCENARIOS / "caller.pcap")
    asyncio.run(run(settings, args.calls, args.rate, args.pairs))


if __name__ == "__main__":
    main()
