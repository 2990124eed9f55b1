"""``asteramisk.run(main())``: ``asyncio.run`` on uvloop when it is installed, and a clean stop
on SIGTERM as on Ctrl-C."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any, TypeVar

from asteramisk.lifecycle import until_sigterm

__all__ = ["run"]

T = TypeVar("T")


def run(main: Coroutine[Any, Any, T], *, debug: bool | None = None) -> T:
    """Run ``main`` to completion on uvloop if ``asteramisk[uvloop]`` is installed, else on
    asyncio's own loop. Asteramisk works on both; on uvloop its FastAGI server used 0.5x to
    1.0x the CPU per command of the stock loop in the runs of ``benchmarks/RESULTS.md``.

    SIGTERM (a service manager stopping the app) cancels ``main`` as Ctrl-C does: its
    ``finally`` blocks run and a ``Server`` removes its numbers from the dialplan; then the
    program exits with status 0 (``SystemExit``)."""
    try:
        import uvloop
    except ImportError:
        return asyncio.run(_terminable(main), debug=debug)
    return uvloop.run(_terminable(main), debug=debug)


async def _terminable(main: Coroutine[Any, Any, T]) -> T:
    result, terminated = await until_sigterm(main)
    if terminated:
        raise SystemExit(0)
    return result  # type: ignore[return-value]  # None only when terminated
