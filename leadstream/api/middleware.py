"""The API's ASGI layers: the body-size limit (413 before or while reading) and per-route request metrics.

Both wrap the FastAPI app in `create_app`; they sit below routing, so a refused body never
reaches a handler, and timing labels use the matched route's template, not the path.
"""

from __future__ import annotations

import time

from fastapi import HTTPException
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from leadstream.api import problems


class BodyLimit:
    """Refuse bodies over `max_bytes` with 413: by Content-Length up front, else while reading."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app, self.max_bytes = app, max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        for name, value in scope.get("headers", ()):
            if name == b"content-length":
                try:
                    declared = int(value)
                except ValueError:
                    declared = -1
                if declared < 0 or declared > self.max_bytes:
                    await self._refuse(scope, send, declared)
                    return
        seen = 0

        async def counted() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_bytes:
                    # an HTTPException: FastAPI re-raises it from body parsing (anything else becomes a 400)
                    raise HTTPException(413, f"the body is over {self.max_bytes} bytes")
            return message

        await self.app(scope, counted, send)

    async def _refuse(self, scope: Scope, send: Send, declared: int) -> None:
        if declared < 0:
            response = problems.problem_response(None, 400, "bad-request", "invalid Content-Length")
        else:
            response = problems.problem_response(
                None, 413, "payload-too-large", f"the body ({declared} bytes) is over {self.max_bytes} bytes"
            )
        await response(scope, lambda: _empty(), send)  # type: ignore[arg-type]


async def _empty() -> Message:
    return {"type": "http.disconnect"}


class ApiMetrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.requests = Counter(
            "leadstream_api_requests_total", "API requests", ("route", "method", "status"), registry=self.registry
        )
        self.seconds = Histogram(
            "leadstream_api_request_seconds",
            "API request duration",
            ("route", "method"),
            buckets=(0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5),
            registry=self.registry,
        )
        self.leads_accepted = Counter(
            "leadstream_api_leads_accepted_total", "Leads acknowledged by Kafka (202)", registry=self.registry
        )
        self.lag_bytes = Gauge(
            "leadstream_db_replica_lag_bytes",
            "WAL received by the read replica but not replayed",
            registry=self.registry,
        )
        self.lag_seconds = Gauge(
            "leadstream_db_replica_lag_seconds",
            "now() minus the replica's last replayed commit (grows while the primary is idle)",
            registry=self.registry,
        )


class Timing:
    """Count and time each request by its route template (not its path: ids would explode the labels)."""

    def __init__(self, app: ASGIApp, metrics: ApiMetrics) -> None:
        self.app, self.metrics = app, metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        began = time.perf_counter()
        status = [500]

        async def sending(message: Message) -> None:
            if message["type"] == "http.response.start":
                status[0] = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, sending)
        finally:
            route = scope.get("route")
            name = getattr(route, "path", None) or "unmatched"
            self.metrics.requests.labels(name, scope["method"], str(status[0])).inc()
            self.metrics.seconds.labels(name, scope["method"]).observe(time.perf_counter() - began)
