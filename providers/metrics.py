"""Prometheus metrics of the outside-world adapters: provider calls, costs, breakers, budgets, Chromium.

The providers layer sits below `streams`, so its metrics live here (the stream
core's are in `streams.metrics`); both are served by the worker's /metrics.
Names and labels are the metrics contract (`ops/contract.py`).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from typing import Any, TypeVar

from opentelemetry import trace
from prometheus_client import Counter, Gauge, Histogram

CALL_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)
RENDER_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 20, 30, 60)

# outcome: ok, cache_hit, transient_error, permanent_error, circuit_open, budget_paused
CALLS = Counter("leadstream_provider_calls_total", "Provider calls by outcome.", ["provider", "operation", "outcome"])
CALL_SECONDS = Histogram(
    "leadstream_provider_call_seconds",
    "Latency of calls that went out (rate-limit wait excluded).",
    ["provider", "operation"],
    buckets=CALL_BUCKETS,
)
COST_USD = Counter("leadstream_provider_cost_usd_total", "Spend on answered calls, USD.", ["provider"])
BREAKER_STATE = Gauge(
    "leadstream_provider_breaker_state", "Circuit breaker: 0 closed, 1 half-open, 2 open.", ["provider"]
)
BUDGET_REMAINING_USD = Gauge(
    "leadstream_provider_budget_remaining_usd", "Daily budget left today (all workers), USD.", ["provider"]
)
BUDGET_USD = Gauge("leadstream_provider_budget_usd", "Daily budget cap, USD.", ["provider"])

BROWSERS = Gauge("leadstream_chromium_browsers", "Chromium browsers running in this process.")
PAGES_OPEN = Gauge("leadstream_chromium_pages_open", "Renders in progress, by kind (site, mockup).", ["kind"])
RENDERS = Counter("leadstream_chromium_renders_total", "Chromium renders by kind and outcome.", ["kind", "outcome"])
RENDER_SECONDS = Histogram(
    "leadstream_chromium_render_seconds", "Time of one Chromium render, by kind.", ["kind"], buckets=RENDER_BUCKETS
)
RENDER_WAIT_SECONDS = Histogram(
    "leadstream_chromium_render_wait_seconds",
    "Time a render waited for one of the worker's render slots, by kind: queueing, not rendering.",
    ["kind"],
    buckets=RENDER_BUCKETS,
)

_M = TypeVar("_M", Counter, Gauge, Histogram)
_SERIES: dict[tuple[Any, tuple[str, ...]], Any] = {}


def series(metric: _M, *values: str) -> _M:
    """``metric.labels(*values)``, kept: the labelled child of a series is looked up once per process.

    `labels` validates and stringifies its values and takes the metric's lock on every call, which the hot
    path (several series per event in every stage) paid per event. The children are the metric's own, so
    /metrics reads the same values; nothing in the project removes a series (that would detach a kept child).
    """
    key = (metric, values)
    child = _SERIES.get(key)
    if child is None:
        child = _SERIES[key] = metric.labels(*values)
    return child


_TRACER = trace.get_tracer("leadstream")  # child spans of the stage's span when tracing is on

BREAKER_VALUES = {"closed": 0, "half_open": 1, "open": 2}
CALL_OUTCOMES = ("ok", "cache_hit", "transient_error", "permanent_error", "circuit_open", "budget_paused")


def init_provider(provider: str, operation: str) -> None:
    """Create a provider operation's series at zero (a 0 rate, not an absent one)."""
    for outcome in CALL_OUTCOMES:
        CALLS.labels(provider, operation, outcome)
    CALL_SECONDS.labels(provider, operation)
    COST_USD.labels(provider)


def watch_breaker(provider: str, state: Callable[[], str]) -> None:
    """Read the breaker's state at scrape time (it changes with time alone: open → half-open)."""
    BREAKER_STATE.labels(provider).set_function(lambda: BREAKER_VALUES.get(state(), 0))


def init_chromium(kind: str) -> None:
    PAGES_OPEN.labels(kind).set(0)
    for outcome in ("ok", "error"):
        RENDERS.labels(kind, outcome)
    RENDER_SECONDS.labels(kind)
    RENDER_WAIT_SECONDS.labels(kind)


@asynccontextmanager
async def render_slot(slots: asyncio.Semaphore, kind: str) -> AsyncIterator[None]:
    """Hold one of a renderer's slots; the wait for it is observed, so a queue of renders shows on /metrics."""
    started = time.perf_counter()
    async with slots:
        series(RENDER_WAIT_SECONDS, kind).observe(time.perf_counter() - started)
        yield


@contextmanager
def render(kind: str) -> Iterator[None]:
    """Count one Chromium render of `kind`: a page open while it runs, its time and outcome."""
    series(PAGES_OPEN, kind).inc()
    started = time.perf_counter()
    outcome = "error"
    try:
        with _TRACER.start_as_current_span(f"chromium render {kind}", kind=trace.SpanKind.CLIENT):
            yield
        outcome = "ok"
    finally:
        series(PAGES_OPEN, kind).dec()
        series(RENDERS, kind, outcome).inc()
        series(RENDER_SECONDS, kind).observe(time.perf_counter() - started)
