"""Processes the sandboxes start: whether one is alive, whether a chroot is in use, and the
cluster sandbox's processes, each started in a host's namespace and the sandbox's chroot,
known by name and pid (kept in a state file), stopped or killed by name."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import time
from pathlib import Path

__all__ = ["Processes", "alive", "root_in_use", "terminate"]


class Processes:
    """The processes of one cluster sandbox, by name (``node1``, ``kamailio``, ...)."""

    def __init__(self, root: Path, state_file: Path, log_dir: Path) -> None:
        self.root, self.state_file, self.log_dir = root, state_file, log_dir

    def _pids(self) -> dict[str, int]:
        try:
            return {k: int(v) for k, v in json.loads(self.state_file.read_text()).items()}
        except (OSError, ValueError, AttributeError):
            return {}

    def _save(self, pids: dict[str, int]) -> None:
        self.state_file.parent.mkdir(parents=True, exist_ok=True)
        self.state_file.write_text(json.dumps(pids))

    def start(self, name: str, command: list[str]) -> subprocess.Popen[bytes]:
        """Start ``command`` as ``name`` (its output to ``<log_dir>/<name>.log``)."""
        self.log_dir.mkdir(parents=True, exist_ok=True)
        with (self.log_dir / f"{name}.log").open("ab") as out:
            process = subprocess.Popen(
                command,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        pids = self._pids()
        pids[name] = process.pid
        self._save(pids)
        return process

    def log_tail(self, name: str, lines: int = 12) -> str:
        try:
            text = (self.log_dir / f"{name}.log").read_text(errors="replace")
        except OSError:
            return "(no log)"
        return "\n".join(text.splitlines()[-lines:])

    def pid(self, name: str) -> int | None:
        """The pid of ``name`` if it runs (and is ours: its root is the sandbox's)."""
        pid = self._pids().get(name)
        if pid is None:
            return None
        try:
            if Path(os.readlink(f"/proc/{pid}/root")) != self.root.resolve():
                return None
        except OSError:
            return None
        return pid if alive(pid) else None

    def running(self) -> list[str]:
        return [name for name in self._pids() if self.pid(name) is not None]

    def stop(self, name: str, *, kill: bool = False) -> bool:
        """Stop ``name`` and its process group (SIGTERM, then SIGKILL after 10 s; at once
        with ``kill``, the way a host dies). Returns whether it was running."""
        pid = self.pid(name)
        if pid is None:
            return False
        terminate(pid, kill=kill, group=True)
        return True

    def stop_all(self) -> list[str]:
        stopped = [name for name in list(self._pids()) if self.stop(name)]
        self.state_file.unlink(missing_ok=True)
        return stopped


def alive(pid: int) -> bool:
    try:
        status = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    if status.rsplit(")", 1)[-1].split()[0] == "Z":
        with contextlib.suppress(ChildProcessError):
            os.waitpid(pid, os.WNOHANG)
        return False
    return True


def root_in_use(root: Path) -> bool:
    """Whether a process runs in the chroot ``root`` (then its /proc must stay mounted)."""
    resolved = str(root.resolve())
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if os.readlink(entry / "root") == resolved and alive(int(entry.name)):
                    return True
            except OSError:
                continue
    return False


def terminate(pid: int, *, kill: bool = False, group: bool = False) -> None:
    """End ``pid`` (with ``group``: its process group): SIGTERM, then SIGKILL if it is still
    alive after 10 s (at once with ``kill``); returns once it is gone."""
    send = os.killpg if group else os.kill
    with contextlib.suppress(ProcessLookupError):
        send(pid, signal.SIGKILL if kill else signal.SIGTERM)
    deadline = time.monotonic() + 10
    while alive(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    if alive(pid):
        with contextlib.suppress(ProcessLookupError):
            send(pid, signal.SIGKILL)
        while alive(pid):
            time.sleep(0.05)
