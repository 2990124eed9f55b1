"""``asteramisk.run(main())``: ``asyncio.run`` on uvloop when it is installed."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any, TypeVar

__all__ = ["run"]

T = TypeVar("T")


def run(main: Coroutine[Any, Any, T], *, debug: bool | None = None) -> T:
    """Run ``main`` to completion on uvloop if ``asteramisk[uvloop]`` is installed, else on
    asyncio's own loop. Asteramisk works on both; on uvloop its FastAGI server used 0.5x to
    1.0x the CPU per command of the stock loop in the runs of ``benchmarks/RESULTS.md``."""
    try:
        import uvloop
    except ImportError:
        return asyncio.run(main, debug=debug)
    return uvloop.run(main, debug=debug)
