"""The worker's two web surfaces: internal (operators, peers, Prometheus) and public (recipients, SendGrid).

* **Internal** — Faust's own web server: table views, router views,
  ``/metrics``, ``/health``, ``/ready``. It listens on `LEADSTREAM_WEB_BIND`
  (loopback by default). Table views expose lead data, so a bind that leaves
  the host needs `LEADSTREAM_WEB_TOKEN`: every route but ``/health`` and
  ``/ready`` (which the kubelet probes and which say nothing) then requires
  ``Authorization: Bearer <token>``. Faust forwards that header when it routes
  a table request to the worker that owns the key, so peers sharing the token
  keep working.
* **Public** — only the email compliance routes (RFC 8058 one-click
  unsubscribe ``/u/{token}``, the signed SendGrid event webhook) on their own
  aiohttp server, `LEADSTREAM_PUBLIC_WEB_BIND`:`LEADSTREAM_PUBLIC_WEB_PORT`,
  started only by a worker that runs the email stage and has that port set.
  Nothing internal is mounted there.
"""

from __future__ import annotations

import hmac
import logging
from collections.abc import Awaitable, Callable

from aiohttp import web

log = logging.getLogger(__name__)

OPEN_PATHS = frozenset({"/health", "/ready"})  # probes: no data, no token
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def bearer_token_required(
    token: str, open_paths: frozenset[str] = OPEN_PATHS
) -> Callable[[web.Request, Handler], Awaitable[web.StreamResponse]]:
    """An aiohttp middleware that answers 401 unless the request carries ``Authorization: Bearer <token>``."""
    expected = f"Bearer {token}".encode()

    @web.middleware
    async def require_token(request: web.Request, handler: Handler) -> web.StreamResponse:
        if (request.path.rstrip("/") or "/") in open_paths:
            return await handler(request)
        given = request.headers.get("Authorization", "").encode("utf-8", "replace")
        if not hmac.compare_digest(given, expected):
            return web.json_response(
                {"error": "unauthorized"}, status=401, headers={"WWW-Authenticate": 'Bearer realm="leadstream"'}
            )
        return await handler(request)

    return require_token


class PublicSite:
    """The public routes on their own aiohttp server; `start` and `stop` follow the worker's life."""

    def __init__(self, routes: list[web.RouteDef], host: str, port: int) -> None:
        self.app = web.Application(client_max_size=1024 * 1024)  # webhook batches are far smaller
        self.app.add_routes(routes)
        self.host, self.port = host, port
        self._runner: web.AppRunner | None = None

    async def start(self) -> None:
        runner = web.AppRunner(self.app, access_log=None)
        await runner.setup()
        await web.TCPSite(runner, self.host, self.port).start()
        self._runner = runner
        log.info("public routes (unsubscribe, SendGrid webhook) on %s:%s", self.host, self.port)

    async def stop(self) -> None:
        runner, self._runner = self._runner, None
        if runner is not None:
            await runner.cleanup()
