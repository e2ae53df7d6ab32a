"""The four Grafana dashboards, built with grafana-foundation-sdk.

Every query uses only the metric names of METRICS.md. Panels that have an
operating limit draw it as a threshold line (KEDA lag targets, the e2e p95
target, the email auto-pause rates), so the picture says whether to worry.
``python -m ops.generate`` writes them to ``ops/dashboards/<uid>.json``.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass

from grafana_foundation_sdk.builders import common as cb
from grafana_foundation_sdk.builders import dashboard as db
from grafana_foundation_sdk.builders import prometheus, stat, statetimeline, timeseries
from grafana_foundation_sdk.cog.encoder import JSONEncoder
from grafana_foundation_sdk.models import common as cm
from grafana_foundation_sdk.models import dashboard as dm

from ops import thresholds as th

DATASOURCE = dm.DataSourceRef(type_val="prometheus", uid="${datasource}")
RATE = "$__rate_interval"


@dataclass
class Query:
    expr: str
    legend: str = ""


@dataclass
class Layout:
    """Hands out panel ids in order so the JSON is stable across runs."""

    next_id: int = 1

    def take(self) -> int:
        self.next_id += 1
        return self.next_id - 1


def _targets(panel, queries: list[Query]):
    for ref, query in zip("ABCDEFGH", queries):
        panel = panel.with_target(
            prometheus.Dataquery().expr(query.expr).legend_format(query.legend or "__auto").ref_id(ref).range()
        )
    return panel


def _steps(limits: list[tuple[float, str]]) -> db.ThresholdsConfig:
    steps = [dm.Threshold(value=None, color="green")] + [dm.Threshold(value=v, color=c) for v, c in limits]
    return db.ThresholdsConfig().mode(dm.ThresholdsMode.ABSOLUTE).steps(steps)


def series(
    layout: Layout,
    title: str,
    description: str,
    queries: list[Query],
    *,
    unit: str = "short",
    limits: list[tuple[float, str]] | None = None,
    width: int = 12,
    stack: bool = False,
):
    """A time-series panel; `limits` are drawn as dashed threshold lines."""
    panel = (
        timeseries.Panel()
        .id(layout.take())
        .title(title)
        .description(description)
        .datasource(DATASOURCE)
        .unit(unit)
        .span(width)
        .height(8)
        .fill_opacity(10 if not stack else 60)
        .line_width(1)
        .legend(
            cb.VizLegendOptions()
            .display_mode(cm.LegendDisplayMode.TABLE)
            .placement(cm.LegendPlacement.BOTTOM)
            .show_legend(True)
            .calcs(["lastNotNull", "max"])
        )
        .tooltip(cb.VizTooltipOptions().mode(cm.TooltipDisplayMode.MULTI).sort(cm.SortOrder.DESCENDING))
    )
    if stack:
        panel = panel.stacking(cb.StackingConfig().mode(cm.StackingMode.NORMAL))
    if limits:
        panel = panel.thresholds(_steps(limits)).thresholds_style(
            cb.GraphThresholdsStyleConfig().mode(cm.GraphTresholdsStyleMode.DASHED)
        )
    return _targets(panel, queries)


def single(
    layout: Layout,
    title: str,
    description: str,
    queries: list[Query],
    *,
    unit: str = "short",
    limits: list[tuple[float, str]] | None = None,
    width: int = 6,
    mappings: list | None = None,
):
    """A stat panel (the last value), coloured by `limits`."""
    panel = (
        stat.Panel()
        .id(layout.take())
        .title(title)
        .description(description)
        .datasource(DATASOURCE)
        .unit(unit)
        .span(width)
        .height(5)
        .graph_mode(cm.BigValueGraphMode.AREA)
        .color_mode(cm.BigValueColorMode.VALUE)
        .reduce_options(cb.ReduceDataOptions().calcs(["lastNotNull"]).values(False))
    )
    panel = panel.thresholds(_steps(limits or []))
    if mappings:
        panel = panel.mappings(mappings)
    return _targets(panel, queries)


def states(layout: Layout, title: str, description: str, queries: list[Query], mappings: list, *, width: int = 12):
    """A state timeline (breaker state, paused flag)."""
    panel = (
        statetimeline.Panel()
        .id(layout.take())
        .title(title)
        .description(description)
        .datasource(DATASOURCE)
        .span(width)
        .height(6)
        .mappings(mappings)
        .show_value(cm.VisibilityMode.AUTO)
    )
    return _targets(panel, queries)


def value_mapping(values: dict[str, tuple[str, str]]) -> dm.ValueMap:
    return dm.ValueMap(
        options={
            k: dm.ValueMappingResult(text=text, color=color, index=i)
            for i, (k, (text, color)) in enumerate(values.items())
        }
    )


def quantile(q: float, metric: str, by: str = "", where: str = "") -> str:
    labels = f"le, {by}" if by else "le"
    return f"histogram_quantile({q}, sum by ({labels}) (rate({metric}_bucket{where}[{RATE}])))"


def _dashboard(uid: str, title: str, description: str, tags: list[str]) -> db.Dashboard:
    return (
        db.Dashboard(title)
        .uid(uid)
        .description(description)
        .tags(["leadstream", *tags])
        .time("now-1h", "now")
        .refresh("30s")
        .timezone("utc")
        .editable()
        .tooltip(dm.DashboardCursorSync.CROSSHAIR)
        .with_variable(db.DatasourceVariable("datasource").label("Prometheus").type("prometheus"))
    )


def _group_variable(name: str, label: str, value: str) -> db.CustomVariable:
    return (
        db.CustomVariable(name)
        .label(label)
        .values(value)
        .current(dm.VariableOption(selected=True, text=value, value=value))
    )


# --------------------------------------------------------------------------- pipeline
def pipeline_overview() -> db.Dashboard:
    lay = Layout()
    d = _dashboard(
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


# --------------------------------------------------------------------------- kafka lag
def kafka_lag() -> db.Dashboard:
    lay = Layout()
    main, mock = "$main_group", "$mockup_group"
    d = (
        _dashboard(
            "leadstream-kafka-lag",
            "leadstream / Kafka lag",
            "Consumer lag per group and partition, from the broker (the lag exporter), with the KEDA scaling targets.",
            ["kafka", "autoscaling"],
        )
        .with_variable(_group_variable("main_group", "Main group", th.MAIN_GROUP))
        .with_variable(_group_variable("mockup_group", "Mockup group", th.MOCKUP_GROUP))
    )
    d = d.with_row(db.Row("Lag against the autoscaling targets").id(lay.take()))
    for label, group, limit in (
        ("Main group", main, th.MAIN_LAG_THRESHOLD),
        ("Mockup group (GPU)", mock, th.MOCKUP_LAG_THRESHOLD),
    ):
        d = d.with_panel(
            series(
                lay,
                f"{label}: lag per replica (KEDA target {limit})",
                f"Total lag of the group divided by its live members. KEDA adds replicas while this stays above {limit} "
                "(replicas ≈ ceil(lag / target), at most the partition count).",
                [
                    Query(
                        f'sum(leadstream_kafka_consumer_lag{{group="{group}"}})'
                        f' / clamp_min(sum(leadstream_kafka_group_members{{group="{group}"}}), 1)',
                        "lag per replica",
                    )
                ],
                limits=[(limit, "red")],
            )
        )
    d = d.with_panel(
        series(
            lay,
            "Replicas KEDA would ask for",
            f"ceil(total lag / target), capped at {th.PARTITIONS} partitions; compare with the live members.",
            [
                Query(
                    f'clamp_max(ceil(sum(leadstream_kafka_consumer_lag{{group="{main}"}}) / {th.MAIN_LAG_THRESHOLD}), {th.PARTITIONS})',
                    "main wanted",
                ),
                Query(
                    f'clamp_max(ceil(sum(leadstream_kafka_consumer_lag{{group="{mock}"}}) / {th.MOCKUP_LAG_THRESHOLD}), {th.PARTITIONS})',
                    "mockup wanted",
                ),
                Query("sum by (group) (leadstream_kafka_group_members)", "{{group}} members"),
            ],
        )
    )
    d = d.with_panel(
        series(
            lay,
            "Lag growth per minute",
            "Positive while the group falls behind.",
            [Query("sum by (group) (deriv(leadstream_kafka_consumer_lag[5m])) * 60", "{{group}}")],
        )
    )

    d = d.with_row(db.Row("Per topic and partition").id(lay.take()))
    d = d.with_panel(
        series(
            lay,
            "Lag by topic",
            "Per group and topic.",
            [Query("sum by (group, topic) (leadstream_kafka_consumer_lag)", "{{group}} {{topic}}")],
        )
    )
    d = d.with_panel(
        series(
            lay,
            "Lag by partition",
            "A single hot partition means a skewed geography key, not too few workers.",
            [
                Query(
                    "sum by (group, topic, partition) (leadstream_kafka_consumer_lag)",
                    "{{group}} {{topic}}/{{partition}}",
                )
            ],
        )
    )
    d = d.with_panel(
        series(
            lay,
            "Produced messages per topic",
            "Log-end offset growth: what arrives.",
            [Query(f"sum by (topic) (rate(leadstream_kafka_log_end_offset[{RATE}]))", "{{topic}}")],
            unit="ops",
        )
    )
    d = d.with_panel(
        series(
            lay,
            "Committed messages per group",
            "Committed offset growth: what the group finishes.",
            [Query(f"sum by (group) (rate(leadstream_kafka_committed_offset[{RATE}]))", "{{group}}")],
            unit="ops",
        )
    )

    d = d.with_row(db.Row("Workers").id(lay.take()))
    d = d.with_panel(
        series(
            lay,
            "Partitions assigned per worker",
            "From each worker; replicas beyond the partition count idle.",
            [Query("sum by (instance, topic) (leadstream_worker_assigned_partitions)", "{{instance}} {{topic}}")],
        )
    )
    d = d.with_panel(
        series(
            lay,
            "Rebalances",
            "Every scale step is a rebalance; a steady stream of them means flapping.",
            [Query(f"sum by (instance) (increase(leadstream_worker_rebalances_total[{RATE}]))", "{{instance}}")],
        )
    )
    return d


# --------------------------------------------------------------------------- providers
def providers() -> db.Dashboard:
    lay = Layout()
    d = _dashboard(
        "leadstream-providers",
        "leadstream / providers and costs",
        "Provider calls by outcome, latency, spend per day, budget left, circuit breakers, cache hits.",
        ["providers", "cost"],
    )
    d = d.with_row(db.Row("Calls").id(lay.take()))
    d = d.with_panel(
        series(
            lay,
            "Calls by provider and outcome",
            "ok, transient_error, permanent_error, cache_hit, paused, circuit_open.",
            [
                Query(
                    f"sum by (provider, outcome) (rate(leadstream_provider_calls_total[{RATE}]))",
                    "{{provider}} {{outcome}}",
                )
            ],
            unit="ops",
        )
    )
    d = d.with_panel(
        series(
            lay,
            "Call latency p95",
            "Adapter call latency per provider and operation.",
            [
                Query(
                    quantile(0.95, "leadstream_provider_call_seconds", "provider, operation"),
                    "{{provider}} {{operation}}",
                )
            ],
            unit="s",
        )
    )
    d = d.with_panel(
        series(
            lay,
            "Cache hit ratio",
            "Answered from the shared Redis cache, of all calls.",
            [
                Query(
                    f'sum by (provider) (rate(leadstream_provider_calls_total{{outcome="cache_hit"}}[{RATE}]))'
                    f" / sum by (provider) (rate(leadstream_provider_calls_total[{RATE}]))",
                    "{{provider}}",
                )
            ],
            unit="percentunit",
        )
    )
    d = d.with_panel(
        states(
            lay,
            "Circuit breakers",
            "0 closed, 1 half-open, 2 open.",
            [Query("max by (provider) (leadstream_provider_breaker_state)", "{{provider}}")],
            [value_mapping({"0": ("closed", "green"), "1": ("half-open", "yellow"), "2": ("open", "red")})],
        )
    )
    d = d.with_row(db.Row("Cost").id(lay.take()))
    d = d.with_panel(
        series(
            lay,
            "Spend over the last 24 h",
            "Billed spend recorded in the cost ledger, rolling day.",
            [Query("sum by (provider) (increase(leadstream_provider_cost_usd_total[1d]))", "{{provider}}")],
            unit="currencyUSD",
            width=8,
        )
    )
    d = d.with_panel(
        series(
            lay,
            "Spend rate per hour",
            "Current burn, USD per hour.",
            [Query(f"sum by (provider) (rate(leadstream_provider_cost_usd_total[{RATE}])) * 3600", "{{provider}}")],
            unit="currencyUSD",
            width=8,
        )
    )
    d = d.with_panel(
        series(
            lay,
            "Daily budget left",
            "Share of today's cap not yet spent; the provider pauses at 0.",
            [
                Query(
                    "min by (provider) (leadstream_provider_budget_remaining_usd)"
                    " / max by (provider) (leadstream_provider_budget_usd)",
                    "{{provider}}",
                )
            ],
            unit="percentunit",
            width=8,
            limits=[(0.1, "red")],
        )
    )
    return d


# --------------------------------------------------------------------------- email
def email_health() -> db.Dashboard:
    lay = Layout()
    paused = [value_mapping({"0": ("sending", "green"), "1": ("PAUSED", "red")})]
    d = _dashboard(
        "leadstream-email",
        "leadstream / email health",
        "Sends, outbox states, and the bounce and spam rates that drive the auto-pause.",
        ["email"],
    )
    d = d.with_row(db.Row("Deliverability guard").id(lay.take()))
    d = d.with_panel(
        single(
            lay,
            "Sending",
            "1 while the auto-pause holds sending.",
            [Query("max(leadstream_email_sending_paused)", "paused")],
            limits=[(1, "red")],
            mappings=paused,
        )
    )
    d = d.with_panel(
        single(
            lay,
            "Bounce rate",
            f"Hard bounces / sends over the guard's window; pauses above {th.EMAIL_BOUNCE_PAUSE:.0%}.",
            [Query("max(leadstream_email_bounce_rate)", "bounce rate")],
            unit="percentunit",
            limits=[(th.EMAIL_BOUNCE_PAUSE * 0.75, "orange"), (th.EMAIL_BOUNCE_PAUSE, "red")],
        )
    )
    d = d.with_panel(
        single(
            lay,
            "Spam rate",
            f"Spam reports / sends over the window; pauses above {th.EMAIL_SPAM_PAUSE:.1%}.",
            [Query("max(leadstream_email_spam_rate)", "spam rate")],
            unit="percentunit",
            limits=[(th.EMAIL_SPAM_PAUSE * 0.75, "orange"), (th.EMAIL_SPAM_PAUSE, "red")],
        )
    )
    d = d.with_panel(
        single(
            lay,
            "Emails sent (range)",
            "Accepted by SendGrid in the selected time range.",
            [Query("sum(increase(leadstream_emails_sent_total[$__range]))", "sent")],
        )
    )
    d = d.with_panel(
        series(
            lay,
            "Bounce rate against the pause threshold",
            f"Sending pauses while this is above {th.EMAIL_BOUNCE_PAUSE:.0%} (dashed).",
            [Query("max(leadstream_email_bounce_rate)", "bounce rate")],
            unit="percentunit",
            limits=[(th.EMAIL_BOUNCE_PAUSE, "red")],
        )
    )
    d = d.with_panel(
        series(
            lay,
            "Spam rate against the pause threshold",
            f"Sending pauses while this is above {th.EMAIL_SPAM_PAUSE:.1%} (dashed).",
            [Query("max(leadstream_email_spam_rate)", "spam rate")],
            unit="percentunit",
            limits=[(th.EMAIL_SPAM_PAUSE, "red")],
        )
    )
    d = d.with_panel(
        states(
            lay,
            "Auto-pause",
            "When the guard held sending.",
            [Query("max(leadstream_email_sending_paused)", "paused")],
            paused,
            width=24,
        )
    )
    d = d.with_row(db.Row("Sending and the outbox").id(lay.take()))
    d = d.with_panel(
        series(
            lay,
            "Emails sent per minute",
            "Accepted by SendGrid.",
            [Query(f"sum(rate(leadstream_emails_sent_total[{RATE}])) * 60", "sent/min")],
            width=8,
        )
    )
    d = d.with_panel(
        series(
            lay,
            "Outbox entries by status",
            "pending, sent, retryable, failed (from PostgreSQL; max over workers).",
            [Query("max by (status) (leadstream_email_outbox_entries)", "{{status}}")],
            width=8,
        )
    )
    d = d.with_panel(
        series(
            lay,
            "Email deferrals and dead letters",
            "Deferred (send cap, pause, window) and dead-lettered emails.",
            [
                Query(
                    f'sum by (reason) (rate(leadstream_stage_deferrals_total{{stage="email"}}[{RATE}]))',
                    "deferred {{reason}}",
                ),
                Query(
                    f'sum by (reason) (rate(leadstream_dead_letters_total{{stage="email"}}[{RATE}]))',
                    "dead letter {{reason}}",
                ),
            ],
            unit="ops",
            width=8,
        )
    )
    return d


DASHBOARDS: dict[str, Callable[[], db.Dashboard]] = {
    "leadstream-pipeline": pipeline_overview,
    "leadstream-kafka-lag": kafka_lag,
    "leadstream-providers": providers,
    "leadstream-email": email_health,
}


def render(name: str) -> str:
    """The dashboard as the JSON text committed under ops/dashboards/."""
    built = DASHBOARDS[name]().build()
    return json.dumps(built, cls=JSONEncoder, indent=2, sort_keys=True) + "\n"
