"""Prometheus metrics of the stream core (served at the worker's /metrics).

Names, types and labels are the metrics contract (`ops/contract.py`): the
dashboards and alert rules select exactly these. Each metric is set where the
truth is: the stage runner (events, outputs, retries, deferrals, dead letters,
timings, in flight, progress), the worker's rebalance listener (assigned
partitions, rebalances), the tables' sampler (keys), the loop monitor
(`streams.health`), and the email stage's guards and outbox sampler. Provider
and Chromium metrics live in `providers.metrics` (a lower layer that cannot
import this one).

Known label values are initialised at zero (`init_stage`), so a rate is 0
rather than absent before the first event, and an alert can tell "none" from
"no data".
"""

from __future__ import annotations

from collections.abc import Iterable

from prometheus_client import Counter, Gauge, Histogram

from providers.metrics import series as series  # re-exported: cached labelled children, for every layer

# Seconds, from a few ms (a cached enrich, a score) to a minute (a stalled render or provider).
STAGE_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60)
# Ingest → terminal: the SLO bound (300 s) and the p95 target (30 s) are bucket edges.
E2E_BUCKETS = (0.5, 1, 2, 5, 10, 20, 30, 60, 120, 300, 600, 1800)

# ---- stage runner ---------------------------------------------------------------------------------
CONSUMED = Counter("leadstream_stage_events_consumed_total", "Events a stage took from its source topic.", ["stage"])
EVENTS = Counter(
    "leadstream_stage_events_total",
    "Events handled, by stage and outcome (forwarded, terminal, dead_lettered, skipped_ended, internal_error; "
    "redelivered: a rebalance's redelivery of a message this worker had handled, acked without handling it again).",
    ["stage", "outcome"],
)
PRODUCED = Counter(
    "leadstream_stage_messages_produced_total", "Messages a stage produced, by destination topic.", ["stage", "topic"]
)
DEAD_LETTERS = Counter(
    "leadstream_dead_letters_total", "Dead letters written, by stage and reason (error type).", ["stage", "reason"]
)
RETRIES = Counter("leadstream_stage_retries_total", "Retries after transient errors.", ["stage", "error"])
DEFERRALS = Counter(
    "leadstream_stage_deferrals_total",
    "Deferred events (waits, not failures), by stage and reason.",
    ["stage", "reason"],
)
PROCESSING_SECONDS = Histogram(
    "leadstream_stage_processing_seconds",
    "Time to handle one event (decode, handle, retries and waits included), by stage.",
    ["stage"],
    buckets=STAGE_BUCKETS,
)
BATCH_SECONDS = Histogram(
    "leadstream_stage_batch_seconds",
    "Wall time of one batch (handle, record, send), by stage.",
    ["stage"],
    buckets=STAGE_BUCKETS,
)
IN_FLIGHT = Gauge("leadstream_stage_in_flight", "Events taken and not yet finished, by stage.", ["stage"])
LAST_PROGRESS = Gauge(
    "leadstream_stage_last_progress_timestamp_seconds",
    "Unix time a stage last finished an event (or started, before its first).",
    ["stage"],
)

# ---- leads ----------------------------------------------------------------------------------------
TERMINAL = Counter("leadstream_terminal_total", "Leads that reached a terminal state.", ["state"])
E2E_SECONDS = Histogram(
    "leadstream_lead_e2e_seconds", "Ingest to terminal state, by state.", ["state"], buckets=E2E_BUCKETS
)

# ---- worker ---------------------------------------------------------------------------------------
ASSIGNED_PARTITIONS = Gauge(
    "leadstream_worker_assigned_partitions", "Partitions of each topic assigned to this worker.", ["topic"]
)
REBALANCES = Counter("leadstream_worker_rebalances_total", "Partition assignments this worker received.")

# ---- tables ---------------------------------------------------------------------------------------
TABLE_KEYS = Gauge("leadstream_table_keys", "Keys held in a table partition on this worker.", ["table", "partition"])

# ---- email (set by the email stage: guards and the outbox sampler) ---------------------------------
OUTBOX_ENTRIES = Gauge("leadstream_email_outbox_entries", "Email outbox entries by status.", ["status"])
EMAILS_SENT = Counter("leadstream_emails_sent_total", "Emails handed to SendGrid and marked sent.")
EMAIL_BOUNCE_RATE = Gauge("leadstream_email_bounce_rate", "Hard bounces / sends over the guard's sliding window.")
EMAIL_SPAM_RATE = Gauge("leadstream_email_spam_rate", "Spam reports / sends over the guard's sliding window.")
EMAIL_SENT_ENDED_OTHERWISE = Gauge(
    "leadstream_email_sent_ended_otherwise",
    "Leads emailed in the last hour whose record ended as something else (0 while the claim's fence holds).",
)
EMAIL_SENDING_PAUSED = Gauge("leadstream_email_sending_paused", "1 while the deliverability guard pauses sending.")
OUTBOX_STATUSES = ("pending", "sent", "retryable", "failed", "suppressed")

# ---- the unattended dead-letter replay (set by every worker: `leadstream.telemetry.sample_dead_letters`) -----
DEAD_LETTERS_UNATTENDED_OLDEST = Gauge(
    "leadstream_dead_letters_unattended_oldest_seconds",
    "Age of the oldest dead letter that the unattended replay (k8s/base/dlq-replay.yaml) should have put back by "
    "now (a transient cause, at least 15 min old, not replayed; storage.dead_letters.UNATTENDED); 0 when none. "
    "Under 45 min while the replay runs every 30 min.",
)

# ---- retention (set by every worker: `leadstream.telemetry.sample_retention`) ---------------------------------
RETENTION_OVERDUE = Gauge(
    "leadstream_retention_overdue_seconds",
    "How long the oldest row the retention policy says is gone has been due (a dead letter past "
    "LEADSTREAM_RETENTION__DEAD_LETTERS_DAYS, an audit month past LEADSTREAM_RETENTION__AUDIT_MONTHS); 0 when none "
    "is. Under a day while the nightly prune (k8s/base/db-prune.yaml) runs.",
)

# ---- dedupe's phone directory (set by the dedupe stage: `stages.dedupe.stage.DedupeStage.complete_batch`) ------
DEDUPE_DIRECTORY_TWINS = Counter(
    "leadstream_dedupe_directory_twins_total",
    "Leads that the phone directory found a twin for in another state (each ends as its duplicate), by the kind "
    "of key that found it: phone, name_street (LEADSTREAM_DEDUPE_NAME_STREET_KEYS) or name_city "
    "(LEADSTREAM_DEDUPE_NAME_CITY_KEYS).",
    ["key"],
)
DEDUPE_DIRECTORY_CALL_SECONDS = Histogram(
    "leadstream_dedupe_directory_call_seconds",
    "One call of the phone directory: a dedupe batch's claims (40 leads' of a longer batch), one transaction.",
    buckets=STAGE_BUCKETS,
)
# ---- dedupe's outreach survivor (the dedupe stage: `stages.dedupe.stage.DedupeStage`, `stages.dedupe.merge`) ----
DEDUPE_STAND_INS = Counter(
    "leadstream_dedupe_stand_ins_total",
    "Duplicates that went on to outreach in place of their entity's lead, which had no address to write to "
    "(each lead once: a redelivery's replayed answer is not counted again).",
)

# ---- process --------------------------------------------------------------------------------------
EVENT_LOOP_LAG = Gauge(
    "leadstream_event_loop_lag_seconds", "How late the event loop ran its last heartbeat (streams.health)."
)

OUTCOMES = ("forwarded", "terminal", "dead_lettered", "skipped_ended", "internal_error", "redelivered")
TERMINAL_STATES = ("emailed", "duplicate", "disqualified", "suppressed", "dead_lettered")
# What a deferral's wait is counted as (`streams.failures.deferral_kind`; an open circuit's wait: circuit_open).
DEFERRAL_REASONS = ("send_cap", "paused", "window", "budget", "circuit_open", "other")


def init_stage(stage: str, sinks: tuple[str, ...] | frozenset[str] = ()) -> None:
    """Create a stage's known series at zero, so rates read 0 (not absent) before the first event."""
    CONSUMED.labels(stage)
    for outcome in OUTCOMES:
        EVENTS.labels(stage, outcome)
    for reason in DEFERRAL_REASONS:
        DEFERRALS.labels(stage, reason)
    DEAD_LETTERS.labels(stage, "InvalidMessage")
    for topic in sinks:
        PRODUCED.labels(stage, topic)
    PROCESSING_SECONDS.labels(stage)
    BATCH_SECONDS.labels(stage)
    IN_FLIGHT.labels(stage).set(0)
    for state in TERMINAL_STATES:
        TERMINAL.labels(state)
        E2E_SECONDS.labels(state)


def init_dedupe_directory(key_kinds: Iterable[str]) -> None:
    """The phone directory's series of the key kinds it claims under (`stages.dedupe.phone_look.key_kinds`), at zero
    until its first twin."""
    for key in key_kinds:
        DEDUPE_DIRECTORY_TWINS.labels(key)


def init_email() -> None:
    """The email series, at zero until the sampler's first reading."""
    for status in OUTBOX_STATUSES:
        OUTBOX_ENTRIES.labels(status)
    EMAILS_SENT.inc(0)
    EMAIL_SENT_ENDED_OTHERWISE.set(0)
