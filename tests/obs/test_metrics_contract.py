"""Every metric of the contract (ops/contract.py) is defined by the code, with its type and labels.

The worker's metrics come from `streams.metrics` and `providers.metrics` (the default registry);
the lag exporter's four from its own collector; the API's from `leadstream.api.middleware.ApiMetrics`. A name, type or label that drifts from the
contract fails here rather than leaving a dashboard panel or an alert silently empty.
"""

from __future__ import annotations

from prometheus_client import REGISTRY, CollectorRegistry
from prometheus_client.metrics import MetricWrapperBase

import providers.metrics as provider_metrics
import streams.metrics as stream_metrics
from leadstream.api.middleware import ApiMetrics
from leadstream.lagexporter import LagExporter, Snapshot
from ops.contract import METRICS
from stages.dedupe.phone_look import key_kinds


def families(registry) -> dict[str, tuple[str, set[str]]]:
    """name -> (type, label names), from what the registry exposes (labels of series that have samples)."""
    out: dict[str, tuple[str, set[str]]] = {}
    for family in registry.collect():
        labels: set[str] = set()
        for sample in family.samples:
            labels |= set(sample.labels) - {"le"}
        name = family.name + ("_total" if family.type == "counter" else "")
        out[name] = (family.type, labels)
    return out


def declared(*owners: object) -> dict[str, tuple[str, set[str]]]:
    """name -> (type, label names) of the metric objects the worker's modules (and `owners`) define."""
    out = {}
    for module in (stream_metrics, provider_metrics, *owners):
        for value in vars(module).values():
            if isinstance(value, MetricWrapperBase):
                name = value._name + ("_total" if value._type == "counter" else "")
                out[name] = (value._type, set(value._labelnames))
    return out


def test_every_contract_metric_is_exposed_with_its_type_and_labels():
    stream_metrics.init_stage("enrich", ("leads.enriched",))
    stream_metrics.init_email()
    stream_metrics.init_dedupe_directory(key_kinds())
    stream_metrics.TABLE_KEYS.labels("dedupe-state", "0").set(1)
    stream_metrics.ASSIGNED_PARTITIONS.labels("leads.scraped").set(1)
    provider_metrics.init_provider("hunter", "domain_search")
    provider_metrics.watch_breaker("hunter", lambda: "closed")
    provider_metrics.BUDGET_USD.labels("hunter").set(1)
    provider_metrics.BUDGET_REMAINING_USD.labels("hunter").set(1)
    provider_metrics.init_chromium("site")
    exporter = LagExporter("kafka://127.0.0.1:1", registry=CollectorRegistry())
    exporter.collector.snapshot = Snapshot(
        end={("leads.scraped", 0): 10},
        committed={("g", "leads.scraped", 0): 4},
        members={"g": 1},
        topics={"g": {"leads.scraped"}},
    )
    api = ApiMetrics()  # `leadstream api` serves its own registry
    registered = families(REGISTRY)
    exposed = declared(api) | families(exporter.registry)
    assert set(declared()) <= set(registered)  # and served by /metrics
    problems = []
    for name, (kind, labels) in METRICS.items():
        if name not in exposed:
            problems.append(f"{name}: not exposed")
            continue
        got_kind, got_labels = exposed[name]
        if got_kind != kind or got_labels != set(labels):
            problems.append(f"{name}: {got_kind}{sorted(got_labels)} != {kind}{sorted(labels)}")
    assert not problems, "\n".join(problems)


def test_lag_is_end_minus_committed_and_log_start_when_never_committed():
    snap = Snapshot(
        end={("t", 0): 100, ("t", 1): 50, ("u", 0): 7},
        start={("t", 1): 20},
        committed={("g", "t", 0): 90},
        members={"g": 0},
        topics={"g": {"t"}},
    )
    assert list(snap.lag()) == [("g", "t", 0, 10), ("g", "t", 1, 30)]  # no live member: still true
