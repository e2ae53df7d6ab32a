"""Email address checks: syntax first, then whether the domain accepts mail (MX).

Mail to a domain that cannot receive it bounces, and bounces cost sender
reputation, so contacts are checked before they are counted. The verdict is
three-valued: ``ok=True`` (mail exchangers found, or an address record that
RFC 5321 treats as the implicit MX), ``ok=False`` (bad syntax, the domain
does not exist, or it publishes the RFC 7505 null MX) and ``ok=None`` when DNS
did not answer: an unknown verdict must not drop a contact for good, so
callers keep the address but do not count it as verified.

Domain verdicts are cached in-process (known-good for `cache_ttl_s`,
known-bad for the shorter `negative_ttl_s`, unknown never) and, with a Redis
URL, in Redis under ``leadstream:mx:<domain>`` (``key_prefix``) so every worker shares them.
Concurrent checks of one domain share a single lookup. The resolver uses the
given nameservers (``ip`` or ``ip:port``, e.g. the simulator's fixture DNS)
or the system configuration.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from functools import partial

import dns.exception
import dns.name
import dns.resolver
import orjson
import redis.asyncio as aioredis
from email_validator import EmailNotValidError, validate_email
from redis.exceptions import RedisError

from providers.cache import LocalTTLCache
from providers.clock import SYSTEM_CLOCK, Clock
from providers.dns import make_resolver

log = logging.getLogger(__name__)

NULL_MX = "domain accepts no mail (null MX)"
NO_DOMAIN = "domain does not exist"
IMPLICIT_MX = "no MX; falls back to A record"
DNS_TIMEOUT = "DNS timeout"


@dataclass
class EmailCheck:
    email: str  # normalized when the syntax is valid, else as given
    ok: bool | None  # None: DNS gave no verdict; keep the address, do not count it as verified
    reason: str | None
    mx_hosts: list[str] = field(default_factory=list)
    syntax_ok: bool = True


@dataclass(frozen=True)
class DomainVerdict:
    ok: bool | None
    reason: str | None
    mx_hosts: tuple[str, ...] = ()

    def to_json(self) -> bytes:
        return orjson.dumps({"ok": self.ok, "reason": self.reason, "mx_hosts": list(self.mx_hosts)})

    @classmethod
    def from_json(cls, blob: bytes | str) -> DomainVerdict:
        data = orjson.loads(blob)
        return cls(data["ok"], data["reason"], tuple(data["mx_hosts"]))


class MxChecker:
    """`check(email)` → `EmailCheck`; see the module docstring for verdicts and caching."""

    def __init__(
        self,
        nameservers: list[str] | None = None,
        timeout_s: float = 3.0,
        cache_ttl_s: float = 3600,
        negative_ttl_s: float = 300,
        redis_url: str = "",
        *,
        key_prefix: str = "leadstream:mx",
        max_local_entries: int = 100_000,
        clock: Clock = SYSTEM_CLOCK,
    ) -> None:
        """`clock` expires the in-process verdicts; verdicts in Redis expire by their TTL."""
        self.timeout_s = timeout_s
        self.cache_ttl_s = cache_ttl_s
        self.negative_ttl_s = negative_ttl_s
        self.key_prefix = key_prefix
        self.max_local_entries = max_local_entries
        self._resolver = make_resolver(nameservers, timeout_s)
        self._redis = aioredis.from_url(redis_url) if redis_url else None
        self._local: LocalTTLCache[DomainVerdict] = LocalTTLCache(max_local_entries, clock)
        self._inflight: dict[str, asyncio.Task[DomainVerdict]] = {}
        self.lookups = 0  # domains resolved in DNS rather than answered from a cache

    async def aclose(self) -> None:
        if self._redis is not None:
            await self._redis.aclose()

    async def check(self, email: str) -> EmailCheck:
        """Syntax (no DNS for a malformed address), then the domain's verdict."""
        email = email.strip()  # scraped text often carries surrounding blanks
        try:
            parsed = validate_email(email, check_deliverability=False)
        except EmailNotValidError as exc:
            return EmailCheck(email, False, str(exc), [], syntax_ok=False)
        verdict = await self.check_domain(parsed.ascii_domain)
        return EmailCheck(parsed.normalized, verdict.ok, verdict.reason, list(verdict.mx_hosts), syntax_ok=True)

    async def check_domain(self, domain: str) -> DomainVerdict:
        """The mail verdict of `domain`: from the local cache, an in-flight lookup, Redis, or DNS."""
        domain = domain.lower().rstrip(".")
        cached = self._local.get(domain)
        if cached is not None:
            return cached
        task = self._inflight.get(domain)
        if task is None:
            task = asyncio.ensure_future(self._shared_or_resolved(domain))
            self._inflight[domain] = task
            task.add_done_callback(partial(self._forget, domain))
        # shield: one caller giving up must not cancel the lookup the others wait for
        return await asyncio.shield(task)

    def _forget(self, domain: str, _done: object) -> None:
        self._inflight.pop(domain, None)

    async def _shared_or_resolved(self, domain: str) -> DomainVerdict:
        shared = await self._redis_get(domain)
        if shared is not None:
            self._local.set(domain, shared, self.cache_ttl_s if shared.ok else self.negative_ttl_s)
            return shared
        verdict = await self._resolve(domain)
        if verdict.ok is not None:
            ttl_s = self.cache_ttl_s if verdict.ok else self.negative_ttl_s
            self._local.set(domain, verdict, ttl_s)
            await self._redis_put(domain, verdict, ttl_s)
        return verdict

    async def _resolve(self, domain: str) -> DomainVerdict:
        """MX records sorted by preference; null MX; implicit MX from an address record; or why not."""
        self.lookups += 1
        try:
            answer = await self._resolver.resolve(dns.name.from_text(domain), "MX")
        except dns.resolver.NoAnswer:
            return await self._implicit_mx(domain)
        except dns.exception.DNSException as exc:
            return _failure(exc)
        records = sorted(answer, key=lambda r: (r.preference, r.exchange.to_text()))
        hosts = tuple(r.exchange.to_text(omit_final_dot=True).lower() for r in records if r.exchange != dns.name.root)
        if not hosts:  # RFC 7505: a single "0 ." record
            return DomainVerdict(False, NULL_MX)
        return DomainVerdict(True, None, hosts)

    async def _implicit_mx(self, domain: str) -> DomainVerdict:
        """RFC 5321 §5.1: without MX records the domain's own address is the mail exchanger."""
        for rdtype in ("A", "AAAA"):
            try:
                await self._resolver.resolve(dns.name.from_text(domain), rdtype)
            except dns.resolver.NoAnswer:
                continue
            except dns.exception.DNSException as exc:
                return _failure(exc)
            reason = IMPLICIT_MX if rdtype == "A" else "no MX; falls back to AAAA record"
            return DomainVerdict(True, reason, (domain,))
        return DomainVerdict(False, "domain has no MX or address records")

    async def _redis_get(self, domain: str) -> DomainVerdict | None:
        if self._redis is None:
            return None
        try:
            blob = await self._redis.get(f"{self.key_prefix}:{domain}")
        except RedisError as exc:  # a cache outage costs a DNS query, never a verdict
            log.warning("mx cache read failed for %s: %s", domain, exc)
            return None
        return DomainVerdict.from_json(blob) if blob else None

    async def _redis_put(self, domain: str, verdict: DomainVerdict, ttl_s: float) -> None:
        if self._redis is None:
            return
        try:
            await self._redis.set(f"{self.key_prefix}:{domain}", verdict.to_json(), px=max(1, int(ttl_s * 1000)))
        except RedisError as exc:
            log.warning("mx cache write failed for %s: %s", domain, exc)


def _failure(exc: dns.exception.DNSException) -> DomainVerdict:
    """A DNS error as a verdict: NXDOMAIN is final, anything else is unknown (ok=None)."""
    if isinstance(exc, dns.resolver.NXDOMAIN):
        return DomainVerdict(False, NO_DOMAIN)
    if isinstance(exc, dns.exception.Timeout):
        return DomainVerdict(None, DNS_TIMEOUT)
    if isinstance(exc, dns.resolver.NoNameservers):
        return DomainVerdict(None, "DNS servers failed to answer (SERVFAIL or REFUSED)")
    return DomainVerdict(None, f"DNS error: {type(exc).__name__}")
