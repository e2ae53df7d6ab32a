"""robots.txt verdicts as the fetcher caches them, and their copy in Redis shared by every worker.

`RobotsVerdict` is what one origin's robots.txt (or its absence or failure,
per RFC 9309) means for us until `expires`; `SharedRobots` keeps verdicts
under ``leadstream:robots:<origin>`` with their remaining TTL, plus a short
per-origin lock so workers that miss at the same moment fetch it once.
Every `SharedRobots` method swallows Redis errors (logged once) and answers
as if the cache were empty and the lock free: the caller then fetches itself.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from dataclasses import dataclass

import orjson
import redis.asyncio as aioredis
from limits.errors import StorageError
from protego import Protego
from redis.exceptions import RedisError

from providers.clock import SYSTEM_CLOCK, Clock

log = logging.getLogger(__name__)

ROBOTS_KEY_PREFIX = "leadstream:robots"
ROBOTS_SHARED_MAX_CHARS = 128 * 1024  # larger robots.txt files are not put in Redis: each worker fetches its own
REDIS_ERRORS = (RedisError, StorageError, OSError, asyncio.TimeoutError)


@dataclass
class RobotsVerdict:
    parser: Protego | None  # None: the verdict below applies to every path
    allow_all: bool
    reason: str
    expires: float  # on the fetcher's clock's monotonic()
    text: str | None = None  # the robots.txt the parser was built from, shared through Redis

    def to_json(self) -> bytes:
        return orjson.dumps({"allow_all": self.allow_all, "reason": self.reason, "text": self.text})

    @classmethod
    def from_json(cls, blob: bytes, expires: float) -> RobotsVerdict:
        entry = orjson.loads(blob)
        text = entry.get("text")
        return cls(
            Protego.parse(text) if text is not None else None,
            bool(entry["allow_all"]),
            str(entry["reason"]),
            expires,
            text,
        )


class SharedRobots:
    """robots.txt verdicts in Redis with a per-origin fetch lock, in two round trips per miss.

    `claim` answers the cached verdict, or else tries the fetch lock, in one Lua script (one round trip,
    atomic: no verdict can land between the look and the lock); `release` stores the fetched verdict with
    its TTL and frees the lock, in another. Every method swallows Redis errors (logged once) and answers
    as if the cache were empty and the lock free, so the caller simply fetches itself.
    """

    # KEYS: entry, lock; ARGV: token, lock ms → {entry, its ms left} | {false, 1 lock taken / 0 held by another}
    _CLAIM = """
local ttl = redis.call('pttl', KEYS[1])
if ttl > 0 then
  local entry = redis.call('get', KEYS[1])
  if entry then return {entry, ttl} end
end
if redis.call('set', KEYS[2], ARGV[1], 'NX', 'PX', ARGV[2]) then return {false, 1} end
return {false, 0}
"""
    # KEYS: entry, lock; ARGV: token ('' holds none), entry ('' stores none), entry ms
    _RELEASE = """
if ARGV[2] ~= '' then redis.call('set', KEYS[1], ARGV[2], 'PX', ARGV[3]) end
if ARGV[1] ~= '' and redis.call('get', KEYS[2]) == ARGV[1] then redis.call('del', KEYS[2]) end
return 1
"""

    def __init__(self, redis_url: str, prefix: str = ROBOTS_KEY_PREFIX, clock: Clock = SYSTEM_CLOCK) -> None:
        """`clock`: the one `RobotsVerdict.expires` is on; the entry in Redis expires by its TTL."""
        self.prefix = prefix
        self.clock = clock
        self._redis = aioredis.from_url(redis_url, socket_timeout=2.0, socket_connect_timeout=2.0)
        self._claim = self._redis.register_script(self._CLAIM)
        self._release = self._redis.register_script(self._RELEASE)
        self._warned = False

    def key(self, origin: str) -> str:
        return f"{self.prefix}:{origin}"

    async def claim(self, origin: str, hold_s: float) -> tuple[RobotsVerdict | None, str | None]:
        """(the cached verdict, None), or (None, a token) when this caller may fetch (lock taken, or Redis
        unusable), or (None, None) while another worker is fetching it."""
        token = secrets.token_hex(8)
        key = self.key(origin)
        try:
            blob, ttl_ms = await self._claim(keys=[key, key + ":lock"], args=[token, max(1, int(hold_s * 1000))])
        except REDIS_ERRORS as exc:
            self._warn(exc)
            return None, token
        if blob is None:
            return None, token if ttl_ms == 1 else None
        try:
            return RobotsVerdict.from_json(blob, self.clock.monotonic() + int(ttl_ms) / 1000), None
        except (orjson.JSONDecodeError, KeyError, TypeError, AttributeError) as exc:
            log.warning("ignoring unreadable robots.txt cache entry %s: %s", key, exc)
            return None, token  # fetch it again; the new verdict replaces the unreadable one

    async def release(self, origin: str, token: str | None, robots: RobotsVerdict | None) -> None:
        """Store `robots` (when given, still valid and not too large) and free the lock `token` holds."""
        entry, ttl_ms = b"", 0
        if robots is not None:
            ttl_ms = int((robots.expires - self.clock.monotonic()) * 1000)
            if ttl_ms > 0 and (robots.text is None or len(robots.text) <= ROBOTS_SHARED_MAX_CHARS):
                entry = robots.to_json()
        if not entry and token is None:
            return
        key = self.key(origin)
        try:
            await self._release(keys=[key, key + ":lock"], args=[token or "", entry, max(1, ttl_ms)])
        except REDIS_ERRORS as exc:
            self._warn(exc)

    async def aclose(self) -> None:
        await self._redis.aclose()

    def _warn(self, exc: BaseException) -> None:
        if not self._warned:
            self._warned = True
            log.warning(
                "robots.txt cache in Redis unavailable (%s: %s): fetching robots.txt directly", type(exc).__name__, exc
            )
