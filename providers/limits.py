"""A provider rate limit shared by every worker process, kept in Redis.

The real APIs limit per account, not per process, so N workers must share one
budget of requests per period. `SharedRateLimiter` keeps a moving window per
(provider, key): no period-long window ever holds more than N slots.

A caller **reserves** its slot: the window answers the earliest time at which
one more slot keeps that promise (now, or when the N-th newest slot leaves the
window, and never before the newest slot: first come, first served) and
records it, and the caller waits until then. One round trip per slot, however
long the wait: a caller that only asked, and polled again when a slot might
have freed, cost a round trip (and a timer) per try, and another worker could
take the freed slot first. A slot further away than the caller's timeout is
not recorded; the caller fails at once with when to retry. A caller cancelled
while it waits leaves its slot unused: the window then holds fewer requests
than it allows, never more.

With Redis, the reservation is one Lua script that reads **Redis's own clock**
(``TIME``): every worker's slots are stamped by one clock, in the order Redis
ran them, so the guarantee is exact across processes and hosts (no clock
synchronisation needed) and each slot's time is returned to the caller.
Without a Redis URL the window is kept in process memory (the demo, a single
worker) on the injected `providers.clock.Clock`, so tests move time by hand.

The rate strings are parsed by the `limits` library (``10/second``,
``600/minute``); its own moving window is not used because it stamps slots
with each worker's clock before they reach Redis, so two workers could record
them out of order, and tests could only check it on wall time.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

import redis.asyncio as aioredis
from limits import parse

from providers.clock import SYSTEM_CLOCK, Clock
from providers.http import TransientProviderError

DEFAULT_PREFIX = "leadstream:ratelimit"

# KEYS[1] the window (slot times in µs, newest first); ARGV[1] limit, ARGV[2] period in ms, ARGV[3] longest wait
# in ms. The slot: now, but not before the newest slot, nor before the limit-th newest leaves the window. Recorded
# (granted) only when it is at most the longest wait away. The key lives until the last slot has left the window.
# Returns {granted, now_us, slot_us}.
_RESERVE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local limit = tonumber(ARGV[1])
local period = tonumber(ARGV[2]) * 1000
local at = now
local newest = redis.call('LINDEX', KEYS[1], 0)
if newest and tonumber(newest) > at then at = tonumber(newest) end
local oldest = redis.call('LINDEX', KEYS[1], limit - 1)
if oldest and tonumber(oldest) + period > at then at = tonumber(oldest) + period end
if at - now > tonumber(ARGV[3]) * 1000 then
    return {0, now, at}
end
redis.call('LPUSH', KEYS[1], at)
redis.call('LTRIM', KEYS[1], 0, limit - 1)
redis.call('PEXPIRE', KEYS[1], math.ceil((at - now) / 1000) + tonumber(ARGV[2]))
return {1, now, at}
"""


@dataclass(frozen=True)
class Slot:
    granted: bool  # recorded: the caller may send at `at`
    now: float  # the window's clock when it decided (epoch seconds)
    at: float  # the slot's time; when not granted, the earliest slot there was (past the longest wait)


class Window(Protocol):
    async def reserve(self, key: str, limit: int, period_s: float, max_wait_s: float) -> Slot: ...

    async def clear(self, key: str) -> None: ...


class RedisWindow:
    """The moving window in Redis, on Redis's clock (see the module docstring)."""

    def __init__(self, redis_url: str) -> None:
        self._redis = aioredis.from_url(redis_url)
        self._script = self._redis.register_script(_RESERVE)

    async def reserve(self, key: str, limit: int, period_s: float, max_wait_s: float) -> Slot:
        granted, now_us, at_us = await self._script(
            keys=[key], args=[limit, round(period_s * 1000), max(0, int(max_wait_s * 1000))]
        )
        return Slot(bool(granted), int(now_us) / 1e6, int(at_us) / 1e6)

    async def clear(self, key: str) -> None:
        await self._redis.delete(key)


class MemoryWindow:
    """The moving window in this process, on `clock` (no await between the look and the record)."""

    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self._slots: dict[str, deque[float]] = {}

    async def reserve(self, key: str, limit: int, period_s: float, max_wait_s: float) -> Slot:
        now = self.clock.time()
        slots = self._slots.setdefault(key, deque(maxlen=limit))  # oldest first
        at = max(now, slots[-1]) if slots else now
        if len(slots) == limit:
            at = max(at, slots[0] + period_s)
        if at - now > max_wait_s:
            return Slot(False, now, at)
        slots.append(at)
        return Slot(True, now, at)

    async def clear(self, key: str) -> None:
        self._slots.pop(key, None)


class SharedRateLimiter:
    """At most `rate` (e.g. "10/second", "600/minute") calls to `provider`, across all processes.

    `clock` times the waits (and is the window's clock without Redis).
    `on_slot(key, slot_at, waited)` is told of every slot a caller proceeds on
    (what tests and metrics check the guarantee on).
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
    ) -> None:
        self.provider = provider
        self.rate = rate
        item = parse(rate)
        self.limit, self.period_s = item.amount, float(item.get_expiry())
        self.key_prefix = key_prefix
        self.clock = clock
        self._window: Window = RedisWindow(redis_url) if redis_url else MemoryWindow(clock)

    def _key(self, key: str) -> str:
        return f"{self.key_prefix}:{self.provider}:{self.limit}/{self.period_s:g}s:{key}"

    async def acquire(self, key: str = "", timeout_s: float = 30.0) -> float:
        """Reserve one slot for `key` (e.g. an API key or a domain) and wait for its time, up to `timeout_s`.

        Returns the slot's time (epoch seconds) as the shared window recorded it.

        Raises `TransientProviderError` (with `retry_after_s`) at once, reserving
        nothing, when the earliest slot is further than `timeout_s` away, so the
        stage runner backs off instead of holding the event.
        """
        slot = await self._window.reserve(self._key(key), self.limit, self.period_s, timeout_s)
        wait = max(slot.at - slot.now, 0.0)
        if not slot.granted:
            raise TransientProviderError(self.provider, f"rate limit {self.rate}", retry_after_s=wait)
        if wait > 0:
            await self.clock.sleep(wait)  # the window's clock read `now` before this reply left: we send at >= `at`
        if self.on_slot is not None:
            self.on_slot(key, slot.at, wait > 0)
        return slot.at

    async def clear(self, key: str = "") -> None:
        """Forget the recorded slots for `key` (tests, manual resets)."""
        await self._window.clear(self._key(key))
