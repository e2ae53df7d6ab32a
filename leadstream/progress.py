"""Where leads stand: per-stage counts from the system of record and consumer lag from Kafka.

Used by the demo's live view and summary, and by tests and benchmarks that wait
for a pipeline to drain.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from storage.db import Pool
from storage.lead_queries import LeadQueries
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


async def record_counts(pool: Pool) -> Snapshot:
    snap = Snapshot()
    for stage, state, n in await LeadQueries(pool).counts_by_stage_and_state():
        snap.total += n
        if state is None:
            snap.in_flight_by_stage[stage] = snap.in_flight_by_stage.get(stage, 0) + n
        else:
            snap.terminal[state] = snap.terminal.get(state, 0) + n
    return snap


async def missing_terminal(pool: Pool, lead_ids: list[str]) -> list[str]:
    """Those of `lead_ids` that have no terminal state (absent or in flight)."""
    return await LeadQueries(pool).missing_terminal(lead_ids)


async def latency_percentiles(pool: Pool) -> dict[str, float | None]:
    return await LeadQueries(pool).latency_percentiles()


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
            await self.consumer._client.force_metadata_update()
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
