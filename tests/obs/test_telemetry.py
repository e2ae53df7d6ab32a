"""The worker's telemetry wiring on a fake Faust app: lag per stage, assignments, table keys."""

from __future__ import annotations

from collections import namedtuple
from types import SimpleNamespace

from prometheus_client import REGISTRY

from config import load_settings
from leadstream.telemetry import WorkerTelemetry
from streams.health import HealthMonitor

TP = namedtuple("TP", "topic partition")


class Signal:
    def __init__(self) -> None:
        self.receivers = []

    def connect(self, fn):
        self.receivers.append(fn)
        return fn


class Consumer:
    def __init__(self) -> None:
        self.tps = {
            TP("p.leads.scraped", 0): (100, 40),
            TP("p.leads.scraped", 1): (7, None),
            TP("p.emails.queued", 0): (9, 9),
        }
        self._committed_offset = {tp: c for tp, (_, c) in self.tps.items()}
        self._read_offset = {TP("p.leads.scraped", 1): 2}

    def assignment(self):
        return set(self.tps)

    def highwater(self, tp):
        return self.tps[tp][0]


def telemetry() -> tuple[WorkerTelemetry, SimpleNamespace, HealthMonitor]:
    settings = load_settings(topic_prefix="p.", stages="enrich,email", otlp_endpoint="")  # no tracing here
    app = SimpleNamespace(consumer=Consumer(), on_partitions_assigned=Signal(), tables={})
    monitor = HealthMonitor(lambda: 0.0)
    return WorkerTelemetry(app, settings, monitor), app, monitor


def test_lag_per_stage_is_highwater_minus_the_committed_or_read_offset():
    t, _, monitor = telemetry()
    assert t.stage_lags() == {"enrich": 60 + 4, "email": 0}
    assert monitor.lag_source() == {"enrich": 64, "email": 0}


async def test_an_assignment_counts_a_rebalance_and_partitions_per_topic():
    t, app, _ = telemetry()
    before = REGISTRY.get_sample_value("leadstream_worker_rebalances_total") or 0
    (receiver,) = app.on_partitions_assigned.receivers
    await receiver(app, {TP("p.leads.scraped", 0), TP("p.leads.scraped", 3)})
    assert REGISTRY.get_sample_value("leadstream_worker_rebalances_total") == before + 1
    value = lambda topic: REGISTRY.get_sample_value("leadstream_worker_assigned_partitions", {"topic": topic})
    assert value("p.leads.scraped") == 2 and value("p.emails.queued") == 0
    await receiver(app, {TP("p.app-dedupe-state-changelog", 1)})  # the next rebalance moves them away
    assert value("p.leads.scraped") == 0 and value("p.app-dedupe-state-changelog") == 1
    await receiver(app, set())
    assert value("p.app-dedupe-state-changelog") == 0


def test_table_keys_per_partition():
    t, app, _ = telemetry()

    class DB:
        def __init__(self, n):
            self.n = n

        def property_int_value(self, name):
            assert name == "rocksdb.estimate-num-keys"
            return self.n

    app.tables = {
        "p.dedupe-state": SimpleNamespace(data=SimpleNamespace(_dbs={0: DB(12), 3: DB(5)})),
        "p.score-counters": SimpleNamespace(data={"a": 1, "b": 2}),
    }
    t.sample_tables()
    keys = lambda table, p: REGISTRY.get_sample_value("leadstream_table_keys", {"table": table, "partition": p})
    assert keys("dedupe-state", "0") == 12 and keys("dedupe-state", "3") == 5 and keys("score-counters", "all") == 2
