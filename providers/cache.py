"""Provider responses cached with a TTL per provider, shared through Redis.

The same search (ZIP × vertical) or website is often asked for again by
another worker or a redelivered event; answering from the cache saves money
and rate-limit slots. Keys are hashed (a request's parameters can be long or
hold personal data). Without a Redis URL a bounded in-process LRU is used.
Providers without a TTL are never cached.
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from typing import Any, Generic, TypeVar

import orjson
import redis.asyncio as aioredis

from providers.clock import SYSTEM_CLOCK, Clock

_BYTES, _JSON = b"b", b"j"
CACHE_PREFIX = "leadstream:cache"
V = TypeVar("V")


def cache_key(key: Any) -> str:
    """A stable hex digest of `key` (a string, or any JSON-able value such as request params)."""
    raw = key.encode() if isinstance(key, str) else orjson.dumps(key, option=orjson.OPT_SORT_KEYS)
    return hashlib.blake2b(raw, digest_size=16).hexdigest()


def _encode(value: bytes | dict | list) -> bytes:
    if isinstance(value, (bytes, bytearray)):
        return _BYTES + bytes(value)
    return _JSON + orjson.dumps(value)


def _decode(blob: bytes) -> bytes | dict | list:
    return blob[1:] if blob[:1] == _BYTES else orjson.loads(blob[1:])


class LocalTTLCache(Generic[V]):
    """Bounded in-process LRU with per-entry expiry (the fallback without Redis, and a hot tier in front of it)."""

    def __init__(self, max_entries: int, clock: Clock = SYSTEM_CLOCK) -> None:
        self.max_entries = max_entries
        self.clock = clock
        self._items: OrderedDict[str, tuple[float, V]] = OrderedDict()

    def get(self, key: str) -> V | None:
        item = self._items.get(key)
        if item is None:
            return None
        if item[0] <= self.clock.monotonic():
            del self._items[key]
            return None
        self._items.move_to_end(key)
        return item[1]

    def set(self, key: str, value: V, ttl_s: float) -> None:
        self._items[key] = (self.clock.monotonic() + ttl_s, value)
        self._items.move_to_end(key)
        while len(self._items) > self.max_entries:
            self._items.popitem(last=False)


class ResponseCache:
    """`get`/`set` provider responses (bytes, or JSON-able dict/list) under hashed keys."""

    def __init__(
        self,
        redis_url: str,
        ttl_s: dict[str, int],
        *,
        prefix: str = CACHE_PREFIX,
        max_local_entries: int = 10_000,
        clock: Clock = SYSTEM_CLOCK,
    ) -> None:
        """`clock` times the in-process entries; entries in Redis expire by Redis's own clock (their TTL)."""
        self.ttl_s = dict(ttl_s)
        self.prefix = prefix
        self.redis_url = redis_url
        self._redis = aioredis.from_url(redis_url) if redis_url else None
        self._local: LocalTTLCache[bytes] = LocalTTLCache(max_local_entries, clock)  # used only without Redis
        self.hits = self.misses = 0

    def enabled(self, provider: str) -> bool:
        return self.ttl_s.get(provider, 0) > 0

    def _key(self, provider: str, key: Any) -> str:
        return f"{self.prefix}:{provider}:{cache_key(key)}"

    async def get(self, provider: str, key: Any) -> bytes | dict[str, Any] | list[Any] | None:
        """The cached value, or None (also for providers without a TTL)."""
        if not self.enabled(provider):
            return None
        full = self._key(provider, key)
        blob: Any = await self._redis.get(full) if self._redis is not None else self._local.get(full)
        return self.answer(blob)

    def shared_key(self, provider: str, key: Any) -> str | None:
        """The Redis key `key`'s answer is cached under, for a caller that reads it in its own script
        (`providers.guarded`: the read and a rate-limit slot in one round trip); None when not cached in Redis."""
        if self._redis is None or not self.enabled(provider):
            return None
        return self._key(provider, key)

    def answer(self, blob: bytes | None) -> bytes | dict[str, Any] | list[Any] | None:
        """What `get` answers for the stored `blob` (None: a miss), counted as a hit or a miss."""
        if blob is None:
            self.misses += 1
            return None
        self.hits += 1
        return _decode(blob)

    async def set(self, provider: str, key: Any, value: bytes | dict[str, Any] | list[Any]) -> None:
        """Store `value` for the provider's TTL (does nothing for providers without one)."""
        ttl = self.ttl_s.get(provider, 0)
        if ttl <= 0:
            return
        full, blob = self._key(provider, key), _encode(value)
        if self._redis is not None:
            await self._redis.set(full, blob, ex=ttl)
        else:
            self._local.set(full, blob, ttl)

    async def aclose(self) -> None:
        if self._redis is not None:
            await self._redis.aclose()
