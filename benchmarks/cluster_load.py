"""The cluster under SIPp load: one Asterisk node against two, behind Kamailio.

    .venv/bin/python benchmarks/cluster_load.py [--rates 30 60] [--seconds 10]

On the cluster sandbox (``asteramisk.testing.cluster``: two Asterisk nodes, Kamailio, Redis,
each on a host of its own), SIPp on this machine's address on the cluster's LAN calls the IVR
number through Kamailio (``benchmarks/sipp/ivr_caller.xml``: wait for the welcome, press 1,
wait for the goodbye), at each of ``--rates`` calls a second for ``--seconds``. The app,
in this process, serves the number on every node with ASTERISK_HOSTS (answer, say, gather
the key, say, hang up). Three runs:

- **1 node**: node2 stopped, Kamailio sends everything to node1;
- **2 nodes**: both up, Kamailio alternates;
- **2 nodes, one killed**: node2 killed (SIGKILL) half way through: the calls it had end;
  every call placed from 2 s after the kill must be answered by node1.

For each: calls completed, calls per second, the most calls up at once, the answer time
(SIPp's INVITE to 200 OK, p50/p90), and CPU time per call of each part: each Asterisk node,
Kamailio (all its processes), the app (this process). The 2 cores of this machine run all of
it (SIPp too), so the absolute figures are the machine's; the per-call CPU figures are what
sizes a bigger cluster (docs/deployment.rst).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import resource
import shutil
import statistics
import subprocess
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from asteramisk.config import config
from asteramisk.exceptions import HangupException
from asteramisk.server import Server
from asteramisk.testing.cluster import ClusterSandbox, ClusterSettings
from asteramisk.ui import VoiceUI

SCENARIOS = Path(__file__).parent / "sipp"
NUMBER = "7520"


@dataclass
class Run:
    right: int = 0
    failed: list[str] = field(default_factory=list)
    per_node: Counter[str] = field(default_factory=Counter)
    up: int = 0
    most_up: int = 0
    up_on: Counter[str] = field(default_factory=Counter)
    starts: list[float] = field(default_factory=list)


def cpu_of(pid: int | None, group: bool = False) -> float:
    """CPU seconds of ``pid`` (with ``group``: of every process in its process group)."""
    if pid is None:
        return 0.0
    pids = [pid]
    if group:
        pids = [
            int(p.name)
            for p in Path("/proc").iterdir()
            if p.name.isdigit() and _pgid(int(p.name)) == pid
        ]
    total = 0.0
    for each in pids:
        try:
            fields = Path(f"/proc/{each}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return total


def _pgid(pid: int) -> int:
    try:
        return os.getpgid(pid)
    except OSError:
        return -1


def app_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def handler(run: Run):  # type: ignore[no-untyped-def]
    async def ivr(ui: VoiceUI) -> None:
        node = ui.call_record.asterisk_host
        run.starts.append(time.monotonic())
        run.per_node[node] += 1
        run.up += 1
        run.up_on[node] += 1
        run.most_up = max(run.most_up, run.up)
        try:
            await ui.answer()
            await ui.say("Welcome. Press 1.")
            key = await ui.gather(num_digits=1, timeout=8)
            await ui.say("Thank you.")
            if key == "1":
                run.right += 1
            else:
                run.failed.append(f"pressed {key!r}")
            await ui.hangup()
        except HangupException:
            run.failed.append(f"hung up ({node})")
        except Exception as exc:
            run.failed.append(f"{type(exc).__name__}: {exc}")
        finally:
            run.up -= 1
            run.up_on[node] -= 1

    return ivr


def sipp(settings: ClusterSettings, calls: int, rate: int) -> subprocess.Popen[bytes]:
    host, port = settings.kamailio.split(":")
    command = [
        "sipp", f"{host}:{port}", "-s", NUMBER, "-i", "10.99.1.1", "-p", "28300",
        "-mp", "28400", "-sf", "ivr_caller.xml", "-m", str(calls), "-r", str(rate),
        "-l", str(calls), "-recv_timeout", "60000", "-trace_rtt", "-rtt_freq", "1",
        "-nostdin",
    ]  # fmt: skip
    with open("/tmp/sipp-cluster.log", "wb") as log:
        return subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, cwd=SCENARIOS)


def answer_times(pid: int) -> list[float]:
    """SIPp's INVITE-to-200 times (s), from its -trace_rtt file (removed after)."""
    path = SCENARIOS / f"ivr_caller_{pid}_rtt.csv"
    times = []
    try:
        lines = path.read_text().splitlines()
        path.unlink()
    except OSError:
        return []
    header = lines[0].split(";") if lines else []
    column = next((i for i, name in enumerate(header) if "response" in name.lower()), 2)
    for line in lines[1:]:
        parts = line.split(";")
        if len(parts) > column and parts[column].strip():
            times.append(float(parts[column]) / 1000)
    return times


async def one_run(
    sandbox: ClusterSandbox, settings: ClusterSettings, label: str, calls: int, rate: int,
    *, kill_half_way: bool = False,
) -> None:  # fmt: skip
    run = Run()
    server = await Server.create(port=0)
    await server.register_extension(NUMBER, handler(run))
    for phrase in ("Welcome. Press 1.", "Thank you."):
        for node in server.nodes:
            await node.speech.file(phrase)  # type: ignore[union-attr]
    await asyncio.sleep(2)  # Kamailio's OPTIONS have seen the node(s) up
    pids = {name: sandbox.procs.pid(name) for name in ("node1", "node2", "kamailio")}
    before = {name: cpu_of(pid, group=name == "kamailio") for name, pid in pids.items()}
    app_before = app_cpu()
    started = time.monotonic()
    process = sipp(settings, calls, rate)
    killed_with = 0
    if kill_half_way:
        await asyncio.sleep(calls / rate / 2)
        killed_with = run.up_on[settings.hosts[1]]
        after_node2 = {n: cpu_of(pids[n], group=n == "kamailio") for n in ("node2",)}
        sandbox.stop("node2")
    while process.poll() is None and time.monotonic() - started < 300:
        await asyncio.sleep(0.5)
    if process.poll() is None:
        process.kill()
    after = {name: cpu_of(pid, group=name == "kamailio") for name, pid in pids.items()}
    if kill_half_way:
        after.update(after_node2)
    app_ms = (app_cpu() - app_before) / calls * 1000
    per_part = {name: (after[name] - before[name]) / calls * 1000 for name in pids}
    await server.close(grace=0)
    rtts = sorted(answer_times(process.pid))
    p50 = statistics.median(rtts) if rtts else float("nan")
    p90 = rtts[int(len(rtts) * 0.9)] if rtts else float("nan")
    slowest = rtts[-1] if rtts else float("nan")
    span = max(run.starts) - min(run.starts) if len(run.starts) > 1 else float("nan")
    rate_in = (len(run.starts) - 1) / span
    nodes = " / ".join(str(run.per_node[h]) for h in settings.hosts)
    print(
        f"| {label} | {rate} | {run.right}/{calls} | {len(run.failed)} | {rate_in:.1f} | "
        f"{run.most_up} | {nodes} | {p50 * 1000:.0f} / {p90 * 1000:.0f} / {slowest * 1000:.0f} | "
        f"{per_part['node1']:.1f} | {per_part['node2']:.1f} | {per_part['kamailio']:.2f} | "
        f"{app_ms:.1f} |",
        flush=True,
    )
    if kill_half_way:
        print(f"    calls up on node2 when it was killed: {killed_with}; failed: "
              f"{len(run.failed)} ({Counter(run.failed).most_common(3)})", flush=True)  # fmt: skip


async def main_async(rates: list[int], seconds: int) -> None:
    sandbox = ClusterSandbox()
    settings = sandbox.up(progress=print)
    for name, value in settings.env().items():
        if not name.startswith("ASTERAMISK_"):
            setattr(config, name, value)
    config.MAX_CONCURRENT_CALLS = 1000
    print(
        "\n| run | calls/s offered | key heard | failed | calls/s taken | most up at once "
        "| calls node1 / node2 | answer p50 / p90 / max (ms) | node1 CPU/call (ms) "
        "| node2 CPU/call (ms) | Kamailio CPU/call (ms) | app CPU/call (ms) |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    try:
        for each in rates:
            sandbox.stop("node2", kill=False)
            await one_run(sandbox, settings, "1 node", each * seconds, each)
            sandbox.start("node2")
            await one_run(sandbox, settings, "2 nodes", each * seconds, each)
        each = rates[0]
        await one_run(
            sandbox, settings, "2 nodes, node2 killed", each * seconds, each, kill_half_way=True
        )
    finally:
        sandbox.down()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rates", type=int, nargs="+", default=[30, 60])
    parser.add_argument("--seconds", type=int, default=10, help="of calls at each rate")
    args = parser.parse_args()
    if shutil.which("sipp") is None:
        raise SystemExit("SIPp is missing: apt-get install sip-tester (./scripts/bench does)")
    asyncio.run(main_async(args.rates, args.seconds))


if __name__ == "__main__":
    main()
