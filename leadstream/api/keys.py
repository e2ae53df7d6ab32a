"""API keys: `lsk_<key id>_<secret>`, stored as SHA-256, checked in constant time, cached briefly.

A key is 160 random bits of secret behind a public 8-byte id. Since the secret is random (not
a password), a fast hash is enough: there is no dictionary to try. Verified keys are kept in
memory for `key_cache_s` (a revoke through this process drops its entry at once).
"""

from __future__ import annotations

import hashlib
import hmac
import math
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass

from limits import RateLimitItem, parse
from limits.aio.storage import MemoryStorage, RedisStorage, Storage
from limits.aio.strategies import MovingWindowRateLimiter

from config.sections import API_SCOPES
from storage.api_keys import ApiKeyRow, ApiKeys

PREFIX = "lsk_"


@dataclass(frozen=True)
class NewKey:
    key_id: str
    token: str  # shown once; only its hash is stored


def sha256(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def new_token() -> NewKey:
    key_id = secrets.token_hex(8)
    return NewKey(key_id, f"{PREFIX}{key_id}_{secrets.token_urlsafe(20)}")


def key_id_of(token: str) -> str | None:
    """The public id inside a token, or None when it is not shaped like one of ours."""
    if not token.startswith(PREFIX):
        return None
    key_id, sep, secret = token[len(PREFIX) :].partition("_")
    if not sep or len(key_id) != 16 or not secret:
        return None
    return key_id


def check_scopes(scopes: list[str]) -> list[str]:
    unknown = sorted(set(scopes) - set(API_SCOPES))
    if unknown or not scopes:
        raise ValueError(f"scopes must be some of {', '.join(API_SCOPES)}; got {', '.join(scopes) or 'none'}")
    return sorted(set(scopes))


async def create_key(store: ApiKeys, name: str, scopes: list[str], rate: str | None = None) -> tuple[NewKey, ApiKeyRow]:
    if rate is not None:
        parse(rate)  # ValueError on a bad rate
    key = new_token()
    row = await store.insert(key.key_id, name, sha256(key.token), check_scopes(scopes), rate)
    return key, row


class KeyVerifier:
    """Finds and checks a presented token; caches good rows for `ttl_s` on `clock`."""

    def __init__(self, store: ApiKeys, ttl_s: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.store, self.ttl_s, self.clock = store, ttl_s, clock
        self._cache: dict[str, tuple[float, ApiKeyRow]] = {}

    async def verify(self, token: str) -> ApiKeyRow | None:
        key_id = key_id_of(token)
        if key_id is None:
            return None
        cached = self._cache.get(key_id)
        now = self.clock()
        if cached and now - cached[0] < self.ttl_s:
            row = cached[1]
        else:
            found = await self.store.get(key_id)
            if found is None:
                return None
            row = found
            if self.ttl_s > 0:
                self._cache[key_id] = (now, row)
        if not row.active or not hmac.compare_digest(row.key_sha256, sha256(token)):
            return None
        return row

    def forget(self, key_id: str) -> None:
        self._cache.pop(key_id, None)


@dataclass(frozen=True)
class Verdict:
    allowed: bool
    retry_after_s: int = 0


class KeyRateLimiter:
    """Per-key moving-window limits, shared by every API process through Redis (`limits`)."""

    def __init__(self, redis_url: str, default_rate: str, prefix: str = "leadstream:api") -> None:
        storage: Storage = (
            RedisStorage(
                redis_url.replace("redis://", "async+redis://", 1), implementation="redispy", key_prefix=prefix
            )
            if redis_url
            else MemoryStorage()
        )
        self.storage = storage
        self.limiter = MovingWindowRateLimiter(storage)
        self.default = parse(default_rate)
        self._items: dict[str, RateLimitItem] = {}

    def item(self, rate: str | None) -> RateLimitItem:
        if not rate:
            return self.default
        if rate not in self._items:
            self._items[rate] = parse(rate)
        return self._items[rate]

    async def hit(self, key_id: str, rate: str | None) -> Verdict:
        item = self.item(rate)
        if await self.limiter.hit(item, "key", key_id):
            return Verdict(True)
        stats = await self.limiter.get_window_stats(item, "key", key_id)
        return Verdict(False, max(1, math.ceil(stats.reset_time - time.time())))
