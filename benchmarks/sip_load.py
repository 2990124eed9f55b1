"""What the SIP load benchmarks share: SIPp runs, this process's resources, polling.

SIPp is Debian's ``sip-tester`` (``./scripts/bench`` installs it). Its calls enter the
sandbox's PSTN trunk from 127.0.0.1, which the trunk's ``identify`` matches, so they reach the
incoming context like any caller's.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from asteramisk.testing import SandboxSettings

SCENARIOS = Path(__file__).parent / "sipp"


def sipp(
    settings: SandboxSettings, number: str, port: int, options: Sequence[str]
) -> subprocess.Popen[bytes]:
    """SIPp calling ``number`` from 127.0.0.1:``port`` (RTP on ``port + 2``) with ``options``
    (``-sn``/``-sf``, ``-m``, ``-r``, ...); its screen goes to /tmp/sipp-NUMBER-PORT.log."""
    if shutil.which("sipp") is None:
        raise SystemExit("SIPp is missing: apt-get install sip-tester (./scripts/bench does)")
    command = [
        "sipp",
        f"{settings.host}:{settings.sip_port}",
        *("-s", number, "-i", "127.0.0.1", "-p", str(port), "-mp", str(port + 2)),
        *options,
        "-nostdin",
    ]
    with open(f"/tmp/sipp-{number}-{port}.log", "wb") as log:
        return subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, cwd=SCENARIOS)


def stop(processes: Sequence[subprocess.Popen[bytes]]) -> None:
    for process in processes:
        process.terminate()
    for process in processes:
        process.wait(10)


def fds() -> int:
    return len(os.listdir("/proc/self/fd"))


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def sockets() -> dict[str, int]:
    """This process's TCP sockets by the port at the far end ("listen" for listeners)."""
    output = subprocess.run(
        ["ss", "-Htanp"], capture_output=True, text=True, check=False
    ).stdout.splitlines()
    mine = [line.split() for line in output if f"pid={os.getpid()}," in line]
    ports: dict[str, int] = {}
    for fields in mine:
        key = "listen" if fields[0] == "LISTEN" else fields[4].rsplit(":", 1)[1]
        ports[key] = ports.get(key, 0) + 1
    return ports


async def wait_until(check: Any, timeout: float, step: float = 0.05) -> float | None:
    """Seconds until ``check()`` (sync or async) is true; None if not within ``timeout``."""
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        result = check()
        if asyncio.iscoroutine(result):
            result = await result
        if result:
            return time.monotonic() - started
        await asyncio.sleep(step)
    return None
