"""Pipeline overview: throughput per stage, end-to-end latency, terminal states, dead letters, retries."""

from __future__ import annotations

from grafana_foundation_sdk.builders import dashboard as db

from ops import thresholds as th
from ops.dashboards.panels import (
    RATE,
    Layout,
    Query,
    dashboard,
    quantile,
    series,
)


def pipeline_overview() -> db.Dashboard:
    lay = Layout()
    d = dashboard(
        "leadstream-pipeline",
        "leadstream / pipeline overview",
        "Throughput per stage, end-to-end latency, terminal states, dead letters, retries and deferrals.",
        ["pipeline"],
    )
    d = d.with_row(db.Row("Throughput").id(lay.take()))
    d = d.with_panel(
        series(
            lay,
            "Events consumed per stage",
            "Events taken from each stage's source topic, per second.",
            [Query(f"sum by (stage) (rate(leadstream_stage_events_consumed_total[{RATE}]))", "{{stage}}")],
            unit="ops",
        )
    )
    d = d.with_panel(
        series(
            lay,
            "What became of each event",
            "Per stage and outcome: forwarded, terminal, dead_lettered, skipped_ended, redelivered (acked without handling again).",
            [Query(f"sum by (stage, outcome) (rate(leadstream_stage_events_total[{RATE}]))", "{{stage}} {{outcome}}")],
            unit="ops",
        )
    )
    d = d.with_panel(
        series(
            lay,
            "Events in flight",
            "Events each stage has taken and not finished (handling, or waiting out a backoff, a deferral or a work slot), summed over workers.",
            [Query("sum by (stage) (leadstream_stage_in_flight)", "{{stage}}")],
            width=8,
        )
    )
    d = d.with_panel(
        series(
            lay,
            "Stage processing time p95",
            "One event, decode to outputs sent.",
            [Query(quantile(0.95, "leadstream_stage_processing_seconds", "stage"), "{{stage}}")],
            unit="s",
            width=8,
        )
    )
    d = d.with_panel(
        series(
            lay,
            "Table keys",
            "Keys in the workers' local RocksDB table partitions.",
            [Query("sum by (table) (leadstream_table_keys)", "{{table}}")],
            width=8,
        )
    )

    d = d.with_row(db.Row("Latency and terminal states").id(lay.take()))
    d = d.with_panel(
        series(
            lay,
            "End-to-end latency p50 / p95 / p99",
            f"Ingest to terminal state, all states. The dashed line is the design's p95 target ({th.E2E_P95_TARGET_S} s).",
            [Query(quantile(q, "leadstream_lead_e2e_seconds"), f"p{int(q * 100)}") for q in (0.5, 0.95, 0.99)],
            unit="s",
            limits=[(th.E2E_P95_TARGET_S, "red")],
        )
    )
    d = d.with_panel(
        series(
            lay,
            "End-to-end p95 by terminal state",
            "Ingest to terminal state, per state.",
            [Query(quantile(0.95, "leadstream_lead_e2e_seconds", "state"), "{{state}}")],
            unit="s",
            limits=[(th.E2E_P95_TARGET_S, "red")],
        )
    )
    d = d.with_panel(
        series(
            lay,
            "Leads ended per minute by terminal state",
            "emailed, duplicate, disqualified, suppressed, dead_lettered.",
            [Query(f"sum by (state) (rate(leadstream_terminal_total[{RATE}])) * 60", "{{state}}")],
            stack=True,
        )
    )
    d = d.with_panel(
        series(
            lay,
            "Availability SLI (5 min windows)",
            f"Share of ended leads that reached a non-dead-letter terminal state within {th.SLO_LATENCY_BOUND_S} s. "
            f"SLO {th.SLO_TARGET:.1%} (dashed).",
            [
                Query(
                    'sum(rate(leadstream_lead_e2e_seconds_bucket{state!="dead_lettered", le=~"300(\\\\.0)?"}[5m]))'
                    " / sum(rate(leadstream_lead_e2e_seconds_count[5m]))",
                    "good ratio",
                )
            ],
            unit="percentunit",
            limits=[(th.SLO_TARGET, "green")],
        )
    )

    d = d.with_row(db.Row("Failures, retries, deferrals").id(lay.take()))
    d = d.with_panel(
        series(
            lay,
            "Dead letters by stage and reason",
            "Messages written to deadletter.<stage>, per second.",
            [Query(f"sum by (stage, reason) (rate(leadstream_dead_letters_total[{RATE}]))", "{{stage}} {{reason}}")],
            unit="ops",
            width=8,
        )
    )
    d = d.with_panel(
        series(
            lay,
            "Retries by stage and error",
            "Retries after transient or infrastructure errors.",
            [Query(f"sum by (stage, error) (rate(leadstream_stage_retries_total[{RATE}]))", "{{stage}} {{error}}")],
            unit="ops",
            width=8,
        )
    )
    d = d.with_panel(
        series(
            lay,
            "Deferrals by stage and reason",
            "Waits, not failures: send caps, pause, send window, budgets.",
            [Query(f"sum by (stage, reason) (rate(leadstream_stage_deferrals_total[{RATE}]))", "{{stage}} {{reason}}")],
            unit="ops",
            width=8,
        )
    )
    d = d.with_panel(
        series(
            lay,
            "Oldest transient dead letter waiting for the unattended replay",
            "Age of the oldest dead letter with a transient cause that the dlq-replay CronJob should have put back "
            "(storage.dead_letters.UNATTENDED): under 45 min while the replay runs every 30 min; the red line is the "
            "LeadstreamDeadLetterReplayBehind alert.",
            [Query("max(leadstream_dead_letters_unattended_oldest_seconds)", "oldest")],
            unit="s",
            limits=[(th.DLQ_REPLAY_BEHIND_S, "red")],
            width=8,
        )
    )
    d = d.with_panel(
        series(
            lay,
            "Retention: how long rows have been due for the nightly prune",
            "The oldest dead letter past LEADSTREAM_RETENTION__DEAD_LETTERS_DAYS or audit month past "
            "LEADSTREAM_RETENTION__AUDIT_MONTHS, in seconds overdue (leadstream.retention.overdue_s): under a day "
            "while the db-prune CronJob runs nightly; the red line is the LeadstreamRetentionBehind alert.",
            [Query("max(leadstream_retention_overdue_seconds)", "overdue")],
            unit="s",
            limits=[(th.RETENTION_OVERDUE_S, "red")],
            width=8,
        )
    )

    d = d.with_row(db.Row("Dedupe: across partitions, and who is written to").id(lay.take()))
    d = d.with_panel(
        series(
            lay,
            "Twins found in another state, by key",
            "Leads the phone directory made duplicates of a listing in another state, per minute, by the kind of "
            "key that found them (phone; name_street, name_city: LEADSTREAM_DEDUPE_NAME_STREET_KEYS, "
            "LEADSTREAM_DEDUPE_NAME_CITY_KEYS). What the name keys "
            "earn, beside their cost on the right.",
            [Query(f"sum by (key) (rate(leadstream_dedupe_directory_twins_total[{RATE}])) * 60", "{{key}}")],
        )
    )
    d = d.with_panel(
        series(
            lay,
            "Phone directory call p50 / p95",
            "One call: a dedupe batch's claims in one PostgreSQL transaction (locks, read, write, commit).",
            [Query(quantile(q, "leadstream_dedupe_directory_call_seconds"), f"p{int(q * 100)}") for q in (0.5, 0.95)],
            unit="s",
        )
    )
    d = d.with_panel(
        series(
            lay,
            "Duplicates sent on in place of a lead without an address",
            "Per minute: a business's first listing had no email (scoring ends it no_contact) and a later duplicate "
            'with one goes on to outreach in its place, once per entity (docs/dedupe.md, "Which listing is written '
            'to"). A few per thousand leads where directory entries without a website arrive first.',
            [Query(f"sum(rate(leadstream_dedupe_stand_ins_total[{RATE}])) * 60", "stand-ins")],
        )
    )

    d = d.with_row(db.Row("Chromium").id(lay.take()))
    d = d.with_panel(
        series(
            lay,
            "Chromium renders by kind and outcome",
            "ok, error, timeout; enrich and mockup renders.",
            [
                Query(
                    f"sum by (kind, outcome) (rate(leadstream_chromium_renders_total[{RATE}]))", "{{kind}} {{outcome}}"
                )
            ],
            unit="ops",
            width=8,
        )
    )
    d = d.with_panel(
        series(
            lay,
            "Chromium render p95",
            "One page render, load and settle included; and the wait for a render slot before it (a queue of "
            "renders: LEADSTREAM_ENRICH_RENDER_CONCURRENCY, LEADSTREAM_RENDER_CONCURRENCY).",
            [
                Query(quantile(0.95, "leadstream_chromium_render_seconds", "kind"), "{{kind}}"),
                Query(quantile(0.95, "leadstream_chromium_render_wait_seconds", "kind"), "{{kind}} waiting for a slot"),
            ],
            unit="s",
            width=8,
        )
    )
    d = d.with_panel(
        series(
            lay,
            "Chromium pages open",
            "Contexts/pages open now, per kind.",
            [Query("sum by (kind) (leadstream_chromium_pages_open)", "{{kind}}")],
            width=8,
        )
    )
    return d
