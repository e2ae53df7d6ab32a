"""Prometheus metrics shared by every stage (served at the worker's /metrics)."""

from __future__ import annotations

from prometheus_client import Counter, Histogram

EVENTS = Counter("leadstream_stage_events_total", "Events handled, by stage and outcome.", ["stage", "outcome"])
RETRIES = Counter("leadstream_stage_retries_total", "Retries after transient errors.", ["stage", "error"])
BATCH_SECONDS = Histogram(
    "leadstream_stage_batch_seconds",
    "Wall time of one batch, by stage.",
    ["stage"],
    buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60),
)
TERMINAL = Counter("leadstream_terminal_total", "Leads that reached a terminal state.", ["state"])
E2E_SECONDS = Histogram(
    "leadstream_lead_e2e_seconds",
    "Ingest to terminal state, by state.",
    ["state"],
    buckets=(0.5, 1, 2, 5, 10, 20, 30, 60, 120, 300),
)
DEAD_LETTERS = Counter(
    "leadstream_dead_letters_total", "Dead letters written, by stage and reason (error type).", ["stage", "reason"]
)
DEFERRALS = Counter(
    "leadstream_stage_deferrals_total",
    "Deferred events (waits, not failures), by stage and reason.",
    ["stage", "reason"],
)
