"""Waiting for something a real external process does (Chromium, a worker, a broker), which has no clock to inject.

`until` polls a condition and fails the test after `timeout_s` with what it
waited for. The timeout is only a bound for a hung process: a test never
asserts on how long the wait took.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any

POLL_S = 0.01


async def until(condition: Callable[[], Any | Awaitable[Any]], *, timeout_s: float, what: str) -> Any:
    """The first truthy value of `condition()` (a function or a coroutine function), polled every 10 ms."""
    deadline = time.monotonic() + timeout_s
    while True:
        value = condition()
        if asyncio.iscoroutine(value):
            value = await value
        if value:
            return value
        assert time.monotonic() < deadline, f"gave up after {timeout_s:g} s waiting for {what}"
        await asyncio.sleep(POLL_S)
