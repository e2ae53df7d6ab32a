"""A provider rate limit shared by every worker process, kept in Redis.

The real APIs limit per account, not per process, so N workers must share one
budget of requests per period. `SharedRateLimiter` keeps a moving window per
(provider, key): a slot is granted when fewer than N slots were granted in the
last period, so no period-long window ever holds more than N slots.

With Redis, the check and the record are one Lua script that reads **Redis's
own clock** (``TIME``): every worker's slots are stamped by one clock, in the
order Redis ran them, so the guarantee is exact across processes and hosts (no
clock synchronisation needed) and each granted slot's time is returned to the
caller. Without a Redis URL the window is kept in process memory (the demo, a
single worker) on the injected `providers.clock.Clock`, so tests move time by
hand. A caller that gets no slot waits (on that clock) until the oldest slot
leaves the window, up to its timeout.

The rate strings are parsed by the `limits` library (``10/second``,
``600/minute``); its own moving window is not used because it stamps slots
with each worker's clock before they reach Redis, so two workers could record
them out of order, and tests could only check it on wall time.
"""

from __future__ import annotations

import random
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

import redis.asyncio as aioredis
from limits import parse

from providers.clock import SYSTEM_CLOCK, Clock
from providers.http import TransientProviderError

DEFAULT_PREFIX = "leadstream:ratelimit"

# KEYS[1] the window (newest first); ARGV[1] limit, ARGV[2] period in ms. Returns {granted, now_us, free_at_us}.
_HIT = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local limit = tonumber(ARGV[1])
local period = tonumber(ARGV[2]) * 1000
local oldest = redis.call('LINDEX', KEYS[1], limit - 1)
if oldest and now - tonumber(oldest) < period then
    return {0, now, tonumber(oldest) + period}
end
redis.call('LPUSH', KEYS[1], now)
redis.call('LTRIM', KEYS[1], 0, limit - 1)
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return {1, now, 0}
"""


@dataclass(frozen=True)
class Hit:
    granted: bool
    at: float  # the window's clock when it decided (epoch seconds): the slot's time when granted
    free_at: float  # when granted is False: when the oldest slot leaves the window


class Window(Protocol):
    async def hit(self, key: str, limit: int, period_s: float) -> Hit: ...

    async def clear(self, key: str) -> None: ...


class RedisWindow:
    """The moving window in Redis, on Redis's clock (see the module docstring)."""

    def __init__(self, redis_url: str) -> None:
        self._redis = aioredis.from_url(redis_url)
        self._script = self._redis.register_script(_HIT)

    async def hit(self, key: str, limit: int, period_s: float) -> Hit:
        granted, now_us, free_us = await self._script(keys=[key], args=[limit, round(period_s * 1000)])
        return Hit(bool(granted), int(now_us) / 1e6, int(free_us) / 1e6)

    async def clear(self, key: str) -> None:
        await self._redis.delete(key)


class MemoryWindow:
    """The moving window in this process, on `clock` (no await between the check and the record)."""

    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self._slots: dict[str, deque[float]] = {}

    async def hit(self, key: str, limit: int, period_s: float) -> Hit:
        now = self.clock.time()
        slots = self._slots.setdefault(key, deque(maxlen=limit))
        if len(slots) == limit and now - slots[0] < period_s:
            return Hit(False, now, slots[0] + period_s)
        slots.append(now)
        return Hit(True, now, 0.0)

    async def clear(self, key: str) -> None:
        self._slots.pop(key, None)


class SharedRateLimiter:
    """At most `rate` (e.g. "10/second", "600/minute") calls to `provider`, across all processes.

    `clock` times the waits (and is the window's clock without Redis); `jitter`
    spreads waiting workers over a few milliseconds so they do not all ask at once.
    `on_slot(key, slot_at, waited)` is told of every slot granted (what tests and
    metrics check the guarantee on).
    """

    on_slot: Callable[[str, float, bool], None] | None = None

    def __init__(
        self,
        redis_url: str,
        *,
        provider: str,
        rate: str,
        key_prefix: str = DEFAULT_PREFIX,
        clock: Clock = SYSTEM_CLOCK,
        jitter: Callable[[], float] = lambda: random.uniform(0.001, 0.02),
    ) -> None:
        self.provider = provider
        self.rate = rate
        item = parse(rate)
        self.limit, self.period_s = item.amount, float(item.get_expiry())
        self.key_prefix = key_prefix
        self.clock, self.jitter = clock, jitter
        self._window: Window = RedisWindow(redis_url) if redis_url else MemoryWindow(clock)

    def _key(self, key: str) -> str:
        return f"{self.key_prefix}:{self.provider}:{self.limit}/{self.period_s:g}s:{key}"

    async def acquire(self, key: str = "", timeout_s: float = 30.0) -> float:
        """Take one slot for `key` (e.g. an API key or a domain), waiting for it up to `timeout_s`.

        Returns the slot's time (epoch seconds) as the shared window recorded it.

        Raises `TransientProviderError` (with `retry_after_s`) when no slot frees
        up in time, so the stage runner backs off instead of holding the event.
        """
        deadline = self.clock.monotonic() + timeout_s
        waited = False
        while True:
            hit = await self._window.hit(self._key(key), self.limit, self.period_s)
            if hit.granted:
                if self.on_slot is not None:
                    self.on_slot(key, hit.at, waited)
                return hit.at
            wait = max(hit.free_at - hit.at, 0.0) + self.jitter()
            if self.clock.monotonic() + wait > deadline:
                raise TransientProviderError(self.provider, f"rate limit {self.rate}", retry_after_s=wait)
            await self.clock.sleep(wait)
            waited = True

    async def clear(self, key: str = "") -> None:
        """Forget the recorded slots for `key` (tests, manual resets)."""
        await self._window.clear(self._key(key))
