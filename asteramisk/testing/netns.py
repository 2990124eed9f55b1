"""The remote sandbox's network: Asterisk in a network namespace of its own, at its own
address, the app on the other end of a veth pair, as if Asterisk ran on another host.

::

    ip netns add asteramisk-remote
    ip link add am-host type veth peer name am-remote netns asteramisk-remote
    ip addr add 10.99.0.1/24 dev am-host            # the app's side
    ip -n asteramisk-remote addr add 10.99.0.2/24 dev am-remote   # Asterisk's

Nothing but these two ends is on that network: test traffic never leaves the machine.
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass

from asteramisk.exceptions import SandboxError

__all__ = ["Netns", "ip"]


@dataclass(frozen=True)
class Netns:
    """A namespace ``name`` reached from this machine through a veth pair."""

    name: str = "asteramisk-remote"
    app_address: str = "10.99.0.1"
    address: str = "10.99.0.2"
    prefix: int = 24
    host_link: str = "am-host"
    remote_link: str = "am-remote"

    def exists(self) -> bool:
        result = ip("netns", "list", check=False)
        return any(line.split()[0] == self.name for line in result.splitlines() if line.strip())

    def up(self) -> None:
        """Create the namespace and its link (idempotent)."""
        if self.exists():
            return
        ip("netns", "add", self.name)
        try:
            ip(
                "link", "add", self.host_link, "type", "veth",
                "peer", "name", self.remote_link, "netns", self.name,
            )  # fmt: skip
            ip("addr", "add", f"{self.app_address}/{self.prefix}", "dev", self.host_link)
            ip("link", "set", self.host_link, "up")
            inside = ("-n", self.name)
            ip(*inside, "addr", "add", f"{self.address}/{self.prefix}", "dev", self.remote_link)
            ip(*inside, "link", "set", self.remote_link, "up")
            ip(*inside, "link", "set", "lo", "up")
        except SandboxError:
            self.down()
            raise

    def down(self) -> None:
        """Remove the namespace; its end of the veth pair, and so ours, goes with it."""
        if self.exists():
            ip("netns", "del", self.name, check=False)
        ip("link", "del", self.host_link, check=False)  # if the pair outlived it

    def command(self, *argv: str) -> list[str]:
        """``argv`` run inside the namespace."""
        return ["ip", "netns", "exec", self.name, *argv]


def ip(*argv: str, check: bool = True) -> str:
    """Run ``ip argv`` (iproute2); its output. With ``check``, a failure raises SandboxError."""
    result = subprocess.run(["ip", *argv], capture_output=True, text=True, check=False)
    if check and result.returncode != 0:
        raise SandboxError(
            f"`ip {' '.join(argv)}` failed: {result.stderr.strip()}. The sandbox's networks "
            "need root and iproute2 (`apt-get install iproute2`)."
        )
    return result.stdout
