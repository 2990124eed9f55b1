"""What the SIP load benchmarks share: SIPp runs, this process's resources, polling.

SIPp is Debian's ``sip-tester`` (``./scripts/bench`` installs it). Its calls enter the
sandbox's PSTN trunk from 127.0.0.1, which the trunk's ``identify`` matches, so they reach the
incoming context like any caller's.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import struct
import subprocess
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

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


def ulaw(pcm: bytes) -> bytes:
    """16-bit PCM as G.711 mu-law bytes (the 16-bit form of the encoder)."""
    x = np.frombuffer(pcm, dtype=np.int16).astype(np.int32)
    sign = (x < 0).astype(np.int32)
    magnitude = np.minimum(np.abs(x), 32635) + 0x84
    exponent = np.floor(np.log2(magnitude)).astype(np.int32) - 7
    mantissa = (magnitude >> (exponent + 3)) & 0x0F
    return (~((sign << 7) | (exponent << 4) | mantissa) & 0xFF).astype(np.uint8).tobytes()


def write_pcap(path: Path, pcm: bytes) -> None:
    """8 kHz ``pcm`` as the RTP SIPp's ``play_pcap_audio`` sends: PCMU, 20 ms packets."""
    encoded = ulaw(pcm)
    records = [struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1)]  # Ethernet
    for number, start in enumerate(range(0, len(encoded) - 159, 160)):
        rtp = (
            struct.pack("!BBHII", 0x80, 0, number & 0xFFFF, number * 160, 0x50A4)
            + encoded[start : start + 160]
        )
        udp = struct.pack("!HHHH", 6000, 6002, 8 + len(rtp), 0) + rtp
        ip = struct.pack(
            "!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), 0, 0, 64, 17, 0, b"\x7f\0\0\1", b"\x7f\0\0\1"
        )
        frame = b"\0" * 12 + b"\x08\x00" + ip + udp
        micros = number * 20_000
        records.append(
            struct.pack("<IIII", micros // 1_000_000, micros % 1_000_000, len(frame), len(frame))
        )
        records.append(frame)
    path.write_bytes(b"".join(records))


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
