"""A real Asterisk 22 to develop and test against, with no phone line and no setup.

The sandbox debootstraps Debian's ``sid`` suite (which packages Asterisk 22) into a cache
directory outside your project, once; renders Asterisk's configuration from the same
``example_configs/`` you would copy to ``/etc/asterisk`` (with loopback binds, fresh
credentials and a SIP endpoint that loops calls and texts back into Asterisk as a simulated
PSTN); and starts Asterisk in a chroot. It needs root, ``debootstrap`` and a Debian mirror.

From the shell::

    python -m asteramisk sandbox up      # provision (first time, ~2 min) and start
    eval "$(python -m asteramisk sandbox env)"   # export ASTERISK_* for your app
    python -m asteramisk sandbox down

From Python::

    sandbox = Sandbox()
    settings = sandbox.up()
    settings.apply()          # sets asteramisk.config.config from the sandbox

Set ``ASTERAMISK_SANDBOX_DIR`` to keep the cache somewhere else than
``/var/cache/asteramisk``, and ``ASTERAMISK_SANDBOX_MIRROR`` to use another Debian mirror.
"""

from __future__ import annotations

import json
import logging
import os
import re
import secrets
import shutil
import socket
import subprocess
import time
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path

from asteramisk.exceptions import SandboxError
from asteramisk.testing.netns import Netns
from asteramisk.testing.processes import alive, root_in_use, terminate
from asteramisk.testing.sandbox_config import ETC, render_config
from asteramisk.testing.sandbox_settings import SandboxSettings, ami_fully_booted, ari_answers
from asteramisk.testing.sandbox_tls import TLSFiles, ensure_certificates

__all__ = ["Sandbox", "SandboxSettings", "check_ports"]

log = logging.getLogger(__name__)

DEFAULT_DIR = "/var/cache/asteramisk"
DEFAULT_MIRROR = "http://deb.debian.org/debian"
PACKAGES = ("asterisk", "asterisk-core-sounds-en-gsm", "asterisk-moh-opsound-gsm")
"""Asterisk, its English prompts, and music on hold (the files of its ``default`` class)."""
ASTERISK = "/usr/sbin/asterisk"

Progress = Callable[[str], None]


def _apt_mirror() -> str:
    """The Debian mirror this machine's apt uses, so the sandbox fetches from the same place."""
    if os.environ.get("ASTERAMISK_SANDBOX_MIRROR"):
        return os.environ["ASTERAMISK_SANDBOX_MIRROR"]
    sources = sorted(Path("/etc/apt").glob("sources.list.d/*.sources"))
    for path in sources:
        for match in re.finditer(r"^URIs:\s*(\S+)", path.read_text(), re.MULTILINE):
            uri = match.group(1).rstrip("/")
            if uri.endswith("/debian"):
                return uri
    for path in [Path("/etc/apt/sources.list"), *Path("/etc/apt").glob("sources.list.d/*.list")]:
        if path.is_file():
            for match in re.finditer(r"^deb\s+(?:\[[^\]]*\]\s+)?(\S+)", path.read_text(), re.M):
                uri = match.group(1).rstrip("/")
                if uri.endswith("/debian"):
                    return uri
    return DEFAULT_MIRROR


class Sandbox:
    """A real Asterisk in a chroot under ``directory`` (see the module docstring)."""

    def __init__(
        self,
        directory: str | os.PathLike[str] | None = None,
        *,
        ami_port: int | None = None,
        ari_port: int | None = None,
        sip_port: int | None = None,
        remote: bool | None = None,
    ) -> None:
        self.directory = Path(directory or os.environ.get("ASTERAMISK_SANDBOX_DIR", DEFAULT_DIR))
        if remote is None:
            remote = os.environ.get("ASTERAMISK_SANDBOX_REMOTE", "") not in ("", "0", "no")
        self.netns = Netns() if remote else None
        """With ``remote`` (or ``ASTERAMISK_SANDBOX_REMOTE=1``): Asterisk in a network
        namespace of its own, at 10.99.0.2, with TLS (see :mod:`asteramisk.testing.netns`)."""
        self.root = self.directory / "sid-root"
        self.state_file = self.directory / "sandbox.json"
        self.log_file = self.directory / "asterisk.log"
        self.ami_port = ami_port or int(os.environ.get("ASTERAMISK_SANDBOX_AMI_PORT", 15038))
        self.ari_port = ari_port or int(os.environ.get("ASTERAMISK_SANDBOX_HTTP_PORT", 18088))
        self.sip_port = sip_port or int(os.environ.get("ASTERAMISK_SANDBOX_SIP_PORT", 15060))

    def __repr__(self) -> str:
        state = "running" if self.pid() else ("provisioned" if self.provisioned else "empty")
        return f"<Sandbox {str(self.directory)!r} {state}>"

    # -- provisioning --------------------------------------------------------------------

    @property
    def provisioned(self) -> bool:
        return (self.root / ASTERISK.lstrip("/")).is_file() and not self.missing_packages()

    def missing_packages(self) -> list[str]:
        """The packages of :data:`PACKAGES` not installed in the cache."""
        info = self.root / "var/lib/dpkg/info"
        return [name for name in PACKAGES if not (info / f"{name}.list").is_file()]

    def provision(self, progress: Progress = log.info) -> None:
        """Debootstrap Asterisk into the cache, unless it is there already (a cache made
        before a package was added to :data:`PACKAGES` gets it with apt)."""
        if self.provisioned:
            return
        _require_root()
        if (self.root / ASTERISK.lstrip("/")).is_file():
            missing = self.missing_packages()
            progress(f"Adding {', '.join(missing)} to the sandbox in {self.root}...")
            self.add_packages(missing)
            return
        debootstrap = shutil.which("debootstrap") or (
            "/usr/sbin/debootstrap" if Path("/usr/sbin/debootstrap").exists() else None
        )
        if debootstrap is None:
            raise SandboxError(
                "debootstrap is not installed; the sandbox needs it to fetch Asterisk. "
                "Install it with `apt-get install debootstrap` (scripts/test does this)."
            )
        mirror = _apt_mirror()
        partial = self.directory / "sid-root.partial"
        shutil.rmtree(partial, ignore_errors=True)
        self.directory.mkdir(parents=True, exist_ok=True)
        progress(
            f"Provisioning Asterisk from Debian sid ({mirror}) into {self.root}; "
            "this happens once and takes about two minutes..."
        )
        build_log = self.directory / "debootstrap.log"
        started = time.monotonic()
        with build_log.open("w") as out:
            command = [
                debootstrap,
                "--variant=minbase",
                "--include=" + ",".join(PACKAGES),
                "sid",
                str(partial),
                mirror,
            ]
            process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, text=True)
            while process.poll() is None:
                time.sleep(1)
                elapsed = time.monotonic() - started
                if int(elapsed) % 15 == 0:
                    progress(f"  ... {int(elapsed)} s: {_last_line(build_log)}")
        if process.returncode != 0:
            tail = _tail(build_log, 8)
            hint = ""
            if "Failed getting release file" in tail or "Couldn't download" in tail:
                hint = (
                    f" The mirror {mirror} could not be reached: check the network, or set "
                    "ASTERAMISK_SANDBOX_MIRROR to a Debian mirror you can reach."
                )
            raise SandboxError(
                f"debootstrap failed (exit {process.returncode}).{hint} "
                f"Last lines of {build_log}:\n{tail}"
            )
        shutil.rmtree(self.root, ignore_errors=True)  # an incomplete earlier attempt
        partial.rename(self.root)
        progress(f"Asterisk provisioned in {time.monotonic() - started:.0f} s.")

    def add_packages(self, packages: list[str]) -> None:
        """Install Debian ``packages`` into the root with its own apt."""
        _apt_install(self.root, packages, self.directory / "apt.log")

    # -- configuration -------------------------------------------------------------------

    def _credentials(self) -> SandboxSettings:
        return SandboxSettings(
            host=self.netns.address if self.netns else "127.0.0.1",
            app_host=self.netns.app_address if self.netns else "",
            ami_port=self.ami_port,
            ami_user="asteramisk",
            ami_pass=secrets.token_urlsafe(18),
            ari_port=self.ari_port,
            ari_user="asteramisk-ari",
            ari_pass=secrets.token_urlsafe(18),
            sip_port=self.sip_port,
            root=str(self.root),
            ami_tls_port=self.ami_port + 1,
            ari_tls_port=self.ari_port + 1,
            ca_file=str(self._tls().ca_file),
        )

    def _tls(self) -> TLSFiles:
        return ensure_certificates(self.directory, self.root)

    def render(self, settings: SandboxSettings) -> dict[str, str]:
        """The sandbox's Asterisk config files, rendered from ``example_configs/``."""
        return render_config(settings, self.root, self._tls() if settings.ca_file else None)

    def _write_config(self, settings: SandboxSettings) -> None:
        etc = self.root / ETC.lstrip("/")
        shutil.rmtree(etc, ignore_errors=True)
        for name, text in self.render(settings).items():
            path = etc / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text)
            path.chmod(0o600)

    # -- running -------------------------------------------------------------------------

    def up(self, progress: Progress = log.info, timeout: float = 90.0) -> SandboxSettings:
        """Provision if needed, start Asterisk, wait until it is ready; return its settings.

        If a healthy sandbox is running already, its settings are returned as they are.
        """
        running = self.settings()
        same_kind = running is not None and bool(running.app_host) == (self.netns is not None)
        if running is not None and same_kind and self._ready(running):
            return running
        _require_root()
        self.provision(progress)
        self.down()
        settings = self._credentials()
        self._start(settings, progress, timeout)
        self.cli("database deltree asteramisk_texts")  # texts kept by an earlier run: gone
        return settings

    def down(self) -> bool:
        """Stop the Asterisk this sandbox started (if any). Returns whether one was running."""
        running = self.settings(require_running=False)
        was_running = self._kill()
        self.state_file.unlink(missing_ok=True)
        if self.netns is not None or (running is not None and running.app_host):
            (self.netns or Netns()).down()  # a remote sandbox's network goes with it
        self.unmount_proc()
        return was_running

    def mount_proc(self) -> None:
        """Mount /proc in the root (Asterisk needs it), unless it is."""
        proc = self.root / "proc"
        if not os.path.ismount(proc):
            subprocess.run(["mount", "-t", "proc", "proc", str(proc)], check=True)

    def unmount_proc(self) -> None:
        """Unmount the root's /proc, unless a process (the cluster's) still runs there."""
        proc = self.root / "proc"
        if os.path.ismount(proc) and not root_in_use(self.root):
            subprocess.run(["umount", "-l", str(proc)], check=False)

    def _start(self, settings: SandboxSettings, progress: Progress, timeout: float) -> None:
        if self.netns is not None:
            self.netns.up()  # before any connection to its address: it must be ours
        check_ports(settings)
        self._write_config(settings)
        (self.root / "var/run/asterisk").mkdir(parents=True, exist_ok=True)
        (self.root / "var/spool/asterisk/recording").mkdir(parents=True, exist_ok=True)
        self.mount_proc()
        progress("Starting Asterisk...")
        conf = f"{ETC}/asterisk.conf"
        command = ["chroot", str(self.root), ASTERISK, "-f", "-n", "-q", "-C", conf]
        if self.netns is not None:
            command = self.netns.command(*command)
        with self.log_file.open("ab") as out:
            process = subprocess.Popen(
                command,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        state = {"pid": process.pid, "settings": asdict(settings)}
        self.directory.mkdir(parents=True, exist_ok=True)
        self.state_file.write_text(json.dumps(state))
        self.state_file.chmod(0o600)
        deadline = time.monotonic() + timeout
        while not self._ready(settings):
            if process.poll() is not None:
                raise SandboxError(
                    f"Asterisk exited with status {process.returncode} while starting. "
                    f"Last lines of {self.log_file}:\n{_tail(self.log_file, 12)}"
                )
            if time.monotonic() > deadline:
                self._kill()
                raise SandboxError(
                    f"Asterisk did not become ready within {timeout:.0f} s. "
                    f"Last lines of {self.log_file}:\n{_tail(self.log_file, 12)}"
                )
            time.sleep(0.2)
        progress(
            f"Asterisk is up (AMI {settings.host}:{settings.ami_port}, ARI :{settings.ari_port})."
        )

    def _kill(self) -> bool:
        pid = self.pid()
        if pid is None:
            return False
        terminate(pid)
        return True

    def pid(self) -> int | None:
        """The pid of the Asterisk this sandbox started, if it is still running."""
        try:
            pid = int(json.loads(self.state_file.read_text())["pid"])
        except (OSError, ValueError, KeyError):
            return None
        try:
            root = os.readlink(f"/proc/{pid}/root")
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
        except OSError:
            return None
        if Path(root) != self.root.resolve() or b"asterisk" not in cmdline:
            return None  # the pid was reused by another program: not ours
        return pid if alive(pid) else None

    def settings(self, *, require_running: bool = True) -> SandboxSettings | None:
        """The settings of the sandbox (None unless it is running, by default)."""
        if require_running and self.pid() is None:
            return None
        try:
            return SandboxSettings(**json.loads(self.state_file.read_text())["settings"])
        except (OSError, ValueError, KeyError, TypeError):
            return None

    def status(self) -> dict[str, object]:
        """A summary for ``sandbox status``."""
        pid = self.pid()
        info: dict[str, object] = {
            "directory": str(self.directory),
            "provisioned": self.provisioned,
            "running": pid is not None,
            "pid": pid,
        }
        if pid is not None:
            info["version"] = self.cli("core show version").strip()
            info["uptime"] = self.cli("core show uptime seconds").strip().replace("\n", "; ")
        return info

    def cli(self, command: str, timeout: float = 20.0) -> str:
        """Run an Asterisk CLI command in the running sandbox and return its output."""
        if self.pid() is None:
            raise SandboxError("The sandbox is not running; start it with `sandbox up`.")
        result = subprocess.run(
            ["chroot", str(self.root), ASTERISK, "-C", f"{ETC}/asterisk.conf", "-rx", command],
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        return result.stdout

    # -- readiness -----------------------------------------------------------------------

    def _ready(self, settings: SandboxSettings) -> bool:
        return ami_fully_booted(settings) and ari_answers(settings)


def _tail(path: Path, lines: int) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def _last_line(path: Path) -> str:
    return _tail(path, 1)[:120]


def _require_root() -> None:
    if os.geteuid() != 0:
        raise SandboxError(
            "The sandbox needs root (it runs debootstrap, mount and chroot). Run it as root, "
            "or point ASTERISK_HOST and the ASTERISK_* credentials at an Asterisk you run."
        )


def check_ports(settings: SandboxSettings) -> None:
    """Refuse to start when a port of ``settings`` is taken by another program."""
    ports = (
        ("AMI", settings.ami_port),
        ("http", settings.ari_port),
        ("AMI over TLS", settings.ami_tls_port),
        ("https", settings.ari_tls_port),
    )
    for name, port in ports:
        with socket.socket() as probe:
            if probe.connect_ex((settings.host, port)) == 0:
                raise SandboxError(
                    f"Port {port} ({name}) on {settings.host} is taken by another program. "
                    "Stop it, or choose other sandbox ports with "
                    "ASTERAMISK_SANDBOX_AMI_PORT / ASTERAMISK_SANDBOX_HTTP_PORT."
                )


def _apt_install(root: Path, packages: list[str], log_file: Path) -> None:
    """Install ``packages`` into the Debian tree at ``root`` with its own apt."""
    environment = {"DEBIAN_FRONTEND": "noninteractive", "PATH": "/usr/sbin:/usr/bin:/sbin:/bin"}
    with log_file.open("w") as out:
        # A mirror's snapshot of sid may be older than its Valid-Until (debootstrap does
        # not check it either).
        apt = ["apt-get", "-q", "-o", "Acquire::Check-Valid-Until=false"]
        for command in (
            [*apt, "update"],
            [*apt, "install", "-y", "--no-install-recommends", *packages],
        ):
            done = subprocess.run(
                ["chroot", str(root), *command],
                stdout=out,
                stderr=subprocess.STDOUT,
                env=environment,
                check=False,
            )
            if done.returncode != 0:
                raise SandboxError(
                    f"Could not add {', '.join(packages)} to the sandbox ({' '.join(command)} "
                    f"exited {done.returncode}). Last lines of {log_file}:\n"
                    f"{_tail(log_file, 8)}\nRemove {root.parent} to provision it anew."
                )
