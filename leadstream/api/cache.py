"""A value that is costly to make, reused for a while: the counts behind GET /v1/stats.

`CachedValue.get()` returns the last value while it is younger than `ttl_s` on `clock`; otherwise it
loads a new one. Callers that arrive while a load runs await that same load (one count for a burst,
not one per request), and a failed load is not kept: the next caller tries again.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar

T = TypeVar("T")


class CachedValue(Generic[T]):
    def __init__(
        self, load: Callable[[], Awaitable[T]], ttl_s: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.load, self.ttl_s, self.clock = load, ttl_s, clock
        self.loads = 0  # how many times `load` was called (tests and metrics)
        self._value: tuple[float, T] | None = None  # (clock when its load began, value)
        self._pending: asyncio.Task[T] | None = None

    async def get(self) -> T:
        if self.ttl_s <= 0:
            self.loads += 1
            return await self.load()
        if self._value is not None and self.clock() - self._value[0] < self.ttl_s:
            return self._value[1]
        if self._pending is None:
            self._pending = asyncio.ensure_future(self._refresh())
            self._pending.add_done_callback(self._settled)
        # shielded: a caller that goes away (a client hung up) does not cancel the others' load
        return await asyncio.shield(self._pending)

    async def _refresh(self) -> T:
        began = self.clock()
        self.loads += 1
        value = await self.load()
        self._value = (began, value)  # its age counts from when the load began: never younger than it is
        return value

    def _settled(self, task: asyncio.Task[T]) -> None:
        self._pending = None
        if not task.cancelled():
            task.exception()  # retrieved here too: every waiter may have gone
