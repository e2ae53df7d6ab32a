"""httpcore's connection pool with a linear bookkeeping pass, for every client `providers.http.make_client` builds.

httpcore (1.0.x) runs `_assign_requests_to_connections` whenever a request
starts and whenever a response is closed. Upstream it is quadratic in the
pooled connections (for each connection it rebuilds the list of all of them to
count the idle ones), polls every idle socket (``has_expired``: is the server
gone?) on every pass, hands one idle HTTP/1.1 connection to every queued
request at once (all but one then fail, re-queue and run the pass again), and
compares the *total* connection count with ``max_keepalive_connections``, so a
busy pool closes every connection that goes idle (upstream encode/httpcore#1035,
#1110; pydantic/httpx2#974, #1075). With a few dozen requests in flight that
bookkeeping cost more CPU than the request itself (`perf/bench_enrich.py`).

The pass here does the same job once per connection:

* closed connections leave the pool; busy ones stay (they have no keep-alive deadline);
* idle ones are checked for expiry (keep-alive timeout, or the server closed
  the socket: one ``poll`` each) at most every `EXPIRY_SWEEP_S`, and always
  right before one is handed to a request, so a request never gets a
  connection that was seen dead;
* idle connections beyond ``max_keepalive_connections`` are closed, oldest first;
* each queued request gets an idle connection to its origin (one request per
  HTTP/1.1 connection, and never a connection already assigned to a request
  that has not started on it yet), else a new connection while the pool is
  below ``max_connections``, else one made by closing an idle connection to
  another origin, else it waits for the next pass, as before.

Only HTTP/1.1 pools are switched (the project never enables HTTP/2); `linear_pool`
leaves a pool it does not recognise as it is.
"""

from __future__ import annotations

import time
from typing import Any

import httpcore

EXPIRY_SWEEP_S = 1.0
_REQUIRED = ("_connections", "_requests", "_max_connections", "_max_keepalive_connections", "create_connection")


class _LinearAssignment:
    """Mixin over `httpcore.AsyncConnectionPool` (or a subclass such as its HTTP proxy pool)."""

    _connections: list[Any]
    _requests: list[Any]
    _max_connections: int
    _max_keepalive_connections: int
    _next_sweep: float = 0.0
    create_connection: Any  # the pool class's own

    def _assign_requests_to_connections(self) -> list[Any]:
        closing: list[Any] = []
        now = time.monotonic()
        sweep = now >= self._next_sweep
        if sweep:
            self._next_sweep = now + EXPIRY_SWEEP_S
        reserved = {id(r.connection) for r in self._requests if r.connection is not None}
        kept: list[Any] = []
        idle: list[Any] = []  # idle and not spoken for, oldest first
        for connection in self._connections:
            if connection.is_closed():
                continue
            if connection.is_idle():
                if sweep and connection.has_expired():  # polls the socket: is the server gone?
                    closing.append(connection)
                    continue
                if id(connection) not in reserved:
                    idle.append(connection)
            # a busy connection has no keep-alive deadline (httpcore clears it when a request starts)
            kept.append(connection)
        surplus = len(idle) - self._max_keepalive_connections
        if surplus > 0:
            evicted = {id(c) for c in idle[:surplus]}
            closing.extend(idle[:surplus])
            idle = idle[surplus:]
            kept = [c for c in kept if id(c) not in evicted]

        for pool_request in [r for r in self._requests if r.is_queued()]:
            origin = pool_request.request.url.origin
            connection = None
            for candidate in list(idle):
                if not candidate.can_handle_request(origin):
                    continue
                idle.remove(candidate)
                if candidate.has_expired():  # the server closed it since the last sweep
                    kept.remove(candidate)
                    closing.append(candidate)
                    continue
                connection = candidate
                break
            if connection is None and len(kept) >= self._max_connections and idle:
                victim = idle.pop(0)  # make room: an idle connection to another origin
                kept.remove(victim)
                closing.append(victim)
            if connection is None and len(kept) < self._max_connections:
                connection = self.create_connection(origin)
                kept.append(connection)
            if connection is None:
                continue  # the pool is full of busy connections: it waits for the next pass
            pool_request.assign_to_connection(connection)
        self._connections[:] = kept
        return closing


_SUBCLASSES: dict[type, type] = {}


def linear_pool(pool: object) -> None:
    """Switch `pool` (an httpcore async pool) to the linear pass, when it is one this module knows."""
    cls = type(pool)
    if not isinstance(pool, httpcore.AsyncConnectionPool) or getattr(pool, "_http2", False):
        return
    if isinstance(pool, _LinearAssignment) or not all(hasattr(pool, name) for name in _REQUIRED):
        return
    sub = _SUBCLASSES.get(cls)
    if sub is None:
        sub = _SUBCLASSES[cls] = type(f"Linear{cls.__name__}", (_LinearAssignment, cls), {})
    pool.__class__ = sub
