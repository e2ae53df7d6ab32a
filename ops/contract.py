"""The metric names of the metrics contract (METRICS.md, owned by the lead).

Dashboards and alert rules may use only these names; tests/ops checks every
query against this table, so a renamed metric breaks a test here instead of
leaving a panel silently empty. Keep it in step with METRICS.md.
"""

from __future__ import annotations

COUNTER, GAUGE, HISTOGRAM = "counter", "gauge", "histogram"

METRICS: dict[str, tuple[str, tuple[str, ...]]] = {
    # stage runner
    "leadstream_stage_events_consumed_total": (COUNTER, ("stage",)),
    "leadstream_stage_events_total": (COUNTER, ("stage", "outcome")),
    "leadstream_stage_messages_produced_total": (COUNTER, ("stage", "topic")),
    "leadstream_dead_letters_total": (COUNTER, ("stage", "reason")),
    "leadstream_stage_retries_total": (COUNTER, ("stage", "error")),
    "leadstream_stage_deferrals_total": (COUNTER, ("stage", "reason")),
    "leadstream_stage_processing_seconds": (HISTOGRAM, ("stage",)),
    "leadstream_stage_batch_seconds": (HISTOGRAM, ("stage",)),
    "leadstream_stage_in_flight": (GAUGE, ("stage",)),
    "leadstream_stage_last_progress_timestamp_seconds": (GAUGE, ("stage",)),
    # leads
    "leadstream_terminal_total": (COUNTER, ("state",)),
    "leadstream_lead_e2e_seconds": (HISTOGRAM, ("state",)),
    # kafka (lag exporter) and workers
    "leadstream_kafka_consumer_lag": (GAUGE, ("group", "topic", "partition")),
    "leadstream_kafka_log_end_offset": (GAUGE, ("topic", "partition")),
    "leadstream_kafka_committed_offset": (GAUGE, ("group", "topic", "partition")),
    "leadstream_kafka_group_members": (GAUGE, ("group",)),
    "leadstream_worker_assigned_partitions": (GAUGE, ("topic",)),
    "leadstream_worker_rebalances_total": (COUNTER, ()),
    # tables
    "leadstream_table_keys": (GAUGE, ("table", "partition")),
    # the unattended dead-letter replay
    "leadstream_dead_letters_unattended_oldest_seconds": (GAUGE, ()),
    # the nightly retention prune
    "leadstream_retention_overdue_seconds": (GAUGE, ()),
    # dedupe's phone directory
    "leadstream_dedupe_directory_twins_total": (COUNTER, ("key",)),
    "leadstream_dedupe_directory_call_seconds": (HISTOGRAM, ()),
    # dedupe's outreach survivor
    "leadstream_dedupe_stand_ins_total": (COUNTER, ()),
    # providers
    "leadstream_provider_calls_total": (COUNTER, ("provider", "operation", "outcome")),
    "leadstream_provider_call_seconds": (HISTOGRAM, ("provider", "operation")),
    "leadstream_provider_cost_usd_total": (COUNTER, ("provider",)),
    "leadstream_provider_breaker_state": (GAUGE, ("provider",)),
    "leadstream_provider_budget_remaining_usd": (GAUGE, ("provider",)),
    "leadstream_provider_budget_usd": (GAUGE, ("provider",)),
    # email
    "leadstream_email_outbox_entries": (GAUGE, ("status",)),
    "leadstream_emails_sent_total": (COUNTER, ()),
    "leadstream_email_bounce_rate": (GAUGE, ()),
    "leadstream_email_spam_rate": (GAUGE, ()),
    "leadstream_email_sending_paused": (GAUGE, ()),
    "leadstream_email_sent_ended_otherwise": (GAUGE, ()),
    # chromium
    "leadstream_chromium_browsers": (GAUGE, ()),
    "leadstream_chromium_pages_open": (GAUGE, ("kind",)),
    "leadstream_chromium_renders_total": (COUNTER, ("kind", "outcome")),
    "leadstream_chromium_render_seconds": (HISTOGRAM, ("kind",)),
    "leadstream_chromium_render_wait_seconds": (HISTOGRAM, ("kind",)),
    # process
    "leadstream_event_loop_lag_seconds": (GAUGE, ()),
    # HTTP API (leadstream api, /metrics with a read key) and the PostgreSQL tier behind it
    "leadstream_api_requests_total": (COUNTER, ("route", "method", "status")),
    "leadstream_api_request_seconds": (HISTOGRAM, ("route", "method")),
    "leadstream_api_leads_accepted_total": (COUNTER, ()),
    "leadstream_db_replica_lag_bytes": (GAUGE, ()),
    "leadstream_db_replica_lag_seconds": (GAUGE, ()),
}

JOBS = ("leadstream-main", "leadstream-mockup", "leadstream-lag-exporter", "postgres", "redis")


def series_names() -> set[str]:
    """Every series name a query may select: histograms add _bucket, _count and _sum."""
    names = set()
    for name, (kind, _) in METRICS.items():
        if kind == HISTOGRAM:
            names |= {f"{name}_bucket", f"{name}_count", f"{name}_sum"}
        else:
            names.add(name)
    return names
