"""SIGUSR2: log every asyncio task with its whole await chain, to see where a stalled worker waits.

mode's SIGUSR1 dump stops at each task's outer coroutine (an agent shows as ``await coro``); this one
follows ``cr_await``/``ag_await`` down to the innermost frame, so an agent blocked on a semaphore, a
queue or a lock shows the line it waits on.
"""

from __future__ import annotations

import asyncio
import logging
import signal
from typing import Any

log = logging.getLogger(__name__)


def await_chain(task: asyncio.Task[Any]) -> list[str]:
    """``file:line in function`` of each coroutine or async generator the task is suspended in, outermost first."""
    chain: list[str] = []
    awaitable: Any = task.get_coro()
    for _ in range(200):  # a cycle-proof bound; real chains are a few dozen deep
        frame = getattr(awaitable, "cr_frame", None) or getattr(awaitable, "ag_frame", None)
        if frame is None:
            if awaitable is not None:
                chain.append(f"<{type(awaitable).__name__}>")
            break
        chain.append(f"{frame.f_code.co_filename}:{frame.f_lineno} in {frame.f_code.co_name}")
        awaitable = getattr(awaitable, "cr_await", None) or getattr(awaitable, "ag_await", None)
    return chain


def dump_tasks() -> int:
    """Log each task of the running loop with its await chain; returns how many."""
    tasks = asyncio.all_tasks()
    for task in sorted(tasks, key=lambda t: t.get_name()):
        log.warning("task %s:\n  %s", task.get_name(), "\n  ".join(await_chain(task)))
    return len(tasks)


def install(loop: asyncio.AbstractEventLoop | None = None) -> None:
    """Dump on SIGUSR2 (the worker's loop)."""
    (loop or asyncio.get_running_loop()).add_signal_handler(signal.SIGUSR2, dump_tasks)
