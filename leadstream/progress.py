"""Where leads stand: per-stage counts from the system of record and consumer lag from Kafka.

Used by the demo's live view and summary, and by tests and benchmarks that wait
for a pipeline to drain.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import asyncpg
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from streams.admin import bootstrap_servers
from streams.topology import TOPOLOGY


@dataclass
class Snapshot:
    in_flight_by_stage: dict[str, int] = field(default_factory=dict)
    terminal: dict[str, int] = field(default_factory=dict)
    total: int = 0
    lag: dict[str, int] = field(default_factory=dict)

    @property
    def in_flight(self) -> int:
        return sum(self.in_flight_by_stage.values())

    @property
    def total_lag(self) -> int:
        return sum(self.lag.values())


async def record_counts(pool: asyncpg.Pool) -> Snapshot:
    snap = Snapshot()
    rows = await pool.fetch("SELECT stage, state, count(*) AS n FROM leads GROUP BY stage, state")
    for row in rows:
        snap.total += row["n"]
        if row["state"] is None:
            snap.in_flight_by_stage[row["stage"]] = snap.in_flight_by_stage.get(row["stage"], 0) + row["n"]
        else:
            snap.terminal[row["state"]] = snap.terminal.get(row["state"], 0) + row["n"]
    return snap


async def missing_terminal(pool: asyncpg.Pool, lead_ids: list[str]) -> list[str]:
    """Those of `lead_ids` that have no terminal state (absent or in flight)."""
    rows = await pool.fetch(
        "SELECT id FROM unnest($1::text[]) AS id WHERE NOT EXISTS "
        "(SELECT 1 FROM leads WHERE lead_id = id AND state IS NOT NULL)", lead_ids)
    return [r["id"] for r in rows]


async def latency_percentiles(pool: asyncpg.Pool) -> dict[str, float | None]:
    row = await pool.fetchrow(
        """SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM terminal_at - ingested_at)) AS p50,
                  percentile_cont(0.95) WITHIN GROUP (ORDER BY extract(epoch FROM terminal_at - ingested_at)) AS p95,
                  extract(epoch FROM max(terminal_at) - min(ingested_at)) AS span_s, count(*) AS n
           FROM leads WHERE state IS NOT NULL AND ingested_at IS NOT NULL""")
    return {k: (float(row[k]) if row[k] is not None else None) for k in ("p50", "p95", "span_s", "n")}


class LagReader:
    """Consumer lag of the app's group on every stage's source topic."""

    def __init__(self, broker_url: str, groups: dict[str, str], prefix: str = "") -> None:
        """`groups` maps each stage to the consumer group (app id) of the worker group that runs it."""
        self.servers = bootstrap_servers(broker_url)
        self.groups, self.prefix = groups, prefix
        self.admin = AIOKafkaAdminClient(bootstrap_servers=self.servers)
        self.consumer = AIOKafkaConsumer(bootstrap_servers=self.servers, enable_auto_commit=False)

    async def start(self) -> None:
        await self.admin.start()
        await self.consumer.start()

    async def stop(self) -> None:
        await self.consumer.stop()
        await self.admin.close()

    async def lag(self) -> dict[str, int]:
        topics = {self.prefix + t.source: stage for stage, t in TOPOLOGY.items()}
        partitions = []
        for topic in topics:
            for p in self.consumer.partitions_for_topic(topic) or ():
                partitions.append(TopicPartition(topic, p))
        if not partitions:
            await self.consumer._client.force_metadata_update()  # noqa: SLF001 - new topics appear late
            for topic in topics:
                for p in self.consumer.partitions_for_topic(topic) or ():
                    partitions.append(TopicPartition(topic, p))
        ends = await self.consumer.end_offsets(partitions) if partitions else {}
        committed = {}
        for group in set(self.groups.values()):
            mine = [tp for tp in partitions if self.groups.get(topics[tp.topic]) == group]
            if mine:
                committed.update(await self.admin.list_consumer_group_offsets(group, partitions=mine))
        lag: dict[str, int] = {stage: 0 for stage in topics.values()}
        for tp, end in ends.items():
            meta = committed.get(tp)
            done = meta.offset if meta is not None and meta.offset >= 0 else 0
            lag[topics[tp.topic]] += max(0, end - done)
        return lag
