"""The ``asteramisk`` command line: ``demo``, ``doctor``, ``sandbox up|down|status|env|cli``
(``--cluster``: the cluster sandbox, two Asterisk nodes behind Kamailio, and Redis)."""

from __future__ import annotations

import argparse
import shlex
import sys
from collections.abc import Sequence

from asteramisk.exceptions import AsteramiskException

__all__ = ["main"]


def _progress(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _cluster(args: argparse.Namespace) -> int:
    from asteramisk.testing.cluster import ClusterSandbox

    cluster = ClusterSandbox()
    if args.action == "up":
        cluster.up(progress=_progress)
        _progress('Load its settings with:  eval "$(python -m asteramisk sandbox env --cluster)"')
    elif args.action == "down":
        _progress("Cluster stopped." if cluster.down() else "The cluster was not running.")
    elif args.action == "status":
        for key, value in cluster.status().items():
            print(f"{key}: {value}")
        return 0 if cluster.settings() else 3
    elif args.action == "env":
        running = cluster.settings()
        if running is None:
            _progress("The cluster is not running; start it with `sandbox up --cluster`.")
            return 3
        for name, value in running.env().items():
            print(f"export {name}={shlex.quote(value)}")
    elif args.action == "cli":
        node, *command = args.cli_args or ["node1"]
        print(cluster.cli(node, " ".join(command) or "core show version"), end="")
    return 0


def _sandbox(args: argparse.Namespace) -> int:
    if args.cluster:
        return _cluster(args)
    from asteramisk.testing.sandbox import Sandbox

    sandbox = Sandbox()
    if args.action == "up":
        settings = sandbox.up(progress=_progress)
        _progress(f"Sandbox running (pid {sandbox.pid()}). Load its settings with:")
        _progress('    eval "$(python -m asteramisk sandbox env)"')
        del settings
    elif args.action == "down":
        stopped = sandbox.down()
        _progress("Sandbox stopped." if stopped else "The sandbox was not running.")
    elif args.action == "status":
        for key, value in sandbox.status().items():
            print(f"{key}: {value}")
        return 0 if sandbox.pid() else 3
    elif args.action == "env":
        running = sandbox.settings()
        if running is None:
            _progress("The sandbox is not running; start it with `asteramisk sandbox up`.")
            return 3
        for name, value in running.env().items():
            print(f"export {name}={shlex.quote(value)}")
    elif args.action == "cli":
        print(sandbox.cli(" ".join(args.cli_args) or "core show version"), end="")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="asteramisk", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    sandbox = commands.add_parser("sandbox", help="a real Asterisk 22 for development and tests")
    sandbox.add_argument("action", choices=["up", "down", "status", "env", "cli"])
    sandbox.add_argument("cli_args", nargs="*", help="with `cli`: the Asterisk CLI command")
    sandbox.add_argument(
        "--cluster",
        action="store_true",
        help="two Asterisk nodes behind Kamailio, and Redis (with `cli`: the node first)",
    )
    commands.add_parser("demo", help="a real call against the sandbox, with its transcript")
    commands.add_parser("doctor", help="check your Asterisk setup and say how to fix it")
    args = parser.parse_args(argv)
    try:
        if args.command == "sandbox":
            return _sandbox(args)
        if args.command == "demo":
            from asteramisk.demo import run_demo

            return run_demo()
        if args.command == "doctor":
            from asteramisk.doctor import run_doctor

            return run_doctor()
    except AsteramiskException as exc:
        print(f"asteramisk: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    return 2


if __name__ == "__main__":
    sys.exit(main())
