"""The cluster sandbox's network: a bridge on this machine and one network namespace per host
(each Asterisk node, Kamailio, Redis, each app host), every one with an address of its own,
as if they were separate machines on one LAN.

::

    ip link add am-cluster type bridge                  # the LAN, 10.99.1.0/24
    ip addr add 10.99.1.1/24 dev am-cluster             # this machine on it
    ip netns add am-node1                               # one host
    ip link add am-node1 type veth peer name eth0 netns am-node1
    ip link set am-node1 master am-cluster
    ip -n am-node1 addr add 10.99.1.11/24 dev eth0

Nothing but these hosts is on that network: test traffic never leaves the machine.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from asteramisk.exceptions import SandboxError
from asteramisk.testing.netns import ip

__all__ = ["ClusterNet", "Host"]

BRIDGE = "am-cluster"
PREFIX = "10.99.1"


@dataclass(frozen=True)
class Host:
    """One host of the cluster: a network namespace ``name`` at ``address``."""

    name: str
    address: str

    def command(self, *argv: str) -> list[str]:
        """``argv`` run on this host (inside its namespace)."""
        return ["ip", "netns", "exec", self.name, *argv]


@dataclass(frozen=True)
class ClusterNet:
    """The bridge and the hosts on it (see the module docstring)."""

    bridge: str = BRIDGE
    address: str = f"{PREFIX}.1"
    """This machine's address on the cluster's LAN (where an app run here listens)."""
    hosts: dict[str, Host] = field(
        default_factory=lambda: {
            "node1": Host("am-node1", f"{PREFIX}.11"),
            "node2": Host("am-node2", f"{PREFIX}.12"),
            "sip": Host("am-sip", f"{PREFIX}.10"),
            "redis": Host("am-redis", f"{PREFIX}.20"),
            "app1": Host("am-app1", f"{PREFIX}.21"),
            "app2": Host("am-app2", f"{PREFIX}.22"),
        }
    )

    @property
    def subnet(self) -> str:
        return f"{PREFIX}.0/24"

    def exists(self) -> bool:
        return bool(ip("link", "show", self.bridge, check=False).strip())

    def up(self) -> None:
        """Create the bridge and every host (idempotent: a complete network is kept)."""
        if self.exists() and all(_netns_exists(h.name) for h in self.hosts.values()):
            return
        self.down()
        try:
            ip("link", "add", self.bridge, "type", "bridge")
            ip("addr", "add", f"{self.address}/24", "dev", self.bridge)
            ip("link", "set", self.bridge, "up")
            for host in self.hosts.values():
                ip("netns", "add", host.name)
                ip("link", "add", host.name, "type", "veth", "peer", "name", "eth0",
                    "netns", host.name)  # fmt: skip
                ip("link", "set", host.name, "master", self.bridge)
                ip("link", "set", host.name, "up")
                inside = ("-n", host.name)
                ip(*inside, "addr", "add", f"{host.address}/24", "dev", "eth0")
                ip(*inside, "link", "set", "eth0", "up")
                ip(*inside, "link", "set", "lo", "up")
        except SandboxError:
            self.down()
            raise

    def down(self) -> None:
        """Remove every host and the bridge (their veth pairs go with them)."""
        for host in self.hosts.values():
            if _netns_exists(host.name):
                ip("netns", "del", host.name, check=False)
            ip("link", "del", host.name, check=False)
        ip("link", "del", self.bridge, check=False)


def _netns_exists(name: str) -> bool:
    listed = ip("netns", "list", check=False)
    return any(line.split()[0] == name for line in listed.splitlines() if line.strip())
