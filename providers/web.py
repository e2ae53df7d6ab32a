"""Fetching business websites: SSRF-guarded, robots-aware, size- and time-bounded.

`WebFetcher.fetch(url)` follows redirects itself (max 5) so that every hop goes
through `NetGuard` and robots.txt. A site's own misbehaviour (refusal, timeout,
reset, too many redirects) is raised as `FetchRefused` / `RobotsDisallowed` /
`SiteError`, each with a readable ``reason``; error statuses come back as a
normal `FetchResult`. A page that answered is a result even when it is cut:
at `max_bytes` (``truncated``) or, still arriving at the deadline, as far as it
came (``unfinished``: a live site with a page that never finishes loading, not
a site that did not answer). Only a problem with our own path to the web (the proxy
unreachable) or a site's explicit 429 raises `TransientProviderError`, since a
retry can fix those.

Politeness per domain (`domain_key`: the host without ``www.``), for every
request including robots.txt and each redirect hop:

* at most `per_domain_concurrency` requests in flight (per process), and
* with `per_domain_rate` (e.g. ``"2/second"``), at most that many requests
  started, shared by every worker through Redis when `redis_url` is set
  (`providers.limits.SharedRateLimiter`, provider ``web``, key the domain).

A request takes its concurrency slot first and waits for its rate slot
inside it, then sends at once. Holding the slot while waiting costs nothing:
it is this domain's slot, and every request to the domain needs a rate slot
anyway; other domains have their own. The other order (rate slot first) is
worse twice over: a request granted a rate slot while both concurrency slots
were busy is sent later, so several such late requests can reach the site in
one burst above the rate; and every queued request would wait on the rate
limiter at once, each with its own `timeout_s`, so a burst of 40 requests to
one site would mostly time out instead of queueing. No rate slot within
`timeout_s` raises `TransientProviderError` (retry later: the site did
nothing wrong); with Redis unreachable the rate cannot be kept, which is
transient too.

robots.txt verdicts are cached per origin in process and, with `redis_url`,
in Redis under ``leadstream:robots:<origin>`` (``robots_key_prefix``) with the same TTLs (shorter for
failures), so N workers fetch a site's robots.txt once per TTL, not once each.
The in-process cache stays in front (the hot path never touches Redis), and a
short Redis lock makes workers that miss at the same moment wait for the one
that fetches. Redis trouble never fails a fetch: robots.txt is then fetched
directly (logged once per fetcher).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass, field
from typing import NoReturn
from urllib.parse import urljoin, urlsplit

import aiohttp
import httpx
from aiohttp.http_exceptions import ContentEncodingError
from protego import Protego

from providers import sitehttp
from providers.clock import SYSTEM_CLOCK, Clock
from providers.http import USER_AGENT, TransientProviderError, retry_after_seconds
from providers.limits import SharedRateLimiter
from providers.netguard import FetchRefused, NetGuard
from providers.robots import REDIS_ERRORS, ROBOTS_KEY_PREFIX, RobotsVerdict, SharedRobots

log = logging.getLogger(__name__)

PROVIDER = "web"
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
ROBOTS_MAX_BYTES = 512 * 1024  # RFC 9309: parse at least 500 KiB
ROBOTS_WAIT_POLL_S = 0.05
BODY_CLOSE_GRACE_S = 1.0  # past a page's deadline, for closing a body that is still streaming


class RobotsDisallowed(FetchRefused):
    """robots.txt does not let us fetch this URL."""


class SiteError(Exception):
    """The site could not be fetched (timeout, reset, redirect loop); `reason` says how."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@contextmanager
def site_request_errors(
    url: str, *, timeout_s: float, proxy: str | None, timeout_reason: str | None = None
) -> Iterator[None]:
    """Map the transport errors of one request to a website onto ours.

    The site's own misbehaviour becomes `SiteError`, a URL we cannot fetch
    `FetchRefused`, and only our proxy being unreachable (which a retry can fix)
    `TransientProviderError`. Shared by the plain fetcher and the renderer.
    """
    try:
        yield
    except aiohttp.ClientError as exc:  # the plain fetches' client (providers.sitehttp)
        _raise_site_error(exc, url, timeout_s=timeout_s, proxy=proxy, timeout_reason=timeout_reason)
    except TimeoutError:
        raise SiteError(timeout_reason or f"timeout after {timeout_s:g}s") from None
    except httpx.ProxyError as exc:  # the proxy answered but would not tunnel (https) to the site
        raise SiteError(f"proxy could not reach the site: {exc}") from None
    except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
        if proxy:
            raise TransientProviderError(PROVIDER, f"proxy unreachable: {type(exc).__name__}: {exc}") from exc
        raise SiteError(f"connection failed: {exc or type(exc).__name__}") from None
    except httpx.TimeoutException:
        raise SiteError(timeout_reason or f"timeout after {timeout_s:g}s") from None
    except (httpx.RemoteProtocolError, httpx.ReadError, httpx.WriteError) as exc:
        raise SiteError(f"connection reset by the site ({type(exc).__name__})") from None
    except httpx.DecodingError as exc:
        raise SiteError(f"undecodable response body: {exc}") from None
    except (httpx.InvalidURL, httpx.UnsupportedProtocol) as exc:
        raise FetchRefused(f"invalid URL {url!r}: {exc}") from None
    except httpx.TransportError as exc:
        raise SiteError(f"transport error: {type(exc).__name__}: {exc}") from None


def _raise_site_error(
    exc: aiohttp.ClientError, url: str, *, timeout_s: float, proxy: str | None, timeout_reason: str | None
) -> NoReturn:
    """aiohttp's errors mapped as `site_request_errors` maps httpx's (the same reasons, the same types)."""
    if isinstance(exc, aiohttp.ClientHttpProxyError):  # the proxy answered but would not tunnel (https)
        raise SiteError(f"proxy could not reach the site: {exc}") from None
    if isinstance(exc, aiohttp.ClientConnectorError | aiohttp.ConnectionTimeoutError):
        if proxy:
            raise TransientProviderError(PROVIDER, f"proxy unreachable: {type(exc).__name__}: {exc}") from exc
        raise SiteError(f"connection failed: {exc or type(exc).__name__}") from None
    if isinstance(exc, TimeoutError):
        raise SiteError(timeout_reason or f"timeout after {timeout_s:g}s") from None
    if isinstance(exc, aiohttp.ClientPayloadError) and _undecodable(exc):
        raise SiteError(f"undecodable response body: {exc}") from None
    if isinstance(exc, aiohttp.ServerDisconnectedError | aiohttp.ClientOSError | aiohttp.ClientPayloadError):
        raise SiteError(f"connection reset by the site ({type(exc).__name__})") from None
    if isinstance(exc, aiohttp.InvalidURL):
        raise FetchRefused(f"invalid URL {url!r}: {exc}") from None
    raise SiteError(f"transport error: {type(exc).__name__}: {exc}") from None


def _undecodable(exc: BaseException) -> bool:
    """A Content-Encoding that does not decode (aiohttp reports it as a payload error)."""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, ContentEncodingError) or "content-encoding" in str(seen).lower():
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def raise_for_site_429(response: httpx.Response | aiohttp.ClientResponse, domain: str) -> None:
    """A site's 429 is worth a retry later, after its Retry-After."""
    status = response.status_code if isinstance(response, httpx.Response) else response.status
    if status == 429:
        raise TransientProviderError(
            PROVIDER, f"HTTP 429 from {domain}", retry_after_s=retry_after_seconds(response.headers.get("retry-after"))
        )


async def read_capped(response: httpx.Response, max_bytes: int) -> tuple[bytes, bool]:
    """The body, cut at `max_bytes`: (body, truncated). Stops reading at the cap."""
    body = bytearray()
    async for chunk in response.aiter_bytes():
        body.extend(chunk)
        if len(body) > max_bytes:
            del body[max_bytes:]
            return bytes(body), True
    return bytes(body), False


@dataclass
class FetchResult:
    url: str
    final_url: str
    status: int
    headers: dict[str, str]
    body: bytes
    truncated: bool
    ttfb_ms: float
    total_ms: float
    redirects: list[str] = field(default_factory=list)
    cookies: dict[str, str] = field(default_factory=dict)
    unfinished: bool = False  # the page was still arriving at the deadline; `body` is what came before it

    @property
    def content_type(self) -> str:
        return self.headers.get("content-type", "").split(";")[0].strip().lower()

    def text(self) -> str:
        """The body decoded with the declared charset (UTF-8 otherwise), never failing."""
        charset = "utf-8"
        for part in self.headers.get("content-type", "").split(";")[1:]:
            key, _, value = part.partition("=")
            if key.strip().lower() == "charset" and value.strip():
                charset = value.strip().strip("\"'")
        try:
            return self.body.decode(charset, errors="replace")
        except LookupError:
            return self.body.decode("utf-8", errors="replace")


class _DomainLimiter:
    """One asyncio semaphore per domain, dropped again when nobody uses it."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._sems: dict[str, asyncio.Semaphore] = {}
        self._users: Counter[str] = Counter()

    @asynccontextmanager
    async def slot(self, key: str) -> AsyncIterator[None]:
        sem = self._sems.setdefault(key, asyncio.Semaphore(self.limit))
        self._users[key] += 1
        try:
            async with sem:
                yield
        finally:
            self._users[key] -= 1
            if self._users[key] <= 0:
                del self._users[key]
                self._sems.pop(key, None)


def domain_key(url: str) -> str:
    """The politeness key: the host without a leading ``www.``."""
    host = (urlsplit(url).hostname or "").lower()
    return host[4:] if host.startswith("www.") else host


class WebFetcher:
    """Fetch pages through an optional proxy; see the module docstring."""

    def __init__(
        self,
        proxy: str | None = None,
        timeout_s: float = 10.0,
        max_bytes: int = 2_000_000,
        user_agent: str | None = None,
        per_domain_concurrency: int = 2,
        allowlist: list[str] | None = None,
        resolver_nameservers: list[str] | None = None,
        *,
        max_redirects: int = 5,
        robots_ttl_s: float = 6 * 3600,
        robots_error_ttl_s: float = 300.0,
        max_connections: int = 100,
        per_domain_rate: str | None = None,
        redis_url: str = "",
        robots_key_prefix: str = ROBOTS_KEY_PREFIX,
        clock: Clock = SYSTEM_CLOCK,
        guard: NetGuard | None = None,
    ) -> None:
        """`per_domain_rate`: requests started per domain (``"2/second"``, ``"30/minute"``), None for no limit.
        `redis_url`: shares both that rate and the robots.txt cache across workers; empty keeps them per process.
        `robots_key_prefix`: where in Redis the robots.txt verdicts are (`Settings.redis_prefix`).
        `clock`: expires robots.txt verdicts and times rate-limit waits (entries in Redis expire by their TTL).
        `guard`: the SSRF guard to use (else one from `allowlist` and `resolver_nameservers`).
        """
        self.clock = clock
        self.proxy = proxy
        self.timeout_s = timeout_s
        self.max_bytes = max_bytes
        self.user_agent = user_agent or USER_AGENT
        self.max_redirects = max_redirects
        self.robots_ttl_s = robots_ttl_s
        self.robots_error_ttl_s = robots_error_ttl_s
        self.per_domain_rate = per_domain_rate
        # With a proxy, the proxy resolves names: see providers.netguard for what is checked then.
        self.guard = guard or NetGuard(
            allowlist, resolve_names=proxy is None, resolver_nameservers=resolver_nameservers
        )
        self._limiter = _DomainLimiter(per_domain_concurrency)
        self._rate = (
            SharedRateLimiter(redis_url, provider=PROVIDER, rate=per_domain_rate, clock=clock)
            if per_domain_rate
            else None
        )
        self._shared_robots = SharedRobots(redis_url, prefix=robots_key_prefix, clock=clock) if redis_url else None
        self._robots: dict[str, RobotsVerdict] = {}
        self._robots_locks: dict[str, asyncio.Lock] = {}
        self._client = sitehttp.SiteClient(
            proxy=proxy,
            guard=self.guard,  # direct mode: connect only to the addresses the guard checked
            timeout_s=timeout_s,
            headers={"User-Agent": self.user_agent, "Accept": "text/html,application/xhtml+xml;q=0.9,*/*;q=0.5"},
            max_connections=max_connections,
        )

    async def aclose(self) -> None:
        await self._client.aclose()
        if self._shared_robots is not None:
            await self._shared_robots.aclose()

    async def fetch(self, url: str) -> FetchResult:
        """GET `url`, following guarded redirects; raises FetchRefused/RobotsDisallowed/SiteError."""
        current, redirects, spent_ms = url, [], 0.0
        for _ in range(self.max_redirects + 1):
            await self.guard.check(current)
            await self.check_robots(current)
            hop = await self._get_once(current, self.max_bytes, read_body=True, keep_unfinished=True)
            location = hop.headers.get("location")
            if hop.status in REDIRECT_STATUSES and location:
                spent_ms += hop.total_ms
                current = urljoin(current, location.strip())
                redirects.append(current)
                continue
            hop.url, hop.redirects = url, redirects
            hop.ttfb_ms += spent_ms
            hop.total_ms += spent_ms
            return hop
        raise SiteError(f"more than {self.max_redirects} redirects")

    async def check_robots(self, url: str) -> None:
        """Raise `RobotsDisallowed` when the site's robots.txt forbids `url` for our user agent."""
        robots = await self._robots_for(url)
        if robots.parser is None:
            if not robots.allow_all:
                raise RobotsDisallowed(robots.reason)
            return
        if not robots.parser.can_fetch(url, self.user_agent):
            raise RobotsDisallowed(f"robots.txt disallows {urlsplit(url).path or '/'}")

    async def _robots_for(self, url: str) -> RobotsVerdict:
        parts = urlsplit(url)
        origin = f"{parts.scheme}://{parts.netloc}".lower()
        cached = self._robots.get(origin)
        if cached and cached.expires > self.clock.monotonic():
            return cached
        lock = self._robots_locks.setdefault(origin, asyncio.Lock())
        async with lock:
            cached = self._robots.get(origin)
            if cached and cached.expires > self.clock.monotonic():
                return cached
            if self._shared_robots is None:
                robots = await self._load_robots(origin)
            else:
                robots = await self._load_shared_robots(origin, self._shared_robots)
            self._robots[origin] = robots
            return robots

    async def _load_shared_robots(self, origin: str, shared: SharedRobots) -> RobotsVerdict:
        """The verdict from Redis; else fetch it (one worker at a time per origin) and put it there.

        Two round trips to Redis on a miss: `SharedRobots.claim` (look, else lock) and `SharedRobots.release`.
        """
        hold_s = 2 * self.timeout_s  # the lock outlives one robots.txt fetch; a crashed holder frees it by then
        deadline = time.monotonic() + hold_s
        while True:
            robots, token = await shared.claim(origin, hold_s)
            if robots is not None:
                return robots
            if token is not None or time.monotonic() >= deadline:
                break
            await asyncio.sleep(ROBOTS_WAIT_POLL_S)
        fetched = None
        try:
            fetched = await self._load_robots(origin)
            return fetched
        finally:
            await shared.release(origin, token, fetched)

    async def _load_robots(self, origin: str) -> RobotsVerdict:
        """RFC 9309: 2xx parse, 4xx allow all, 5xx or unreachable disallow all (cached shorter)."""
        expires = self.clock.monotonic() + self.robots_ttl_s
        retry_at = self.clock.monotonic() + min(self.robots_error_ttl_s, self.robots_ttl_s)
        current = origin + "/robots.txt"
        try:
            for _ in range(self.max_redirects + 1):
                await self.guard.check(current)
                hop = await self._get_once(current, ROBOTS_MAX_BYTES, read_body=True)
                location = hop.headers.get("location")
                if hop.status in REDIRECT_STATUSES and location:
                    current = urljoin(current, location.strip())
                    continue
                break
            else:
                return RobotsVerdict(None, True, "robots.txt redirects too often: treated as absent", expires)
        except (SiteError, FetchRefused) as exc:
            reason = f"robots.txt unreachable ({exc}): treated as disallow all"
            return RobotsVerdict(None, False, reason, retry_at)
        if 200 <= hop.status < 300:
            text = hop.text()
            return RobotsVerdict(Protego.parse(text), True, "robots.txt", expires, text)
        if 400 <= hop.status < 500:
            return RobotsVerdict(None, True, f"robots.txt answered HTTP {hop.status}: allow all", expires)
        return RobotsVerdict(None, False, f"robots.txt answered HTTP {hop.status}: treated as disallow all", retry_at)

    async def _get_once(
        self, url: str, max_bytes: int, *, read_body: bool, keep_unfinished: bool = False
    ) -> FetchResult:
        """One GET without redirects, inside the domain's concurrency and rate slots and a whole-request deadline.

        With `keep_unfinished`, a body still arriving at the deadline is kept as far as it came
        (`FetchResult.unfinished`); otherwise, and always when no answer came, the deadline is a `SiteError`.
        """
        domain = domain_key(url)
        async with self._limiter.slot(domain):
            await self._take_rate_slot(domain)
            started = time.perf_counter()
            with site_request_errors(url, timeout_s=self.timeout_s, proxy=self.proxy):
                async with asyncio.timeout(self.timeout_s) as deadline:
                    async with self._client.get(url) as response:
                        ttfb_ms = (time.perf_counter() - started) * 1000
                        raise_for_site_429(response, domain)
                        page = sitehttp.PageBody(b"")
                        if read_body and response.status not in REDIRECT_STATUSES:
                            until = deadline.when() if keep_unfinished else None
                            if until is not None:  # the body stops itself at `until`; closing it gets a moment more
                                deadline.reschedule(until + BODY_CLOSE_GRACE_S)
                            page = await sitehttp.read_capped(response, max_bytes, until=until)
            total_ms = (time.perf_counter() - started) * 1000
        headers, cookies = {}, {}
        for key, value in response.headers.items():
            key = key.lower()
            if key != "set-cookie":
                headers[key] = value  # a repeated header keeps its last value, as before
                continue
            name, _, rest = value.partition("=")
            cookies[name.strip()] = rest.split(";")[0].strip()
        return FetchResult(
            url,
            str(response.url),
            response.status,
            headers,
            page.body,
            page.truncated,
            ttfb_ms,
            total_ms,
            cookies=cookies,
            unfinished=page.unfinished,
        )

    async def _take_rate_slot(self, domain: str) -> None:
        """Wait for the domain's rate slot (see the module docstring for why inside the concurrency slot)."""
        if self._rate is None:
            return
        try:
            await self._rate.acquire(domain, timeout_s=self.timeout_s)
        except TransientProviderError as exc:
            raise TransientProviderError(
                PROVIDER,
                f"per-domain rate {self.per_domain_rate} for {domain}: no slot within {self.timeout_s:g}s",
                retry_after_s=exc.retry_after_s,
            ) from None
        except REDIS_ERRORS as exc:  # without the shared window we cannot be polite: retry later
            raise TransientProviderError(
                PROVIDER, f"per-domain rate limiter unavailable: {type(exc).__name__}: {exc}"
            ) from exc
