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

# reserve(window, limit, period ms, longest wait ms) on the window's list (slot times in µs, newest first): the
# slot is now, but not before the newest slot, nor before the limit-th newest leaves the window. Recorded (granted)
# only when it is at most the longest wait away; the key lives until the last slot has left the window.
# Returns {granted, now_us, slot_us}.
_RESERVE_FUNCTION = """
local function reserve(window, limit, period_ms, max_wait_ms)
    local t = redis.call('TIME')
    local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
    local period = period_ms * 1000
    local at = now
    local newest = redis.call('LINDEX', window, 0)
    if newest and tonumber(newest) > at then at = tonumber(newest) end
    local oldest = redis.call('LINDEX', window, limit - 1)
    if oldest and tonumber(oldest) + period > at then at = tonumber(oldest) + period end
    if at - now > max_wait_ms * 1000 then
        return {0, now, at}
    end
    redis.call('LPUSH', window, at)
    redis.call('LTRIM', window, 0, limit - 1)
    redis.call('PEXPIRE', window, math.ceil((at - now) / 1000) + period_ms)
    return {1, now, at}
end
"""
# KEYS[1] the window; ARGV[1] limit, ARGV[2] period in ms, ARGV[3] longest wait in ms.
_RESERVE = (
    _RESERVE_FUNCTION
    + """
return reserve(KEYS[1], tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3]))
"""
)
# The same, unless KEYS[2] (a cached answer) exists: then {0, 0, 0, its value}, and no slot is reserved.
_CACHED_OR_RESERVE = (
    _RESERVE_FUNCTION
    + """
local cached = redis.call('GET', KEYS[2])
if cached then return {0, 0, 0, cached} end
return reserve(KEYS[1], tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3]))
"""
)


@dataclass(frozen=True)
class Slot:
    granted: bool  # recorded: the caller may send at `at`
    now: float  # the window's clock when it decided (epoch seconds)
    at: float  # the slot's time; when not granted, the earliest slot there was (past the longest wait)
    cached: bytes | None = None  # `reserve(..., unless=key)` found this under `key`: no slot was asked for


class Window(Protocol):
    async def reserve(self, key: str, limit: int, period_s: float, max_wait_s: float) -> Slot: ...

    async def clear(self, key: str) -> None: ...


class RedisWindow:
    """The moving window in Redis, on Redis's clock (see the module docstring)."""

    def __init__(self, redis_url: str) -> None:
        self.redis_url = redis_url
        self._redis = aioredis.from_url(redis_url)
        self._script = self._redis.register_script(_RESERVE)
        self._cached_or_script = self._redis.register_script(_CACHED_OR_RESERVE)

    async def reserve(self, key: str, limit: int, period_s: float, max_wait_s: float, unless: str = "") -> Slot:
        """A slot (see `_RESERVE`); with `unless`, the value stored under that key instead, when there is one."""
        args = [limit, round(period_s * 1000), max(0, int(max_wait_s * 1000))]
        if unless:
            reply = await self._cached_or_script(keys=[key, unless], args=args)
            if len(reply) == 4:
                return Slot(False, 0.0, 0.0, reply[3])
            granted, now_us, at_us = reply
        else:
            granted, now_us, at_us = await self._script(keys=[key], args=args)
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
        return await self._wait_for(
            key, await self._window.reserve(self._key(key), self.limit, self.period_s, timeout_s)
        )

    def shares_redis(self, redis_url: str) -> bool:
        """Whether the window is in Redis at `redis_url` (so `acquire_unless_cached` can look there)."""
        return isinstance(self._window, RedisWindow) and self._window.redis_url == redis_url

    async def acquire_unless_cached(self, cached_key: str, key: str = "", timeout_s: float = 30.0) -> bytes | None:
        """The value under `cached_key` (a response cached in the same Redis) when there is one, with no slot
        taken; else `acquire(key, timeout_s)`. One round trip where a cache read and a slot would be two.

        Only for a limiter whose window `shares_redis` with that cache.
        """
        if not isinstance(self._window, RedisWindow):
            raise TypeError("acquire_unless_cached needs the window in Redis (see shares_redis)")
        slot = await self._window.reserve(self._key(key), self.limit, self.period_s, timeout_s, unless=cached_key)
        if slot.cached is not None:
            return slot.cached
        await self._wait_for(key, slot)
        return None

    async def _wait_for(self, key: str, slot: Slot) -> float:
        """Wait until a granted slot's time; raise `TransientProviderError` for a refused one."""
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
