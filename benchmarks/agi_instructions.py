"""Python instructions per FastAGI command, counted by valgrind: the same figure on every run.

    python benchmarks/agi_instructions.py        # needs valgrind (apt-get install valgrind)

CPU time on a shared machine drifts by 10-30 % from run to run (see agi_throughput.py); an
instruction count does not. Here the sessions run in one process with no sockets: a driver hands
each of 200 sessions the answer Asterisk would send (``200 result=1 (<uniqueid>)``), round after
round, on uvloop, and each session answers with its next ``GET VARIABLE``. Counted for:

- ``asteramisk``: the :class:`~asteramisk.agi.AGI` protocol and a handler awaiting
  ``agi.execute(GetVariable(...))``, as in agi_throughput.py, with the C plain-answer step
  (``asteramisk.agi._speedups``); ``asteramisk-python``: the same without it;
- ``bare``: the same coroutine API with nothing else, a future per command resolved with the
  raw bytes (the floor for an awaitable command: a future and a task wake-up);
- ``minimal``: agi_throughput.py's responder, which answers inside ``data_received``.

Per command: the instructions of R2 rounds minus those of R1 rounds, divided by the commands
between, so that start-up is left out. Per call: the same with C2 and C1 calls that each get
Asterisk's environment (22 lines), run one command and close. The I/O itself (system calls,
uvloop's reading and writing) is not in these figures; agi_throughput.py measures everything.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import shutil
import subprocess
import sys
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from agi_throughput import COMMAND, MinimalResponder, server_environment

SESSIONS = 200
ROUNDS = (10, 60)
CALLS = (50, 250)
IMPLEMENTATIONS = ("asteramisk", "asteramisk-python", "bare", "minimal")
ANSWER = b"200 result=1 (1700000000.123)\n"
ENVIRONMENT = (
    b"agi_network: yes\nagi_network_script: bench\nagi_request: agi://127.0.0.1:4573/bench\n"
    b"agi_channel: Local/bench@asteramisk-bench-0a1b2c-00000001;2\nagi_language: en\n"
    b"agi_type: Local\nagi_uniqueid: 1700000000.123\nagi_version: 22.1.0\n"
    b"agi_callerid: unknown\nagi_calleridname: unknown\nagi_callingpres: 67\n"
    b"agi_callingani2: 0\nagi_callington: 0\nagi_callingtns: 0\nagi_dnid: unknown\n"
    b"agi_rdnis: unknown\nagi_context: asteramisk-bench-0a1b2c\nagi_extension: bench\n"
    b"agi_priority: 1\nagi_enhanced: 0.0\nagi_accountcode: \nagi_threadid: 140000000000000\n\n"
)


class FakeTransport:
    """Takes the writes; a close reaches the protocol as connection_lost, as on a socket."""

    def __init__(self, protocol: asyncio.Protocol) -> None:
        self.protocol = protocol
        self.writes = 0
        self.closing = False

    def write(self, data: bytes) -> None:
        self.writes += 1

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return ("127.0.0.1", 40000) if name == "peername" else default

    def is_closing(self) -> bool:
        return self.closing

    def close(self) -> None:
        if not self.closing:
            self.closing = True
            asyncio.get_running_loop().call_soon(self.protocol.connection_lost, None)


class BareSession(asyncio.Protocol):
    """The coroutine API with nothing else: the floor for an awaited command."""

    line = (COMMAND + "\n").encode()

    def __init__(self, commands: int) -> None:
        self.commands = commands
        self.waiting: deque[asyncio.Future[bytes]] = deque()
        self.loop = asyncio.get_running_loop()

    def connection_made(self, transport: Any) -> None:
        self.transport = transport
        self.started = False

    def data_received(self, data: bytes) -> None:
        if self.started:
            self.waiting.popleft().set_result(data)
        else:
            self.started = True
            self.task = self.loop.create_task(self.run())

    def execute(self) -> asyncio.Future[bytes]:
        future = self.loop.create_future()
        self.waiting.append(future)
        self.transport.write(self.line)
        return future

    async def run(self) -> None:
        clock = time.perf_counter_ns
        for _ in range(self.commands):
            started = clock()
            await self.execute()
            LATENCIES.append(clock() - started)
        self.transport.close()


LATENCIES: list[int] = []


def make_factory(impl: str, commands: int) -> Callable[[], asyncio.Protocol]:
    if impl == "bare":
        return lambda: BareSession(commands)
    if impl == "minimal":
        return lambda: MinimalResponder(commands, LATENCIES.append, _start_now, _nothing)
    from asteramisk.agi import AGI, FastAGIServer, core

    get = core.GetVariable("UNIQUEID")

    async def handler(agi: AGI) -> None:
        clock = time.perf_counter_ns
        for _ in range(commands):
            started = clock()
            await agi.execute(get)
            LATENCIES.append(clock() - started)

    server = FastAGIServer(port=0)
    server.add_route("bench", handler)
    return lambda: AGI(server)


def _nothing() -> None:
    pass


def _start_now(start: Callable[[float], object]) -> None:
    start(0.0)


async def settle() -> None:
    for _ in range(3):  # a wake-up, a write, a close: each may take an iteration
        await asyncio.sleep(0)


async def commands_workload(impl: str, rounds: int) -> None:
    make = make_factory(impl, rounds)
    sessions = [make() for _ in range(SESSIONS)]
    for session in sessions:
        session.connection_made(FakeTransport(session))  # type: ignore[arg-type]
        session.data_received(ENVIRONMENT)
    await settle()
    for _ in range(rounds):
        for session in sessions:
            session.data_received(ANSWER)
        await asyncio.sleep(0)  # the handlers wake and send their next command
    await settle()
    assert len(LATENCIES) == SESSIONS * rounds, (impl, len(LATENCIES))


async def calls_workload(impl: str, calls: int) -> None:
    make = make_factory(impl, 1)
    for _ in range(calls):
        session = make()
        transport = FakeTransport(session)
        session.connection_made(transport)  # type: ignore[arg-type]
        session.data_received(ENVIRONMENT)
        await settle()
        session.data_received(ANSWER)
        await settle()
        assert transport.closing, impl
    assert len(LATENCIES) == calls, (impl, len(LATENCIES))


def count(impl: str, workload: str, size: int) -> int:
    """valgrind's instruction count for one run of a workload in a process of its own."""
    run = subprocess.run(
        [
            "valgrind",
            "--tool=callgrind",
            "--callgrind-out-file=/dev/null",
            sys.executable,
            __file__,
            "_run",
            impl,
            workload,
            str(size),
        ],
        capture_output=True,
        text=True,
        check=True,
        env=server_environment(impl),
    )
    found = re.search(r"Collected : (\d+)", run.stderr)
    if found is None:
        raise SystemExit(f"no instruction count from valgrind:\n{run.stderr[-2000:]}")
    return int(found.group(1))


def per_unit(impl: str, workload: str, sizes: tuple[int, int], units: int) -> float:
    small, large = (count(impl, workload, size) for size in sizes)
    return (large - small) / units


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "_run":
        import uvloop

        impl, workload, size = sys.argv[2], sys.argv[3], int(sys.argv[4])
        run = commands_workload if workload == "commands" else calls_workload
        uvloop.run(run(impl, size))
        return
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--impls", default=",".join(IMPLEMENTATIONS))
    args = parser.parse_args()
    if shutil.which("valgrind") is None:
        raise SystemExit("valgrind is not installed: apt-get install valgrind")
    impls = args.impls.split(",")
    jobs = [(impl, workload) for impl in impls for workload in ("commands", "calls")]
    with ThreadPoolExecutor(os.cpu_count() or 1) as pool:
        figures = dict(
            zip(
                jobs,
                pool.map(
                    lambda job: (
                        per_unit(job[0], job[1], ROUNDS, SESSIONS * (ROUNDS[1] - ROUNDS[0]))
                        if job[1] == "commands"
                        else per_unit(job[0], job[1], CALLS, CALLS[1] - CALLS[0])
                    ),
                    jobs,
                ),
                strict=True,
            )
        )
    floor = figures.get(("minimal", "commands"))
    print("| server | instructions per command | vs minimal | instructions per call |")
    print("| --- | ---: | ---: | ---: |")
    for impl in impls:
        per_command = figures[impl, "commands"]
        ratio = f"{per_command / floor:.2f}x" if floor else "-"
        print(
            f"| {impl} | {per_command:,.0f} | {ratio} | {figures[impl, 'calls']:,.0f} |",
            flush=True,
        )
    print(
        f"\n{SESSIONS} sessions in one process on uvloop, no sockets; per call: environment, "
        "one command, close."
    )


if __name__ == "__main__":
    main()
