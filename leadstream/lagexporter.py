"""`leadstream lag-exporter`: consumer lag per group, topic and partition, read from the brokers.

Lag is computed from what the brokers know — each group's committed offsets
and each partition's log-end offset — not from a worker, so it stays true when
a group has no live worker at all (the case autoscaling and the lag alerts
exist for). Every `interval_s` it reads:

* the consumer groups (all of them, or those named / starting with a prefix),
  their members (``describe_consumer_groups``) and committed offsets
  (``list_consumer_group_offsets``);
* the log-end and log-start offsets of every partition of every topic a
  group has committed on (``end_offsets`` / ``beginning_offsets``).

and serves, at ``/metrics`` (the contract, `ops/contract.py`):

    leadstream_kafka_consumer_lag{group,topic,partition}      end - committed (end - log start if never committed)
    leadstream_kafka_log_end_offset{topic,partition}
    leadstream_kafka_committed_offset{group,topic,partition}
    leadstream_kafka_group_members{group}

Series of groups or partitions that disappear vanish with the next read (the
collector serves the last snapshot, not accumulated gauges). A failed read
keeps the last snapshot and counts ``leadstream_lag_exporter_errors_total``;
``leadstream_lag_exporter_last_success_timestamp_seconds`` says how fresh it is.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

log = logging.getLogger(__name__)

DEFAULT_PORT = 9308


@dataclass
class Snapshot:
    end: dict[tuple[str, int], int] = field(default_factory=dict)  # (topic, partition) -> log-end offset
    start: dict[tuple[str, int], int] = field(default_factory=dict)  # (topic, partition) -> log-start offset
    committed: dict[tuple[str, str, int], int] = field(default_factory=dict)  # (group, topic, partition) -> offset
    members: dict[str, int] = field(default_factory=dict)  # group -> members
    topics: dict[str, set[str]] = field(default_factory=dict)  # group -> topics it committed on

    def lag(self) -> Iterator[tuple[str, str, int, int]]:
        """(group, topic, partition, lag) for every partition of every topic a group consumes."""
        for group, topics in sorted(self.topics.items()):
            for (topic, partition), end in sorted(self.end.items()):
                if topic not in topics:
                    continue
                committed = self.committed.get((group, topic, partition))
                base = committed if committed is not None else self.start.get((topic, partition), 0)
                yield group, topic, partition, max(end - base, 0)


class LagCollector(Collector):
    """Serves the exporter's last `Snapshot` as the contract's four gauges."""

    def __init__(self) -> None:
        self.snapshot = Snapshot()

    def collect(self) -> Iterable[GaugeMetricFamily]:
        snap = self.snapshot
        lag = GaugeMetricFamily(
            "leadstream_kafka_consumer_lag",
            "Messages not yet committed by the group: log-end minus committed offset.",
            labels=["group", "topic", "partition"],
        )
        for group, topic, partition, value in snap.lag():
            lag.add_metric([group, topic, str(partition)], value)
        end = GaugeMetricFamily(
            "leadstream_kafka_log_end_offset",
            "Log-end offset (next offset to be written).",
            labels=["topic", "partition"],
        )
        for (topic, partition), value in sorted(snap.end.items()):
            end.add_metric([topic, str(partition)], value)
        committed = GaugeMetricFamily(
            "leadstream_kafka_committed_offset",
            "The group's committed offset (next offset it will read).",
            labels=["group", "topic", "partition"],
        )
        for (group, topic, partition), value in sorted(snap.committed.items()):
            committed.add_metric([group, topic, str(partition)], value)
        members = GaugeMetricFamily("leadstream_kafka_group_members", "Live members of the group.", labels=["group"])
        for group, value in sorted(snap.members.items()):
            members.add_metric([group], value)
        return [lag, end, committed, members]


class LagExporter:
    """Polls the brokers every `interval_s` and keeps the collector's snapshot fresh."""

    def __init__(
        self,
        bootstrap: str,
        *,
        groups: Iterable[str] = (),
        group_prefix: str = "",
        interval_s: float = 5.0,
        registry: CollectorRegistry | None = None,
    ) -> None:
        self.bootstrap = bootstrap.removeprefix("kafka://").replace(";", ",")
        self.groups = tuple(groups)
        self.group_prefix = group_prefix
        self.interval_s = interval_s
        self.registry = registry or CollectorRegistry()
        self.collector = LagCollector()
        self.registry.register(self.collector)
        self.errors = Counter(
            "leadstream_lag_exporter_errors_total", "Failed reads of the brokers.", registry=self.registry
        )
        self.last_success = Gauge(
            "leadstream_lag_exporter_last_success_timestamp_seconds",
            "Unix time of the last complete read.",
            registry=self.registry,
        )
        self._admin: Any = None
        self._consumer: Any = None

    async def start(self) -> None:
        from aiokafka import AIOKafkaConsumer
        from aiokafka.admin import AIOKafkaAdminClient

        self._admin = AIOKafkaAdminClient(bootstrap_servers=self.bootstrap, client_id="leadstream-lag-exporter")
        await self._admin.start()
        self._consumer = AIOKafkaConsumer(
            bootstrap_servers=self.bootstrap, client_id="leadstream-lag-exporter", enable_auto_commit=False
        )
        await self._consumer.start()

    async def stop(self) -> None:
        for client in (self._consumer, self._admin):
            if client is not None:
                try:
                    await client.close() if hasattr(client, "close") else await client.stop()
                except Exception:
                    pass

    def _wanted(self, group: str) -> bool:
        if self.groups:
            return group in self.groups
        return group.startswith(self.group_prefix)

    async def poll(self) -> Snapshot:
        """One complete read of groups, members, committed and end offsets."""
        from aiokafka import TopicPartition

        admin, consumer = self._admin, self._consumer
        listed = await admin.list_consumer_groups()
        names = sorted({_group_name(g) for g in listed} | set(self.groups))
        groups = [g for g in names if self._wanted(g)]
        snap = Snapshot()
        for group in groups:
            # One group per request: aiokafka 0.14 fails to decode a DescribeGroups answer about several
            # groups from Kafka 4 ("Buffer underrun decoding string") and drops the connection.
            for response in await admin.describe_consumer_groups([group]):
                for described in response.groups:
                    # (error_code, group_id, state, protocol_type, protocol, members[, authorized_operations])
                    snap.members[described[1]] = len(described[5])
        for group in groups:
            snap.members.setdefault(group, 0)
            offsets = await admin.list_consumer_group_offsets(group)
            for tp, meta in offsets.items():
                if meta is None or meta.offset < 0:
                    continue
                snap.committed[(group, tp.topic, tp.partition)] = meta.offset
                snap.topics.setdefault(group, set()).add(tp.topic)
            snap.topics.setdefault(group, set())
        topics = sorted(set().union(*snap.topics.values())) if snap.topics else []
        partitions = []
        await consumer._client.force_metadata_update()
        for topic in topics:
            for partition in sorted(consumer.partitions_for_topic(topic) or ()):
                partitions.append(TopicPartition(topic, partition))
        if partitions:
            for tp, offset in (await consumer.end_offsets(partitions)).items():
                snap.end[(tp.topic, tp.partition)] = offset
            for tp, offset in (await consumer.beginning_offsets(partitions)).items():
                snap.start[(tp.topic, tp.partition)] = offset
        return snap

    async def refresh(self) -> bool:
        try:
            self.collector.snapshot = await self.poll()
        except Exception as exc:
            self.errors.inc()
            log.warning("lag exporter: could not read the brokers (keeping the last snapshot): %r", exc)
            return False
        self.last_success.set(time.time())
        return True

    async def run_forever(self) -> None:
        while True:
            await self.refresh()
            await asyncio.sleep(self.interval_s)

    def web_app(self) -> web.Application:
        async def metrics(_request: web.Request) -> web.Response:
            body = generate_latest(self.registry)
            return web.Response(body=body, content_type=CONTENT_TYPE_LATEST.split(";")[0], charset="utf-8")

        app = web.Application()
        app.router.add_get("/metrics", metrics)
        return app


def _group_name(listed: Any) -> str:
    """aiokafka lists groups as (group_id, protocol_type) tuples."""
    return str(listed[0] if isinstance(listed, (tuple, list)) else listed)


async def serve(exporter: LagExporter, host: str, port: int) -> None:
    """Run the exporter and its /metrics server until cancelled."""
    await exporter.start()
    runner = web.AppRunner(exporter.web_app(), access_log=None)
    await runner.setup()
    await web.TCPSite(runner, host, port).start()
    log.info("lag exporter on %s:%s (brokers %s)", host, port, exporter.bootstrap)
    try:
        await exporter.run_forever()
    finally:
        await runner.cleanup()
        await exporter.stop()
