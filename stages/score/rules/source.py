"""Where workers get their rules: the file, validated, shared through Redis, reloaded while running.

Every worker reads the same rules file at start and refuses to start when it is
invalid. The validated text is published to Redis (``leadstream:rules:<name>``; a run under a topic prefix:
``leadstream:rules:<topic prefix>:<name>``,
with its version, digest and an "as of" time) so all workers converge on one
version: the newest wins, where "newest" is the file's mtime at start, the moment
a change was noticed while running, or the time carried by the Redis entry.
A change that does not validate is logged (once) and ignored: the last valid
rules stay in force. Entries are written with compare-and-set so a worker with
stale rules never overwrites newer ones.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import os
import socket
import time
from pathlib import Path

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from stages.score.rules.compiler import parse_rules
from stages.score.rules.engine import RuleSet
from stages.score.rules.model import RuleIssue, RulesError

log = logging.getLogger(__name__)

KEY_PREFIX = "leadstream:rules"  # a run under a topic prefix has its own (`Settings.redis_prefix`)
# Write only when the stored entry is absent or older than ours (atomic in Redis).
_PUBLISH_IF_NEWER = """
local current = redis.call('HGET', KEYS[1], 'published_at')
if current and tonumber(current) >= tonumber(ARGV[4]) then return 0 end
redis.call('HSET', KEYS[1], 'text', ARGV[1], 'version', ARGV[2], 'digest', ARGV[3], 'published_at', ARGV[4], 'origin', ARGV[5])
redis.call('EXPIRE', KEYS[1], ARGV[6])
return 1
"""


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


class RulesSource:
    """Provides the current `RuleSet` (``current()``) and keeps it fresh (``refresh()``/``run()``)."""

    def __init__(
        self,
        path: str | Path,
        redis_url: str,
        ttl_s: int = 86400,
        poll_s: float = 30,
        name: str | None = None,
        key_prefix: str = KEY_PREFIX,
    ):
        if not 0 < poll_s <= 60:
            raise ValueError(f"poll_s must be in (0, 60] so changes land within a minute, got {poll_s}")
        self.path = Path(path)
        self.redis_url = redis_url
        self.ttl_s = int(ttl_s)
        self.poll_s = poll_s
        self.key = f"{key_prefix}:{name or self.path.stem}"
        self.origin = f"{socket.gethostname()}:{os.getpid()}"
        self.last_error: RulesError | None = None  # why the latest file text was rejected, if it was
        self._redis: aioredis.Redis | None = None
        self._publish = None
        self._current: RuleSet | None = None
        self._digest = ""
        self._stamp = 0.0
        self._file_digest: str | None = None
        self._rejected_remote: str | None = None

    # -- public ---------------------------------------------------------------
    async def start(self) -> RuleSet:
        """Load and validate the file (raises RulesError when invalid), then sync with Redis."""
        try:
            text, mtime = await asyncio.to_thread(self._read)
        except OSError as exc:
            raise RulesError([RuleIssue(str(self.path), None, f"cannot read rules file: {exc}")]) from exc
        ruleset = await asyncio.to_thread(parse_rules, text, str(self.path))
        self._file_digest = _digest(text)
        self._adopt(ruleset, mtime, "file")
        self._redis = aioredis.from_url(self.redis_url, decode_responses=True)
        self._publish = self._redis.register_script(_PUBLISH_IF_NEWER)
        await self._sync()
        return self.current()

    def current(self) -> RuleSet:
        if self._current is None:
            raise RuntimeError("RulesSource.start() has not been awaited")
        return self._current

    @property
    def version(self) -> str:
        return self.current().version

    async def refresh(self) -> bool:
        """Pick up a changed file or a newer shared version; True when the rules in force changed."""
        before = self._digest
        try:
            text, _ = await asyncio.to_thread(self._read)
        except OSError as exc:
            log.warning("rules file %s unreadable (%s); keeping version %s", self.path, exc, self.version)
        else:
            file_digest = _digest(text)
            if file_digest != self._file_digest:
                self._file_digest = file_digest
                await self._take_file(text, file_digest)
        await self._sync()
        return self._digest != before

    async def run(self) -> None:
        """Refresh every ``poll_s`` seconds until cancelled; a failing refresh never stops the loop."""
        while True:
            await asyncio.sleep(self.poll_s)
            try:
                await self.refresh()
            except Exception:  # keep serving the last valid rules whatever happened
                log.exception("rules refresh failed; keeping version %s", self.version)

    async def close(self) -> None:
        if self._redis is not None:
            await self._redis.aclose()
            self._redis = None

    # -- internals ------------------------------------------------------------
    def _read(self) -> tuple[str, float]:
        try:
            return self.path.read_text(encoding="utf-8"), self.path.stat().st_mtime
        except UnicodeDecodeError as exc:
            raise OSError(f"not UTF-8 text: {exc}") from exc

    def _adopt(self, ruleset: RuleSet, stamp: float, origin: str) -> None:
        previous = self._current
        self._current, self._digest, self._stamp = ruleset, _digest(ruleset.text), stamp
        if previous is None:
            log.info("rules version %s loaded from %s", ruleset.version, origin)
        else:
            log.info("rules version %s replaces %s (from %s)", ruleset.version, previous.version, origin)
            if previous.version == ruleset.version:
                log.warning(
                    "rules text changed but version '%s' did not: bump `version` so scores can be told apart",
                    ruleset.version,
                )

    async def _take_file(self, text: str, file_digest: str) -> None:
        try:
            ruleset = await asyncio.to_thread(parse_rules, text, str(self.path))
        except RulesError as exc:
            self.last_error = exc
            log.error("rules file %s changed but is invalid; keeping version %s\n%s", self.path, self.version, exc)
            return
        self.last_error = None
        if file_digest != self._digest:
            self._adopt(ruleset, time.time(), "file")

    async def _sync(self) -> None:
        """Take a newer valid version from Redis, or publish ours when Redis has none or an older one."""
        assert self._redis is not None and self._publish is not None
        try:
            entry = await self._redis.hgetall(self.key)
            if entry.get("digest") == self._digest:
                return
            if entry and float(entry.get("published_at", 0)) > self._stamp:
                await self._take_remote(entry)
                return
            ruleset = self.current()
            await self._publish(
                keys=[self.key],
                args=[ruleset.text, ruleset.version, self._digest, repr(self._stamp), self.origin, self.ttl_s],
            )
        except (RedisError, OSError) as exc:
            log.warning(
                "rules cache %s unavailable (%s); using version %s from this worker", self.key, exc, self.version
            )

    async def _take_remote(self, entry: dict[str, str]) -> None:
        if entry.get("digest") == self._rejected_remote:
            return
        try:
            ruleset = await asyncio.to_thread(parse_rules, entry.get("text", ""), f"redis:{self.key}")
        except RulesError as exc:  # e.g. published by a newer release with a larger vocabulary
            self._rejected_remote = entry.get("digest")
            log.error(
                "rules version %s in Redis (from %s) is invalid here; keeping %s\n%s",
                entry.get("version"),
                entry.get("origin"),
                self.version,
                exc,
            )
            return
        self._adopt(ruleset, float(entry["published_at"]), f"redis, published by {entry.get('origin')}")
