"""A provider rate limit shared by every worker process, kept in Redis.

The real APIs limit per account, not per process, so N workers must share one
budget of requests per second. `SharedRateLimiter` keeps a moving window of
recent hits in Redis (the `limits` library's Lua scripts make each hit atomic),
and waits with `asyncio.sleep` until the oldest hit leaves the window. Without
a Redis URL it keeps the window in process memory (the demo, single worker).

The moving-window timestamps come from each worker's clock (as in `limits`),
so workers on different hosts need synchronized clocks (NTP is plenty).
"""

from __future__ import annotations

import asyncio
import random
import time

from limits import parse
from limits.aio.storage import MemoryStorage, RedisStorage, Storage
from limits.aio.strategies import MovingWindowRateLimiter

from providers.http import TransientProviderError

DEFAULT_PREFIX = "leadstream:ratelimit"


def _storage(redis_url: str, key_prefix: str) -> Storage:
    if not redis_url:
        return MemoryStorage()
    uri = redis_url if redis_url.startswith("async+") else f"async+{redis_url}"
    return RedisStorage(uri, implementation="redispy", key_prefix=key_prefix)


class SharedRateLimiter:
    """At most `rate` (e.g. "10/second", "600/minute") calls to `provider`, across all processes."""

    def __init__(self, redis_url: str, *, provider: str, rate: str, key_prefix: str = DEFAULT_PREFIX) -> None:
        self.provider = provider
        self.rate = rate
        self._item = parse(rate)
        self._limiter = MovingWindowRateLimiter(_storage(redis_url, key_prefix))

    async def acquire(self, key: str = "", timeout_s: float = 30.0) -> float:
        """Take one slot for `key` (e.g. an API key or a domain), waiting for it up to `timeout_s`.

        Returns the slot's time (epoch seconds): the clock read just before
        `limits` reads it for its atomic Lua check-and-record, with no await in
        between, so it matches the time kept in the shared window.

        Raises `TransientProviderError` (with `retry_after_s`) when no slot frees
        up in time, so the stage runner backs off instead of holding the event.
        """
        deadline = time.monotonic() + timeout_s
        while True:
            slot_at = time.time()
            if await self._limiter.hit(self._item, self.provider, key):
                return slot_at
            stats = await self._limiter.get_window_stats(self._item, self.provider, key)
            # A small random spread keeps waiting workers from all retrying in the same millisecond.
            wait = max(stats.reset_time - time.time(), 0.0) + random.uniform(0.001, 0.02)
            if time.monotonic() + wait > deadline:
                raise TransientProviderError(self.provider, f"rate limit {self.rate}", retry_after_s=wait)
            await asyncio.sleep(wait)

    async def clear(self, key: str = "") -> None:
        """Forget the recorded hits for `key` (tests, manual resets)."""
        await self._limiter.clear(self._item, self.provider, key)
