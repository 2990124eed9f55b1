"""What every object holding a socket or a task shares: ``async with``, and owned tasks.

``AsyncResource`` gives ``async with obj:`` from the object's ``_open()`` and ``close()``.
``TaskSet`` runs background coroutines the owner must cancel at close, logging any that fail.
``LISTEN_BACKLOG`` is the backlog the servers listen with. ``next_or_none`` waits for a
queue's next item unless an event ends the wait. ``until_sigterm`` lets a service manager's
SIGTERM stop an app the way Ctrl-C does: cancelled, its ``finally`` blocks run.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import threading
from collections.abc import Awaitable
from types import TracebackType
from typing import Any, Self, TypeVar

__all__ = ["LISTEN_BACKLOG", "AsyncResource", "TaskSet", "next_or_none", "until_sigterm"]

T = TypeVar("T")

LISTEN_BACKLOG = 1024
"""How many connections the kernel holds for a server while it is busy. A burst of calls opens
as many connections at once; with asyncio's default of 100 the ones beyond it wait a second
for a retry, or fail (Asterisk gives a FastAGI connection 2 seconds). Linux caps it at
``net.core.somaxconn``."""


class AsyncResource:
    """``async with`` for classes with ``async _open()`` and ``async close()``."""

    async def _open(self) -> None:
        raise NotImplementedError

    async def close(self) -> None:
        raise NotImplementedError

    async def __aenter__(self) -> Self:
        await self._open()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()


class TaskSet:
    """Background tasks owned by one object: failures logged, all cancelled by ``cancel``."""

    def __init__(self, logger: logging.Logger, what: str) -> None:
        self._tasks: set[asyncio.Task[Any]] = set()
        self._log = logger
        self._what = what

    def __len__(self) -> int:
        return len(self._tasks)

    def spawn(self, coro: Awaitable[Any]) -> asyncio.Task[Any]:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._done)
        return task

    def _done(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            self._log.error("%s failed", self._what, exc_info=task.exception())

    async def wait(self, timeout: float | None = None) -> None:
        """Wait up to ``timeout`` seconds for the tasks to finish by themselves."""
        if self._tasks:
            await asyncio.wait(list(self._tasks), timeout=timeout)

    async def cancel(self) -> None:
        """Cancel every task and wait until they are all done."""
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


async def next_or_none(queue: asyncio.Queue[T], stop: asyncio.Event, timeout: float) -> T | None:
    """The next item of ``queue``; None after ``timeout`` seconds, or once ``stop`` is set and
    the queue is empty (an item already there is returned even then)."""
    if not queue.empty():
        return queue.get_nowait()
    getter = asyncio.ensure_future(queue.get())
    stopped = asyncio.ensure_future(stop.wait())
    try:
        done, _ = await asyncio.wait(
            {getter, stopped}, timeout=timeout, return_when=asyncio.FIRST_COMPLETED
        )
    finally:
        stopped.cancel()
        if not getter.done():
            getter.cancel()
    return getter.result() if getter in done else None


async def until_sigterm(awaitable: Awaitable[T]) -> tuple[T | None, bool]:
    """Await ``awaitable``; a SIGTERM meanwhile cancels it (its ``finally`` blocks run, as on
    Ctrl-C). Returns its result and whether SIGTERM stopped it. Where SIGTERM already has a
    handler (the app's own, or an outer ``until_sigterm``), or outside the main thread, the
    signal is left alone."""
    default = signal.getsignal(signal.SIGTERM) in (signal.SIG_DFL, None)
    if not default or threading.current_thread() is not threading.main_thread():
        return await awaitable, False
    loop = asyncio.get_running_loop()
    task = asyncio.ensure_future(awaitable)
    terminated = False

    def terminate() -> None:
        nonlocal terminated
        terminated = True
        task.cancel()

    loop.add_signal_handler(signal.SIGTERM, terminate)
    try:
        return await task, False
    except asyncio.CancelledError:
        current = asyncio.current_task()
        if not terminated or (current is not None and current.cancelling()):
            raise  # cancelled from outside (Ctrl-C, the app): not ours to swallow
        logging.getLogger("asteramisk").info("SIGTERM: stopped")
        return None, True
    finally:
        loop.remove_signal_handler(signal.SIGTERM)
