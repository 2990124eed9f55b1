"""The cluster sandbox: two Asterisk nodes, a Kamailio dispatcher in front of them and a Redis
server, each on a host of its own (a network namespace; see
:mod:`asteramisk.testing.cluster_net`), all from the sandbox's Debian ``sid`` root.

::

    python -m asteramisk sandbox up --cluster
    eval "$(python -m asteramisk sandbox env --cluster)"   # ASTERISK_HOSTS, REDIS_URL, ...
    python -m asteramisk sandbox down --cluster

The simulated PSTN goes through Kamailio: each node's ``pstn`` trunk points at it
(``example_configs/cluster/pjsip.conf``), and Kamailio spreads what comes in over the live
nodes (``example_configs/cluster/kamailio.cfg`` and ``dispatcher.list``), so a VirtualPhone on
either node reaches the numbers on both. The nodes share one set of AMI and ARI credentials
(over TLS: the certificate names both), the app listens at this machine's address on the
cluster's LAN (10.99.1.1), and Redis asks for a password.

Tests stop and start parts by name (``node1``, ``node2``, ``kamailio``, ``redis``) with
:meth:`ClusterSandbox.stop` and :meth:`ClusterSandbox.start`.
"""

from __future__ import annotations

import json
import logging
import os
import secrets
import socket
import subprocess
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from urllib.parse import urlsplit

from asteramisk.exceptions import SandboxError
from asteramisk.testing import confedit
from asteramisk.testing.cluster_net import ClusterNet, Host
from asteramisk.testing.processes import Processes
from asteramisk.testing.sandbox import ASTERISK, Sandbox
from asteramisk.testing.sandbox_config import example_configs, render_config
from asteramisk.testing.sandbox_settings import SandboxSettings, ami_fully_booted, ari_answers
from asteramisk.testing.sandbox_tls import TLSFiles, ensure_certificates

__all__ = ["CLUSTER_PACKAGES", "ClusterSandbox", "ClusterSettings"]

log = logging.getLogger(__name__)

CLUSTER_PACKAGES = ("kamailio", "redis-server")
NODES = ("node1", "node2")
ETC = "/etc/asteramisk-cluster"  # inside the chroot
SIP_PORT = 5060
REDIS_PORT = 6379

Progress = Callable[[str], None]


@dataclass(frozen=True)
class ClusterSettings:
    """How to reach a running cluster sandbox."""

    node: SandboxSettings
    """The first node's settings; the others differ only in their address."""
    hosts: tuple[str, ...]
    """Every node's address (``ASTERISK_HOSTS``)."""
    kamailio: str
    """Kamailio's SIP address, ``host:port``: where the carrier (and SIPp) sends calls."""
    redis_url: str

    @property
    def redis_password(self) -> str:
        return urlsplit(self.redis_url).password or ""

    def for_node(self, index: int) -> SandboxSettings:
        return replace(self.node, host=self.hosts[index])

    def env(self) -> dict[str, str]:
        """The app's environment: every node, TLS, Redis, the app on the cluster's LAN."""
        env = self.node.env()
        env.update(
            {
                "ASTERISK_HOSTS": ",".join(self.hosts),
                "AGI_ALLOWED_CLIENTS": ",".join(self.hosts),
                "ASTERISK_PSTN_GATEWAY_HOST": self.kamailio.split(":")[0],
                "ASTERISK_PSTN_GATEWAY_PORT": self.kamailio.split(":")[1],
                "REDIS_URL": self.redis_url,
                "ASTERAMISK_SANDBOX_CLUSTER": "1",
            }
        )
        env.pop("ASTERAMISK_SANDBOX_REMOTE", None)
        return env


class ClusterSandbox:
    """Two Asterisk nodes, Kamailio and Redis (see the module docstring)."""

    def __init__(self, directory: str | os.PathLike[str] | None = None) -> None:
        self.base = Sandbox(directory)
        self.directory = self.base.directory / "cluster"
        self.root = self.base.root
        self.net = ClusterNet()
        self.settings_file = self.directory / "settings.json"
        self.procs = Processes(self.root, self.directory / "pids.json", self.directory / "logs")

    @property
    def nodes(self) -> dict[str, Host]:
        return {name: self.net.hosts[name] for name in NODES}

    # -- provisioning ----------------------------------------------------------------------

    def provision(self, progress: Progress = log.info) -> None:
        """The sandbox's sid root, with Kamailio and Redis added (from Debian, once)."""
        self.base.provision(progress)
        info = self.root / "var/lib/dpkg/info"
        missing = [p for p in CLUSTER_PACKAGES if not (info / f"{p}.list").is_file()]
        if missing:
            progress(f"Adding {', '.join(missing)} to the sandbox in {self.root}...")
            self.base.add_packages(missing)

    # -- running ---------------------------------------------------------------------------

    def settings(self) -> ClusterSettings | None:
        """The running cluster's settings (None unless every part runs)."""
        if set(self.procs.running()) != {*NODES, "kamailio", "redis"}:
            return None
        return self._saved()

    def _saved(self) -> ClusterSettings | None:
        """The settings the last ``up`` wrote (None if there are none)."""
        try:
            data = json.loads(self.settings_file.read_text())
            return ClusterSettings(
                node=SandboxSettings(**data["node"]),
                hosts=tuple(data["hosts"]),
                kamailio=data["kamailio"],
                redis_url=data["redis_url"],
            )
        except (OSError, ValueError, KeyError, TypeError):
            return None

    def up(self, progress: Progress = log.info, timeout: float = 90.0) -> ClusterSettings:
        """Provision if needed and start every part; its settings once all are ready. A
        cluster that runs already is kept as it is."""
        running = self.settings()
        if running is not None:
            return running
        self.provision(progress)
        self.down()
        self.net.up()
        settings = self._fresh_settings()
        self._write_config(settings)
        self.directory.mkdir(parents=True, exist_ok=True)
        self.settings_file.write_text(json.dumps(_as_json(settings)))
        self.settings_file.chmod(0o600)
        self.base.mount_proc()
        for name in (*NODES, "kamailio", "redis"):
            self.start(name, timeout=timeout, settings=settings)
        progress(
            f"Cluster up: Asterisk at {', '.join(settings.hosts)}, Kamailio at "
            f"{settings.kamailio}, Redis at {self.net.hosts['redis'].address}:{REDIS_PORT}."
        )
        return settings

    def down(self) -> bool:
        """Stop every part and remove the network. Returns whether any part was running."""
        stopped = self.procs.stop_all()
        self.net.down()
        self.settings_file.unlink(missing_ok=True)
        self.base.unmount_proc()  # unless the single sandbox runs
        return bool(stopped)

    def start(
        self, name: str, *, timeout: float = 60.0, settings: ClusterSettings | None = None
    ) -> None:
        """Start one part (``node1``, ``node2``, ``kamailio``, ``redis``) and wait until it
        answers: a node or Redis stopped by a test comes back with what it had."""
        settings = settings or self.settings_or_fail()
        if self.procs.pid(name) is not None:
            return
        process = self.procs.start(name, self._command(name, settings))
        ready = self._readiness(name, settings)
        deadline = time.monotonic() + timeout
        while not ready():
            if process.poll() is not None:
                raise SandboxError(
                    f"{name} exited with status {process.returncode} while starting:\n"
                    f"{self.procs.log_tail(name)}"
                )
            if time.monotonic() > deadline:
                self.procs.stop(name, kill=True)
                raise SandboxError(
                    f"{name} did not become ready within {timeout:.0f} s:\n"
                    f"{self.procs.log_tail(name)}"
                )
            time.sleep(0.2)

    def stop(self, name: str, *, kill: bool = True) -> bool:
        """Stop one part; by default the way a host dies (SIGKILL, nothing said to anyone)."""
        return self.procs.stop(name, kill=kill)

    def settings_or_fail(self) -> ClusterSettings:
        saved = self._saved()
        if saved is None:
            raise SandboxError("The cluster sandbox is not up: `sandbox up --cluster`.")
        return saved

    def cli(self, node: str, command: str, timeout: float = 20.0) -> str:
        """Run an Asterisk CLI command on ``node`` and return its output."""
        conf = f"{ETC}/{node}/asterisk.conf"
        result = subprocess.run(
            ["chroot", str(self.root), ASTERISK, "-C", conf, "-rx", command],
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        return result.stdout

    def status(self) -> dict[str, object]:
        running = self.procs.running()
        return {
            "directory": str(self.directory),
            "running": sorted(running),
            "up": self.settings() is not None,
        }

    # -- configuration ---------------------------------------------------------------------

    def _fresh_settings(self) -> ClusterSettings:
        hosts = tuple(h.address for h in self.nodes.values())
        tls = self._tls()
        node = SandboxSettings(
            host=hosts[0],
            app_host=self.net.address,
            ami_port=5038,
            ami_user="asteramisk",
            ami_pass=secrets.token_urlsafe(18),
            ari_port=8088,
            ari_user="asteramisk-ari",
            ari_pass=secrets.token_urlsafe(18),
            sip_port=SIP_PORT,
            root=str(self.root),
            ami_tls_port=5039,
            ari_tls_port=8089,
            ca_file=str(tls.ca_file),
        )
        redis = self.net.hosts["redis"].address
        password = secrets.token_urlsafe(18)
        return ClusterSettings(
            node=node,
            hosts=hosts,
            kamailio=f"{self.net.hosts['sip'].address}:{SIP_PORT}",
            redis_url=f"redis://:{password}@{redis}:{REDIS_PORT}/0",
        )

    def _tls(self) -> TLSFiles:
        names = tuple(f"IP:{h.address}" for h in self.nodes.values())
        return ensure_certificates(
            self.base.directory,
            self.root,
            names=names,
            where="/var/lib/asteramisk-cluster-tls",
            kind="cluster-tls",
        )

    def _write_config(self, settings: ClusterSettings) -> None:
        etc = self.root / ETC.lstrip("/")
        for index, name in enumerate(NODES):
            node = settings.for_node(index)
            files = render_config(node, self.root, self._tls())
            files.update(self._node_files(name, node, files, settings))
            _write_tree(etc / name, files)
        sources = example_configs() / "cluster"
        dispatcher = "".join(
            line
            for line in (sources / "dispatcher.list").read_text().splitlines(keepends=True)
            if line.startswith("#")
        )
        dispatcher += "".join(f"1 sip:{host}:{SIP_PORT} 8 0\n" for host in settings.hosts)
        _write_tree(
            etc,
            {
                "kamailio.cfg": (sources / "kamailio.cfg").read_text(),
                "dispatcher.list": dispatcher,
            },
        )

    def _node_files(
        self, name: str, node: SandboxSettings, files: dict[str, str], cluster: ClusterSettings
    ) -> dict[str, str]:
        edit = confedit
        kamailio = cluster.kamailio.split(":")[0]
        pjsip = (example_configs() / "cluster" / "pjsip.conf").read_text()
        pjsip = edit.set_option(pjsip, "transport-udp", "bind", f"{node.host}:{SIP_PORT}")
        pjsip = edit.set_option(pjsip, "pstn", "contact", f"sip:{cluster.kamailio}", type_="aor")
        pjsip = edit.set_option(pjsip, "pstn", "context", node.call_context, type_="endpoint")
        pjsip = edit.set_option(
            pjsip, "pstn", "message_context", node.text_context, type_="endpoint"
        )
        pjsip = edit.set_option(pjsip, "pstn-identify", "match", kamailio)
        manager = edit.set_option(
            files["manager.d/asteramisk.conf"], node.ami_user, "permit", "10.99.1.0/255.255.255.0"
        )
        conf = files["asterisk.conf"].replace(
            "astetcdir => /etc/asteramisk-sandbox", f"astetcdir => {ETC}/{name}"
        )
        for key, path in (
            ("astrundir", "/var/run/asterisk"),
            ("astspooldir", "/var/spool/asterisk"),
            ("astlogdir", "/var/log/asterisk"),
            ("astdbdir", "/var/lib/asterisk"),
        ):
            conf = conf.replace(f"{key} => {path}", f"{key} => {path}-{name}")
            (self.root / f"{path.lstrip('/')}-{name}").mkdir(parents=True, exist_ok=True)
        (self.root / f"var/spool/asterisk-{name}/recording").mkdir(parents=True, exist_ok=True)
        people = (
            f"\n[{node.text_context}](+)\n"
            "; The cluster sandbox's people: 7000000-7999999 answer each text with "
            '"re: <the text>", through Kamailio like any text.\n'
            "exten => _7XXXXXX,1,Set(ASKER=${CUT(CUT(MESSAGE(from),@,1),:,2)})\n"
            " same => n,Set(MESSAGE(body)=re: ${MESSAGE(body)})\n"
            f" same => n,MessageSend(pjsip:pstn/sip:${{ASKER}}@{cluster.kamailio},"
            f'"Person" <sip:${{EXTEN}}@{kamailio}>)\n'
            " same => n,Hangup()\n"
        )
        return {
            "pjsip.conf": pjsip,
            "manager.d/asteramisk.conf": manager,
            "asterisk.conf": conf,
            "extensions.conf": files["extensions.conf"] + people,
        }

    def _command(self, name: str, settings: ClusterSettings) -> list[str]:
        chroot = ["chroot", str(self.root)]
        if name in NODES:
            conf = f"{ETC}/{name}/asterisk.conf"
            return self.net.hosts[name].command(*chroot, ASTERISK, "-f", "-n", "-q", "-C", conf)
        if name == "kamailio":
            return self.net.hosts["sip"].command(
                *chroot,
                "/usr/sbin/kamailio",
                "-DD",
                "-E",
                "-f",
                f"{ETC}/kamailio.cfg",
                "-A",
                f"LISTEN=udp:{settings.kamailio}",
                "-A",
                f'DISPATCHER_LIST="{ETC}/dispatcher.list"',
            )
        if name == "redis":
            data = "/var/lib/asteramisk-cluster-redis"
            (self.root / data.lstrip("/")).mkdir(parents=True, exist_ok=True)
            return self.net.hosts["redis"].command(
                *chroot,
                "/usr/bin/redis-server",
                "--bind", self.net.hosts["redis"].address,
                "--port", str(REDIS_PORT),
                "--requirepass", settings.redis_password,
                "--dir", data,
                "--appendonly", "yes",
                "--save", "",
            )  # fmt: skip
        raise SandboxError(f"No part of the cluster is called {name!r}")

    def _readiness(self, name: str, settings: ClusterSettings) -> Callable[[], bool]:
        if name in NODES:
            node = settings.for_node(NODES.index(name))
            return lambda: ami_fully_booted(node) and ari_answers(node)
        if name == "kamailio":
            host, port = settings.kamailio.split(":")
            return lambda: _sip_answers(host, int(port))
        redis_host = self.net.hosts["redis"].address
        return lambda: _redis_answers(redis_host, REDIS_PORT, settings.redis_password)


def _as_json(settings: ClusterSettings) -> dict[str, object]:
    return {
        "node": asdict(settings.node),
        "hosts": list(settings.hosts),
        "kamailio": settings.kamailio,
        "redis_url": settings.redis_url,
    }


def _write_tree(directory: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        path = directory / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        path.chmod(0o600)


def _sip_answers(host: str, port: int) -> bool:
    """Whether a SIP server answers an OPTIONS at ``host:port`` (any answer will do)."""
    branch = secrets.token_hex(8)
    request = (
        f"OPTIONS sip:{host}:{port} SIP/2.0\r\n"
        f"Via: SIP/2.0/UDP 10.99.1.1:5099;rport;branch=z9hG4bK{branch}\r\n"
        "Max-Forwards: 70\r\n"
        f"From: <sip:probe@10.99.1.1>;tag={branch}\r\n"
        f"To: <sip:{host}:{port}>\r\n"
        f"Call-ID: {branch}@asteramisk\r\n"
        "CSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n"
    )
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.settimeout(0.5)
        try:
            sock.sendto(request.encode(), (host, port))
            data = sock.recv(4096)
        except OSError:
            return False
    return data.startswith(b"SIP/2.0")


def _redis_answers(host: str, port: int, password: str) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1.0) as sock:
            sock.sendall(f"AUTH {password}\r\nPING\r\n".encode())
            data = b""
            while b"PONG" not in data:
                chunk = sock.recv(256)
                if not chunk:
                    return False
                data += chunk
            return True
    except OSError:
        return False
