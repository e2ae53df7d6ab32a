"""HTTP connections that go to exactly the addresses the SSRF guard checked (direct mode).

httpx resolves a URL's host itself when it connects, which is a second DNS
lookup after `NetGuard.check`: an attacker's name server can answer a public
address to the check and ``127.0.0.1`` to the connection (DNS rebinding).
Here httpcore's network backend is replaced by one that asks the guard for
the host's checked addresses (`NetGuard.connect_addresses`: one resolution,
every address checked, reused for the guard's pin TTL) and opens the TCP
connection to one of those IPs. Everything above the socket is unchanged:
the Host header and TLS SNI/certificate checks still use the name.

A refused host raises `FetchRefused` out of the request, as the check does.
Only for direct connections: through a proxy the proxy connects, and must
refuse internal targets itself (see `providers.netguard`).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import httpcore
import httpx

from providers.netguard import NetGuard


class PinnedBackend(httpcore.AsyncNetworkBackend):
    """Connects to the guard's checked addresses of a host, in order, until one answers."""

    def __init__(self, guard: NetGuard, inner: httpcore.AsyncNetworkBackend | None = None) -> None:
        self.guard = guard
        self._inner = inner or httpcore.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        addresses = await self.guard.connect_addresses(host, port)
        failure: Exception | None = None
        for ip in addresses:
            try:
                return await self._inner.connect_tcp(str(ip), port, timeout, local_address, socket_options)
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                failure = exc
        assert failure is not None  # connect_addresses never returns an empty list
        raise failure

    async def connect_unix_socket(
        self, path: str, timeout: float | None = None, socket_options: Iterable[Any] | None = None
    ) -> httpcore.AsyncNetworkStream:
        raise httpcore.ConnectError("unix sockets are never used for websites")

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


class PinnedTransport(httpx.AsyncHTTPTransport):
    """httpx's own transport (request mapping, errors, pooling) over a `PinnedBackend`.

    httpx has no public way to pass a network backend, so the connection pool
    it builds is replaced by an equivalent one that uses ours; the rebinding
    tests (tests/enrich/test_rebinding.py) fail if that stops taking effect.
    """

    def __init__(self, guard: NetGuard, limits: httpx.Limits) -> None:
        super().__init__(limits=limits, trust_env=False)
        self._pool = httpcore.AsyncConnectionPool(
            ssl_context=httpx.create_ssl_context(trust_env=False),
            max_connections=limits.max_connections,
            max_keepalive_connections=limits.max_keepalive_connections,
            keepalive_expiry=limits.keepalive_expiry,
            network_backend=PinnedBackend(guard),
        )
