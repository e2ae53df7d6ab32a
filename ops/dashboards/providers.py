"""Provider calls by outcome, latency, spend per day, budget left, circuit breakers, cache hits."""

from __future__ import annotations

from grafana_foundation_sdk.builders import dashboard as db

from ops.dashboards.panels import (
    RATE,
    Layout,
    Query,
    dashboard,
    quantile,
    series,
    states,
    value_mapping,
)


def providers() -> db.Dashboard:
    lay = Layout()
    d = dashboard(
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
