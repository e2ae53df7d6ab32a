"""A worker's telemetry wiring: what the Faust app knows, turned into metrics, health and traces.

`WorkerTelemetry` is made by `leadstream.faustapp.create_app` and

* configures the process's health monitor (`streams.health.MONITOR`) from the
  settings and feeds it each stage's lag on this worker's partitions (the
  consumer's highwater minus the next offset to commit);
* counts rebalances and the partitions assigned per topic
  (``leadstream_worker_*``) from Faust's assignment signal;
* samples the tables' keys per partition every `SAMPLE_S`
  (``leadstream_table_keys``; RocksDB's key estimate, exact for memory tables);
* samples, every `DEAD_LETTER_SAMPLE_S`, from PostgreSQL through `pool`, the unattended dead-letter replay's
  backlog (``leadstream_dead_letters_unattended_oldest_seconds``) and how far the nightly prune is behind its
  retention policy (``leadstream_retention_overdue_seconds``), and folds the counts the API reads
  (`storage.row_counts.fold`);
* runs the event-loop heartbeat (``leadstream_event_loop_lag_seconds``);
* turns tracing on when ``LEADSTREAM_OTLP_ENDPOINT`` is set (`streams.tracing`)
  and puts the trace id in every log line of an event.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import Counter
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

from config import RetentionSettings, Settings
from leadstream import taskdump
from leadstream.retention import overdue_s
from storage import row_counts
from storage.db import Pool
from storage.dead_letters import DeadLetterStore
from streams import metrics, tracing
from streams.health import MONITOR, HealthMonitor
from streams.topology import TOPOLOGY

log = logging.getLogger(__name__)

SAMPLE_S = 15.0
DEAD_LETTER_SAMPLE_S = 60.0  # how often a worker reads the unattended replay's backlog for /metrics


async def sample_dead_letters(store: DeadLetterStore, now: datetime | None = None) -> float:
    """Set `metrics.DEAD_LETTERS_UNATTENDED_OLDEST` from PostgreSQL (as of `now`, the database's clock when None),
    and return it. Every worker reports the same figure (the alert takes the max): whichever workers run, the
    backlog is watched."""
    age = await store.oldest_unattended_s(now=now)
    metrics.DEAD_LETTERS_UNATTENDED_OLDEST.set(age)
    return age


async def sample_retention(pool: Pool, policy: RetentionSettings, now: datetime | None = None) -> float:
    """Set `metrics.RETENTION_OVERDUE` (`leadstream.retention.overdue_s` as of `now`) and return it; every worker
    reports the same figure, as for the replay's backlog."""
    overdue = await overdue_s(pool, policy, now=now)
    metrics.RETENTION_OVERDUE.set(overdue)
    return overdue


class WorkerTelemetry:
    def __init__(self, app: Any, settings: Settings, monitor: HealthMonitor = MONITOR) -> None:
        self.app, self.settings, self.monitor = app, settings, monitor
        monitor.configure(
            loop_stall_s=settings.loop_stall_s,
            stall_s=settings.liveness_stall_s,
            ready_stall_s=settings.readiness_stall_s,
        )
        monitor.lag_source = self.stage_lags
        # source topic (with prefix) -> stage, for the stages this worker runs
        self.stage_of_topic = {
            settings.topic_prefix + TOPOLOGY[stage].source: stage for stage in settings.stage_list if stage in TOPOLOGY
        }
        self._tasks: list[asyncio.Task[None]] = []
        self._topics_seen: set[str] = set()
        # the worker's PostgreSQL pool (`WorkerRuntime.pool`), set by `create_app`; None: no dead-letter sampling
        self.pool: Callable[[], Awaitable[Pool]] | None = None
        tracing.configure(
            settings.otlp_service_name, settings.otlp_endpoint or None, sample_ratio=settings.otlp_sample_ratio
        )
        app.on_partitions_assigned.connect(self._on_assigned)
        metrics.REBALANCES.inc(0)

    # ---- Faust signals --------------------------------------------------------------------------
    async def _on_assigned(self, app: Any = None, assigned: Any = (), **kwargs: Any) -> None:
        metrics.REBALANCES.inc()
        self.record_assignment(assigned)

    def record_assignment(self, assigned: Any) -> None:
        """Partitions per topic now; a topic assigned before and not now reads 0 (not its old count)."""
        per_topic = Counter(tp.topic for tp in assigned)
        self._topics_seen |= set(self.stage_of_topic) | set(per_topic)
        for topic in self._topics_seen:
            metrics.ASSIGNED_PARTITIONS.labels(topic).set(per_topic.get(topic, 0))

    # ---- what the health monitor reads ---------------------------------------------------------
    def stage_lags(self) -> dict[str, int]:
        """Messages waiting per stage on this worker's partitions: highwater minus the next offset to commit."""
        consumer = self.app.consumer
        lags: dict[str, int] = {}
        for tp in consumer.assignment():
            stage = self.stage_of_topic.get(tp.topic)
            if stage is None:
                continue
            highwater = consumer.highwater(tp)
            if highwater is None or highwater < 0:
                continue
            done = consumer._committed_offset.get(tp)  # next offset to read after the last committed one
            if done is None:
                read = consumer._read_offset.get(tp)
                done = read + 1 if read is not None else highwater
            lags[stage] = lags.get(stage, 0) + max(highwater - done, 0)
        return lags

    # ---- tables ----------------------------------------------------------------------------------
    def sample_tables(self) -> None:
        for name, table in self.app.tables.items():
            label = name.removeprefix(self.settings.topic_prefix)
            store = table.data
            dbs = getattr(store, "_dbs", None)
            if dbs is None:
                metrics.TABLE_KEYS.labels(label, "all").set(len(store))
                continue
            for partition, db in list(dbs.items()):
                try:
                    keys = db.property_int_value("rocksdb.estimate-num-keys")
                except Exception:
                    keys = None
                metrics.TABLE_KEYS.labels(label, str(partition)).set(keys or 0)

    async def _sample_forever(self) -> None:
        while True:
            try:
                self.sample_tables()
            except Exception as exc:  # a table between states (recovery, revocation): next time
                log.debug("table sample failed: %r", exc)
            await asyncio.sleep(SAMPLE_S)

    async def _sample_database_forever(self, pool: Callable[[], Awaitable[Pool]]) -> None:
        store: DeadLetterStore | None = None
        while True:
            try:
                store = store or DeadLetterStore(await pool())
                await sample_dead_letters(store)
                await sample_retention(store.pool, self.settings.retention)
                await row_counts.fold(store.pool)  # the API's counts read a minute's deltas at most
            except Exception as exc:  # the database restarting: the gauges keep their last values, the loop goes on
                log.warning("could not sample the dead-letter backlog or the retention, or fold the counts: %r", exc)
            await asyncio.sleep(DEAD_LETTER_SAMPLE_S)

    # ---- life ------------------------------------------------------------------------------------
    async def start(self) -> None:
        tracing.install_log_trace_ids()  # Faust has set logging up by now
        taskdump.install()  # SIGUSR2: every task's await chain in the log (a stalled worker's diagnosis)
        loop_task = asyncio.create_task(self.monitor.run_heartbeat(), name="leadstream-loop-heartbeat")
        self._tasks = [loop_task, asyncio.create_task(self._sample_forever(), name="leadstream-table-sampler")]
        if self.pool is not None:
            sampler = self._sample_database_forever(self.pool)
            self._tasks.append(asyncio.create_task(sampler, name="leadstream-database-sampler"))

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self._tasks = []
        tracing.shutdown()
