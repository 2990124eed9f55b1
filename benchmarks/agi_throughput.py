"""FastAGI throughput against a real Asterisk: Asteramisk side by side with its peers.

    ./scripts/bench                      # installs the peers, then runs this with defaults
    python benchmarks/agi_throughput.py --calls 200 --commands 100

N concurrent ``Local/`` calls each run K ``GET VARIABLE UNIQUEID`` commands against one FastAGI
server at a time (each call waits until all N are up, so that the commands run at N concurrent
calls): Asteramisk's ``FastAGIServer`` (with its C plain-answer step, and without it as
``asteramisk-python``), panoramisk's ``fast_agi``, pystrix's threaded
``FastAGIServer`` and a minimal ``asyncio.Protocol`` responder written here (the floor a Python
server can approach), on the stock event loop and on uvloop. The server runs in a process of its
own and the calls are placed by another, so the server's CPU time is the AGI side alone.

Reported per server (the run with the least CPU, and medians over the runs): commands per
second, p50/p99 command latency, Python CPU microseconds per
command (the server process's CPU time / commands) and Asterisk's CPU per command in the same run.

Then the same calls paced (``--rates``, default 5,000 and 10,000 commands a second in all):
each call sends a command every ``calls / rate`` seconds, so every server gets the same load.
As fast as they go, a faster server moves the bottleneck into Asterisk (2 cores shared by it,
the caller and the server), and the tail latency becomes how Asterisk's threads share the CPU;
at one load for all, the latency is what the server adds. Latency is from the command's write
to its answer, in both.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import statistics
import subprocess
import sys
import time
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

IMPLEMENTATIONS = ("asteramisk", "asteramisk-python", "panoramisk", "pystrix", "minimal")


def server_environment(impl: str) -> dict[str, str] | None:
    """The environment of impl's process: asteramisk-python is Asteramisk without its C
    plain-answer step, as installed with no compiler; the others inherit this one."""
    return {**os.environ, "ASTERAMISK_NO_EXTENSIONS": "1"} if impl == "asteramisk-python" else None


COMMAND = "GET VARIABLE UNIQUEID"


# -- the measured side: one server process per run -------------------------------------------


class Meter:
    """One run's figures. Every call waits at its start until all ``calls`` are up
    (:meth:`connected`), then all run their commands together: each latency is then one at
    ``calls`` concurrent calls. Without it, Asterisk sets the calls up over a second or so
    and the first calls are done before the last begin (at 200 calls the concurrency peaked
    at 140-160, and how far depended on the server's own speed).

    With a ``period`` (seconds), the run is paced: each call sends a command every
    ``period``, the calls' first commands spread evenly over the first period, so that
    every server gets the same load of ``calls / period`` commands a second."""

    def __init__(self, calls: int, period: float = 0.0) -> None:
        self.calls = calls
        self.period = period
        self.up = 0
        self.done = 0
        self.latencies: list[int] = []
        self.waiting: list[Callable[[float], object]] = []
        self.all_running: int | None = None  # pystrix's latencies come per call: not known
        self.first_done_wall = 0.0
        self.started_cpu = 0.0
        self.started_wall = 0.0

    def connected(self, start: Callable[[float], object]) -> None:
        """A call is up: ``start(delay)`` begins its commands once all calls are, the first
        one ``delay`` seconds later (0 unless paced)."""
        if not self.started_wall:
            self.started_wall = time.perf_counter()
            self.started_cpu = time.process_time()
            self.started_usage = resource.getrusage(resource.RUSAGE_SELF)
        self.up += 1
        self.waiting.append(start)
        if self.up >= self.calls:
            waiting, self.waiting = self.waiting, []
            for k, begin in enumerate(waiting):
                begin(self.period * k / self.calls)

    def call_done(self) -> bool:
        if not self.done:  # the commands done so far ran while all the calls were running
            self.all_running = len(self.latencies)
            self.first_done_wall = time.perf_counter()
        self.done += 1
        return self.done >= self.calls

    def report(self) -> dict[str, Any]:
        wall = time.perf_counter() - self.started_wall
        cpu = time.process_time() - self.started_cpu
        commands = len(self.latencies)
        usage = resource.getrusage(resource.RUSAGE_SELF)
        lat = sorted(self.latencies)
        return {
            "commands": commands,
            "wall_s": wall,
            "cpu_s": cpu,
            "cmds_per_s": commands / wall,
            "cpu_us_per_cmd": cpu / commands * 1e6,
            # user (the Python side) and system (the socket calls) apart
            "user_us_per_cmd": (usage.ru_utime - self.started_usage.ru_utime) / commands * 1e6,
            "sys_us_per_cmd": (usage.ru_stime - self.started_usage.ru_stime) / commands * 1e6,
            "p50_ms": lat[len(lat) // 2] / 1e6,
            "p99_ms": _p99(lat),
            # while all the calls still run commands: the latency "at N concurrent calls"
            "p99_all_running_ms": _p99(self.latencies[: self.all_running])
            if self.all_running
            else None,
            "share_all_running": (self.all_running or 0) / commands,
            "first_done_s": self.first_done_wall - self.started_wall
            if self.first_done_wall
            else None,
        }


def _p99(latencies: list[int]) -> float:
    return sorted(latencies)[int(len(latencies) * 0.99)] / 1e6


def serve(impl: str, loop_name: str, calls: int, commands: int, period: float) -> None:
    meter = Meter(calls, period)
    if impl == "pystrix":
        serve_pystrix(meter, commands)
        return
    if loop_name == "uvloop":
        import uvloop

        uvloop.install()
    asyncio.run(serve_async(impl, meter, commands))


def announce(port: int) -> None:
    print(f"READY {port}", flush=True)


async def all_calls_up(meter: Meter) -> float:
    """Wait until all calls are up; the delay of this call's first command."""
    go: asyncio.Future[float] = asyncio.get_running_loop().create_future()
    meter.connected(go.set_result)
    return await go


async def paced(
    meter: Meter, delay: float, commands: int, send: Callable[[], Awaitable[object]]
) -> None:
    """The commands of a paced run: one every ``meter.period``, from ``delay`` on; a command
    whose time has passed (the one before came back late) is sent at once."""
    loop = asyncio.get_running_loop()
    clock = time.perf_counter_ns
    due = loop.time() + delay
    for _ in range(commands):
        if (wait := due - loop.time()) > 0:
            await asyncio.sleep(wait)
        due += meter.period
        t = clock()
        await send()
        meter.latencies.append(clock() - t)


async def serve_async(impl: str, meter: Meter, commands: int) -> None:
    all_done = asyncio.get_running_loop().create_future()

    def finish() -> None:
        if meter.call_done() and not all_done.done():
            all_done.set_result(meter.report())

    if impl.startswith("asteramisk"):
        from asteramisk.agi import AGI, FastAGIServer, core, protocol

        if (impl == "asteramisk") != protocol.SPEEDUPS:
            raise SystemExit(
                "asteramisk.agi._speedups is not built (no C compiler or python3-dev at install):"
                " install them and pip install -e . again, or run --impls asteramisk-python"
            )

        get = core.GetVariable("UNIQUEID")

        async def handler(agi: AGI) -> None:
            delay = await all_calls_up(meter)
            if meter.period:
                await paced(meter, delay, commands, lambda: agi.execute(get))
                finish()
                return
            clock = time.perf_counter_ns
            for _ in range(commands):
                t = clock()
                await agi.execute(get)
                meter.latencies.append(clock() - t)
            finish()

        server = FastAGIServer(port=0)
        server.add_route("bench", handler)
        await server.start()
        announce(server.port)
        print(json.dumps(await all_done), flush=True)
        await server.close()
        return

    if impl == "panoramisk":
        from panoramisk.fast_agi import Application

        app = Application()

        async def p_handler(request: Any) -> None:
            delay = await all_calls_up(meter)
            if meter.period:
                await paced(meter, delay, commands, lambda: request.send_command(COMMAND))
                finish()
                return
            clock = time.perf_counter_ns
            for _ in range(commands):
                t = clock()
                await request.send_command(COMMAND)
                meter.latencies.append(clock() - t)
            finish()

        app.add_route("bench", p_handler)
        srv = await asyncio.start_server(app.handler, "127.0.0.1", 0)
        announce(srv.sockets[0].getsockname()[1])
        print(json.dumps(await all_done), flush=True)
        srv.close()
        return

    loop = asyncio.get_running_loop()
    srv = await loop.create_server(
        lambda: MinimalResponder(
            commands, meter.latencies.append, meter.connected, finish, meter.period
        ),
        "127.0.0.1",
        0,
    )
    announce(srv.sockets[0].getsockname()[1])
    print(json.dumps(await all_done), flush=True)
    srv.close()


class MinimalResponder(asyncio.Protocol):
    """The floor: a bare asyncio.Protocol that answers inside data_received, with no task, no
    future and no parsing beyond finding line ends."""

    line = (COMMAND + "\n").encode()

    def __init__(
        self,
        commands: int,
        latency: Callable[[int], object],
        connected: Callable[[Callable[[float], object]], object],
        done: Callable[[], object],
        period: float = 0.0,
    ) -> None:
        self.left = commands
        self.latency, self.connected, self.done = latency, connected, done
        self.period = period

    def connection_made(self, transport: Any) -> None:
        self.transport = transport
        self.buffer = b""
        self.in_env = True
        self.sent = 0

    def start(self, delay: float = 0.0) -> None:
        if self.period:
            self.transport = PacedWrites(self, self.transport, self.period, delay)
        self.sent = time.perf_counter_ns()
        self.transport.write(self.line)

    def data_received(self, data: bytes) -> None:
        buffer = self.buffer + data
        if self.in_env:
            end = buffer.find(b"\n\n")
            if end < 0:
                self.buffer = buffer
                return
            buffer = buffer[end + 2 :]
            self.in_env = False
            self.connected(self.start)
        while True:
            end = buffer.find(b"\n")
            if end < 0:
                break
            buffer = buffer[end + 1 :]
            self.latency(time.perf_counter_ns() - self.sent)
            self.left -= 1
            if self.left:
                self.sent = time.perf_counter_ns()
                self.transport.write(self.line)
            else:
                self.transport.close()
                self.done()
        self.buffer = buffer


class PacedWrites:
    """In a paced run, stands between the minimal responder and its transport, so that its
    answering code is the same as when it goes as fast as it can: each write goes out at its
    time (at once if that has passed), and the responder's send time is taken then."""

    def __init__(self, responder: MinimalResponder, transport: Any, period: float, delay: float):
        self.responder, self.transport, self.period = responder, transport, period
        self.loop = asyncio.get_running_loop()
        self.due = self.loop.time() + delay - period

    def write(self, data: bytes) -> None:
        self.due += self.period
        self.loop.call_at(self.due, self._write, data)

    def _write(self, data: bytes) -> None:
        self.responder.sent = time.perf_counter_ns()
        self.transport.write(data)

    def close(self) -> None:
        self.transport.close()


def serve_pystrix(meter: Meter, commands: int) -> None:
    import re
    import threading

    import pystrix

    lock = threading.Lock()
    done = threading.Event()
    finished = 0

    def handler(agi: Any, args: Any, kwargs: Any, match: Any, path: Any) -> None:
        nonlocal finished
        go = threading.Event()
        delay = [0.0]

        def begin(first: float) -> None:
            delay[0] = first
            go.set()

        with lock:
            meter.connected(begin)
        go.wait()
        local: list[int] = []
        get = pystrix.agi.core.GetVariable("UNIQUEID")
        due = time.monotonic() + delay[0]
        for _ in range(commands):
            if meter.period and (wait := due - time.monotonic()) > 0:
                time.sleep(wait)
            due += meter.period
            t = time.perf_counter_ns()
            agi.execute(get)
            local.append(time.perf_counter_ns() - t)
        with lock:
            meter.latencies.extend(local)
            finished += 1
            if finished >= meter.calls:
                done.set()

    server = pystrix.agi.FastAGIServer(interface="127.0.0.1", port=0)
    server.register_script_handler(re.compile("bench"), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    announce(server.server_address[1])
    done.wait()
    print(json.dumps(meter.report()), flush=True)
    server.shutdown()


# -- the caller side: places the calls from its own process ----------------------------------


async def place_calls(port: int, calls: int) -> None:
    from asteramisk.asterisk.ami import AMIClient

    context = f"asteramisk-bench-{uuid.uuid4().hex[:6]}"
    async with AMIClient(events="system") as ami:
        for priority, app, data in (
            (1, "AGI", f"agi://127.0.0.1:{port}/bench"),
            (2, "Hangup", ""),
        ):
            await ami.action(
                {
                    "Action": "DialplanExtensionAdd",
                    "Context": context,
                    "Extension": "bench",
                    "Priority": str(priority),
                    "Application": app,
                    "ApplicationData": data,
                    "Replace": "yes",
                }
            )
        await asyncio.gather(
            *(
                ami.action(
                    {
                        "Action": "Originate",
                        "Channel": f"Local/bench@{context}/n",
                        "Application": "Wait",
                        "Data": "120",
                        "Async": "true",
                    },
                    timeout=60,
                    as_list=False,  # "successfully queued" is all we wait for
                )
                for _ in range(calls)
            )
        )
        print("PLACED", flush=True)
        sys.stdin.readline()  # until the orchestrator says the run is over
        await ami.action(
            {"Action": "Command", "Command": f"dialplan remove context {context}"}, check=False
        )


# -- the orchestrator -----------------------------------------------------------------------


def asterisk_cpu_ticks(pid: int | None) -> int | None:
    if pid is None:
        return None
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])  # utime + stime, in clock ticks


def run_one(
    impl: str, loop_name: str, calls: int, commands: int, pid: int | None, rate: int = 0
) -> dict[str, Any]:
    """One run of impl; paced at ``rate`` commands a second in all, or as fast as it goes."""
    me = [sys.executable, __file__]
    period = calls / rate if rate else 0.0
    server = subprocess.Popen(
        [*me, "_serve", impl, loop_name, str(calls), str(commands), repr(period)],
        env=server_environment(impl),
        stdout=subprocess.PIPE,
        text=True,
    )
    assert server.stdout is not None
    ready = server.stdout.readline().split()
    if not ready or ready[0] != "READY":
        raise SystemExit(f"{impl} server did not start")
    before = asterisk_cpu_ticks(pid)
    caller = subprocess.Popen(
        [*me, "_call", ready[1], str(calls)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    result: dict[str, Any] = json.loads(server.stdout.readline())
    after = asterisk_cpu_ticks(pid)
    assert caller.stdin is not None
    caller.stdin.write("\n")
    caller.stdin.flush()
    caller.wait(60)
    server.wait(60)
    if before is not None and after is not None:
        ticks = os.sysconf("SC_CLK_TCK")
        result["asterisk_us_per_cmd"] = (after - before) / ticks / result["commands"] * 1e6
    result.update(impl=impl, loop="threads" if impl == "pystrix" else loop_name, rate=rate)
    time.sleep(2)  # let Asterisk tear the calls down before the next run
    return result


def per_round(r: dict[str, Any], floor: dict[str, Any]) -> float:
    """The median over the rounds of r's CPU over the floor's in the same round: the two ran
    one after the other, so a drift of the machine falls on both."""
    ratios: list[float] = [
        mine / theirs for mine, theirs in zip(r["cpu_us_runs"], floor["cpu_us_runs"], strict=True)
    ]
    return statistics.median(ratios)


def table(results: list[dict[str, Any]]) -> str:
    rows = [
        "| loop | server | cmds/s | p50 ms | p99 ms (median) | p99 while all N run, ms (median) "
        "| Python CPU us/cmd, best (median) | vs minimal, best (median) per round "
        "| Asterisk CPU us/cmd |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    floors = {r["loop"]: r for r in results if r["impl"] == "minimal"}
    for r in results:
        floor = floors.get(r["loop"]) or floors.get("stock")
        ratio = (
            f"{r['cpu_us_per_cmd'] / floor['cpu_us_per_cmd']:.2f}x "
            f"({r['cpu_us_median'] / floor['cpu_us_median']:.2f}x) "
            f"{per_round(r, floor):.2f}x"
            if floor
            else "-"
        )
        running = (
            f"{r['p99_all_running_ms']:.2f} ({r['p99_all_running_median']:.2f})"
            if r["p99_all_running_ms"] is not None
            else "-"
        )
        rows.append(
            f"| {r['loop']} | {r['impl']} | {r['cmds_per_s']:,.0f} | {r['p50_ms']:.2f} "
            f"| {r['p99_ms']:.2f} ({r['p99_median']:.2f}) | {running} "
            f"| {r['cpu_us_per_cmd']:.1f} ({r['cpu_us_median']:.1f}) "
            f"| {ratio} | {r.get('asterisk_us_per_cmd', float('nan')):.0f} |"
        )
    return "\n".join(rows)


def paced_table(results: list[dict[str, Any]]) -> str:
    rows = [
        "| load, cmds/s | loop | server | cmds/s | p50 ms (median) "
        "| p99 ms, median (lowest-highest) | Python CPU us/cmd (median) |",
        "| ---: | --- | --- | ---: | ---: | ---: | ---: |",
    ]
    for r in results:
        rows.append(
            f"| {r['rate']:,} | {r['loop']} | {r['impl']} | {r['cmds_per_s_median']:,.0f} "
            f"| {r['p50_median']:.2f} | {r['p99_median']:.2f} ({min(r['p99_runs']):.2f}-"
            f"{max(r['p99_runs']):.2f}) | {r['cpu_us_median']:.1f} |"
        )
    return "\n".join(rows)


def summary(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """The run with the least CPU, with the medians (and each run's p99) of all the runs."""
    best = dict(min(runs, key=lambda r: r["cpu_us_per_cmd"]))
    best["cpu_us_runs"] = [round(r["cpu_us_per_cmd"], 1) for r in runs]
    best["cpu_us_median"] = statistics.median(r["cpu_us_per_cmd"] for r in runs)
    best["p99_runs"] = [round(r["p99_ms"], 2) for r in runs]
    best["p99_median"] = statistics.median(r["p99_ms"] for r in runs)
    best["p50_median"] = statistics.median(r["p50_ms"] for r in runs)
    best["cmds_per_s_median"] = statistics.median(r["cmds_per_s"] for r in runs)
    running = [r["p99_all_running_ms"] for r in runs]
    best["p99_all_running_median"] = statistics.median(running) if None not in running else None
    return best


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "_serve":
        serve(sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5]), float(sys.argv[6]))
        return
    if len(sys.argv) > 1 and sys.argv[1] == "_call":
        _settings()
        asyncio.run(place_calls(int(sys.argv[2]), int(sys.argv[3])))
        return
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=200)
    parser.add_argument("--commands", type=int, default=100)
    parser.add_argument("--loops", default="stock,uvloop")
    parser.add_argument("--impls", default=",".join(IMPLEMENTATIONS))
    parser.add_argument(
        "--repeat",
        type=int,
        default=1,
        help="rounds: runs per server, each server once a round; the table gives the best"
        " run, the medians and the per-round ratio",
    )
    parser.add_argument(
        "--rates",
        default="5000,10000",
        help="the loads (commands a second, all calls together) of the paced runs, after the"
        " runs as fast as each server goes; '' for none",
    )
    parser.add_argument("--json", help="also write the raw results here")
    args = parser.parse_args()
    rates = [int(rate) for rate in args.rates.split(",") if rate]
    pid = _settings()
    results = []
    for rate in [0, *rates]:
        for loop_name in args.loops.split(","):
            impls = [
                impl
                for impl in args.impls.split(",")
                # pystrix runs threads, not an event loop: measured once
                if impl != "pystrix" or loop_name == args.loops.split(",")[0]
            ]
            # Round after round, every server once in each: the machine's own drifts (2 cores
            # shared with Asterisk and the caller) fall on all of them alike.
            runs: dict[str, list[dict[str, Any]]] = {impl: [] for impl in impls}
            for _ in range(args.repeat):
                for impl in impls:
                    runs[impl].append(
                        run_one(impl, loop_name, args.calls, args.commands, pid, rate)
                    )
            for impl in impls:
                best = summary(runs[impl])
                print(
                    f"{rate or 'fastest':>7} {loop_name:7} {impl:17} "
                    f"{best['cpu_us_per_cmd']:7.1f} us/cmd (runs: {best['cpu_us_runs']})"
                    f" p99 {best['p99_runs']} ms, p99 / share of the commands while all run,"
                    " first call done at: "
                    + ", ".join(
                        f"{r['p99_all_running_ms'] or 0:.1f} ms / {r['share_all_running']:.0%}"
                        f" / {r['first_done_s'] or 0:.2f} s"
                        for r in runs[impl]
                    )
                    + "; user/system us: "
                    + ", ".join(
                        f"{r['user_us_per_cmd']:.1f}/{r['sys_us_per_cmd']:.1f}" for r in runs[impl]
                    ),
                    file=sys.stderr,
                    flush=True,
                )
                results.append(best)
    print(table([r for r in results if not r["rate"]]))
    print(
        f"\n{args.calls} concurrent calls x {args.commands} `{COMMAND}` each, as fast as each"
        " server goes."
    )
    if rates:
        print()
        print(paced_table([r for r in results if r["rate"]]))
        print("\nThe same calls, paced: each call one command every calls / load seconds.")
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2))


def _settings() -> int | None:
    """Point config at the Asterisk to use (the sandbox unless ASTERISK_HOST is set)."""
    if os.environ.get("ASTERISK_HOST") and not os.environ.get("ASTERAMISK_SANDBOX_ROOT"):
        return None  # an external Asterisk: its CPU cannot be read from here
    from asteramisk.testing import Sandbox

    sandbox = Sandbox()
    sandbox.up().apply()
    return sandbox.pid()


if __name__ == "__main__":
    main()
