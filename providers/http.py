"""The one HTTP client layer for providers.

All httpx-based adapters get their client from `make_client` and turn
responses into data or typed errors with `raise_for_provider`. Retries are not
done here: the stage runner retries `TransientProviderError` with backoff, so
there is exactly one retry policy (and one place that counts attempts).
"""

from __future__ import annotations

import email.utils
import time
from http.cookiejar import CookieJar
from typing import TYPE_CHECKING, Any

import httpx

from config import VERSION
from config.redact import install_log_redaction

if TYPE_CHECKING:  # the SSRF guard (and dnspython) load only where website clients are made
    from providers.netguard import NetGuard

USER_AGENT = f"leadstream/{VERSION} (+https://leadstream.example/bot)"

# httpx logs every request URL at INFO, API keys in the query string included: mask them in every log line.
install_log_redaction()


class ProviderError(Exception):
    """A provider call failed. `provider` names who failed."""

    def __init__(self, provider: str, message: str) -> None:
        super().__init__(f"{provider}: {message}")
        self.provider = provider


class TransientProviderError(ProviderError):
    """Worth retrying: timeouts, connection errors, 5xx, 429."""

    def __init__(self, provider: str, message: str, retry_after_s: float | None = None) -> None:
        super().__init__(provider, message)
        self.retry_after_s = retry_after_s


class PermanentProviderError(ProviderError):
    """Retrying cannot help: 4xx other than 408/429, or a response we cannot parse."""


class _NoCookieJar(CookieJar):
    """A jar that keeps nothing and sends nothing."""

    def extract_cookies(self, response: Any, request: Any) -> None:
        return None

    def add_cookie_header(self, request: Any) -> None:
        return None


class NoCookies(httpx.Cookies):
    """Cookies of a client that keeps none: responses' Set-Cookie headers are not even parsed (httpx wraps
    every response for `http.cookiejar` otherwise, a measurable share of a website fetch's CPU)."""

    def __init__(self) -> None:
        super().__init__()
        self.jar = _NoCookieJar()

    def extract_cookies(self, response: httpx.Response) -> None:
        return None

    def set_cookie_header(self, request: httpx.Request) -> None:
        return None


class ForwardProxyTransport(httpx.AsyncBaseTransport):
    """Plain ``http://`` through a forward proxy on keep-alive connections to the proxy that every site shares.

    httpx pools forward-proxy connections per *site* (httpcore's ``AsyncForwardHTTPConnection`` serves one
    remote origin), so a client that visits a new site for each lead opened a new TCP connection to the
    same proxy for nearly every request: connect and pool bookkeeping were a hot spot of the enrich stage.
    Here a plain request goes to the proxy in absolute form (``GET http://site/path``, the original
    ``Host`` header kept), exactly what httpx sends, on a pool of connections to the proxy alone.
    ``https://`` still tunnels per site (CONNECT) through httpx's own proxy transport.
    Idle connections expire on the client's `keepalive_expiry` (5 s), well inside usual proxy idle timeouts.
    """

    def __init__(self, proxy: str, limits: httpx.Limits) -> None:
        self._proxy = httpx.Proxy(proxy)
        # Made once: httpx parses a URL in Python (copy_with cost ~20-40 us on every request here).
        self._proxy_root = self._proxy.url.copy_with(path="/", query=None, fragment=None)
        self._plain = httpx.AsyncHTTPTransport(limits=limits, trust_env=False)
        self._tunnel = httpx.AsyncHTTPTransport(proxy=self._proxy, limits=limits, trust_env=False)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if request.url.scheme != "http" or self._proxy.url.scheme != "http":
            return await self._tunnel.handle_async_request(request)
        url = request.url
        proxied = httpx.Request(
            request.method,
            self._proxy_root,
            headers=[*self._proxy.headers.raw, *request.headers.raw],
            stream=request.stream,
            extensions={**request.extensions, "target": url.raw_scheme + b"://" + url.netloc + url.raw_path},
        )
        return await self._plain.handle_async_request(proxied)

    async def aclose(self) -> None:
        await self._plain.aclose()
        await self._tunnel.aclose()


def make_client(
    base_url: str = "",
    *,
    timeout_s: float = 10.0,
    headers: dict[str, str] | None = None,
    proxy: str | None = None,
    max_connections: int = 100,
    max_keepalive: int | None = None,
    keepalive_expiry_s: float = 5.0,
    keep_cookies: bool = True,
    follow_redirects: bool = False,
    guard: NetGuard | None = None,
) -> httpx.AsyncClient:
    """A pooled async client with the project's user agent and timeouts everywhere.

    Clients that talk to many different hosts (websites) want a small
    `max_keepalive`: httpcore scans every pooled connection on each request, so
    hundreds of idle connections to sites never visited again cost more CPU
    than the reconnects they save. Such clients also want ``keep_cookies=False``:
    one site's cookies must never ride along to another (or to another
    lead's visit), and a jar of thousands of sites' cookies costs CPU on
    every response.

    With a `guard` and no proxy, every connection goes to an address the guard
    checked (`providers.pinned`): the client for third-party websites. With a
    `proxy`, plain HTTP shares keep-alive connections to it (`ForwardProxyTransport`).
    """
    limits = _limits(max_connections, max_keepalive, keepalive_expiry_s)
    transport: httpx.AsyncBaseTransport | None = None
    if proxy is not None:
        transport = ForwardProxyTransport(proxy, limits)
    elif guard is not None:
        from providers.pinned import PinnedTransport

        transport = PinnedTransport(guard, limits)
    client = httpx.AsyncClient(
        base_url=base_url,
        timeout=httpx.Timeout(timeout_s, connect=min(timeout_s, 5.0)),
        headers={"User-Agent": USER_AGENT, **(headers or {})},
        limits=limits,
        transport=transport,
        follow_redirects=follow_redirects,
        trust_env=False,
    )
    _linear_pools(client._transport)
    if not keep_cookies:
        # httpx's setter would wrap it in a plain Cookies (which parses every response): set the attribute.
        client._cookies = NoCookies()
    return client


def _linear_pools(transport: httpx.AsyncBaseTransport) -> None:
    """Every httpcore pool under `transport` with the linear bookkeeping pass (`providers.pool`)."""
    from providers.pool import linear_pool

    for inner in (transport, getattr(transport, "_plain", None), getattr(transport, "_tunnel", None)):
        if isinstance(inner, httpx.AsyncHTTPTransport):
            linear_pool(inner._pool)


def _limits(max_connections: int, max_keepalive: int | None, keepalive_expiry_s: float) -> httpx.Limits:
    return httpx.Limits(
        max_connections=max_connections,
        max_keepalive_connections=max_connections if max_keepalive is None else max_keepalive,
        keepalive_expiry=keepalive_expiry_s,
    )


def retry_after_seconds(value: str | None) -> float | None:
    """Parse a Retry-After header: delta-seconds or an HTTP date."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def raise_for_provider(provider: str, response: httpx.Response) -> httpx.Response:
    """Return the response when it is a success, else raise the matching error."""
    status = response.status_code
    if status < 400:
        return response
    detail = response.text[:200].replace("\n", " ")
    if status in (408, 429) or status >= 500:
        raise TransientProviderError(
            provider, f"HTTP {status}: {detail}", retry_after_s=retry_after_seconds(response.headers.get("Retry-After"))
        )
    raise PermanentProviderError(provider, f"HTTP {status}: {detail}")


async def send(client: httpx.AsyncClient, provider: str, method: str, url: str, **kwargs) -> httpx.Response:
    """Send one request; map transport failures to provider errors and return any response.

    For adapters that must read an error body before `raise_for_provider`
    classifies it (a Lighthouse failure inside a 500, Hunter's 451).
    """
    try:
        return await client.request(method, url, **kwargs)
    except httpx.TimeoutException as exc:
        raise TransientProviderError(provider, f"timeout: {type(exc).__name__}") from exc
    except httpx.TransportError as exc:
        raise TransientProviderError(provider, f"transport error: {type(exc).__name__}: {exc}") from exc


async def request(client: httpx.AsyncClient, provider: str, method: str, url: str, **kwargs) -> httpx.Response:
    """Send one request; map transport failures and error statuses to provider errors."""
    return raise_for_provider(provider, await send(client, provider, method, url, **kwargs))
