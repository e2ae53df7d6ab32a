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
    """robots.txt verdicts in Redis: `get`, `put` with a TTL, and a per-origin fetch lock.

    Every method swallows Redis errors (logged once) and answers as if the
    cache were empty and the lock free, so the caller simply fetches itself.
    """

    _RELEASE = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end return 0"

    def __init__(self, redis_url: str, prefix: str = ROBOTS_KEY_PREFIX, clock: Clock = SYSTEM_CLOCK) -> None:
        """`clock`: the one `RobotsVerdict.expires` is on; the entry in Redis expires by its TTL."""
        self.prefix = prefix
        self.clock = clock
        self._redis = aioredis.from_url(redis_url, socket_timeout=2.0, socket_connect_timeout=2.0)
        self._warned = False

    def key(self, origin: str) -> str:
        return f"{self.prefix}:{origin}"

    async def get(self, origin: str) -> RobotsVerdict | None:
        try:
            async with self._redis.pipeline(transaction=False) as pipe:
                pipe.get(self.key(origin))
                pipe.pttl(self.key(origin))
                blob, ttl_ms = await pipe.execute()
            if blob is None or ttl_ms <= 0:
                return None
            return RobotsVerdict.from_json(blob, self.clock.monotonic() + ttl_ms / 1000)
        except REDIS_ERRORS as exc:
            self._warn(exc)
        except (orjson.JSONDecodeError, KeyError, TypeError, AttributeError) as exc:
            log.warning("ignoring unreadable robots.txt cache entry %s: %s", self.key(origin), exc)
        return None

    async def put(self, origin: str, robots: RobotsVerdict) -> None:
        ttl_ms = int((robots.expires - self.clock.monotonic()) * 1000)
        if ttl_ms <= 0 or (robots.text is not None and len(robots.text) > ROBOTS_SHARED_MAX_CHARS):
            return
        try:
            await self._redis.set(self.key(origin), robots.to_json(), px=ttl_ms)
        except REDIS_ERRORS as exc:
            self._warn(exc)

    async def lock(self, origin: str, hold_s: float) -> str | None:
        """A token when this caller may fetch (lock taken, or Redis unusable), None while another worker is."""
        token = secrets.token_hex(8)
        try:
            taken = await self._redis.set(self.key(origin) + ":lock", token, nx=True, px=max(1, int(hold_s * 1000)))
        except REDIS_ERRORS as exc:
            self._warn(exc)
            return token
        return token if taken else None

    async def unlock(self, origin: str, token: str) -> None:
        try:
            await self._redis.eval(self._RELEASE, 1, self.key(origin) + ":lock", token)
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
