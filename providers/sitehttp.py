"""The HTTP client of the plain website fetches (`providers.web.WebFetcher`): aiohttp, not httpx.

A site request through httpx/httpcore/anyio cost ~570-870 us of client CPU where
aiohttp took ~250 us (`perf/bench_site_client.py`: robots.txt, home and contact
page of each site through the simulator's proxy), and the enrich stage makes
three of them per lead. Everything around the request stays in `WebFetcher`
(redirects, robots.txt, per-domain slots, the size cap, the deadline); errors
map through `providers.web.site_request_errors` as httpx's did.

* Through a proxy, plain ``http://`` goes to it in absolute form (aiohttp's
  own proxy support); aiohttp pools those connections per site, which suits a
  lead's robots.txt, home and contact page on one connection.
* Without one, every connection goes to an address the SSRF guard checked:
  `PinnedResolver` answers aiohttp's name lookups with
  `NetGuard.connect_addresses` (the same pinning as `providers.pinned` gives
  httpx), and no lookup is cached beside the guard's own pins. IP literals
  never reach a resolver; `WebFetcher` checks every URL with the guard first.
* No cookies are parsed or kept (`DummyCookieJar`): one site's cookies must
  never ride along to another, and `FetchResult.cookies` reads the headers.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import NamedTuple

import aiohttp
from aiohttp.abc import AbstractResolver, ResolveResult

from providers.netguard import NetGuard

# h11 (httpx) accepted a header block of up to 16 KiB; aiohttp's default per line is 8 KiB.
MAX_HEADER_BYTES = 16 * 1024


class PinnedResolver(AbstractResolver):
    """aiohttp's name lookups answered by the guard: only checked addresses, in the guard's order."""

    def __init__(self, guard: NetGuard) -> None:
        self.guard = guard

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        addresses = await self.guard.connect_addresses(host, port)
        return [
            ResolveResult(
                hostname=host,
                host=str(ip),
                port=port,
                family=socket.AF_INET6 if ip.version == 6 else socket.AF_INET,
                proto=0,
                flags=socket.AI_NUMERICHOST,
            )
            for ip in addresses
        ]

    async def close(self) -> None:
        return None


class SiteClient:
    """GET requests to websites, pooled; `get` yields aiohttp's response with its body unread."""

    def __init__(
        self,
        *,
        proxy: str | None,
        guard: NetGuard,
        timeout_s: float,
        headers: dict[str, str],
        max_connections: int = 100,
        keepalive_expiry_s: float = 5.0,
    ) -> None:
        self.proxy = proxy
        self._guard = guard
        self._timeout = aiohttp.ClientTimeout(total=None, sock_connect=min(timeout_s, 5.0))
        self._headers = headers
        self._max_connections = max_connections
        self._keepalive_s = keepalive_expiry_s
        self._session: aiohttp.ClientSession | None = None

    def _open(self) -> aiohttp.ClientSession:
        """The session, made on first use: aiohttp binds it to the running event loop."""
        connector = aiohttp.TCPConnector(
            limit=self._max_connections,
            limit_per_host=0,  # `WebFetcher` holds each domain to its own concurrency
            keepalive_timeout=self._keepalive_s,
            use_dns_cache=False,  # the guard pins names for its TTL; nothing else may
            resolver=None if self.proxy else PinnedResolver(self._guard),
            happy_eyeballs_delay=None,  # the guard's addresses, one after another, as httpx tried them
        )
        self._session = aiohttp.ClientSession(
            connector=connector,
            cookie_jar=aiohttp.DummyCookieJar(),
            headers=self._headers,
            timeout=self._timeout,
            trust_env=False,
            max_line_size=MAX_HEADER_BYTES,
            max_field_size=MAX_HEADER_BYTES,
        )
        return self._session

    @asynccontextmanager
    async def get(self, url: str) -> AsyncIterator[aiohttp.ClientResponse]:
        """One GET, no redirects followed; the response (body unread) inside the block."""
        session = self._session or self._open()
        async with session.get(url, proxy=self.proxy, allow_redirects=False) as response:
            yield response

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None


class PageBody(NamedTuple):
    """What `read_capped` read: the body, and whether the size cap or the deadline cut it short."""

    body: bytes
    truncated: bool = False  # more than `max_bytes`: the rest was not read
    unfinished: bool = False  # still arriving at the deadline: what came before it


async def read_capped(response: aiohttp.ClientResponse, max_bytes: int, *, until: float | None = None) -> PageBody:
    """The (decoded) body, cut at `max_bytes` and, given `until` (the loop's clock), at that moment.

    A page that answered and is still streaming at the deadline is a live site with a slow page, not a
    site that did not answer: the caller gets what arrived, marked `unfinished`.
    """
    body = bytearray()
    deadline = asyncio.timeout_at(until)
    try:
        async with deadline:
            async for chunk in response.content.iter_chunked(64 * 1024):
                body.extend(chunk)
                if len(body) > max_bytes:
                    del body[max_bytes:]
                    return PageBody(bytes(body), truncated=True)
    except TimeoutError:
        if not deadline.expired():
            raise
        return PageBody(bytes(body), unfinished=True)
    return PageBody(bytes(body))
