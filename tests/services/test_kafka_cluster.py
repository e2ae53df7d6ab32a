"""The 3-broker KRaft cluster: RF 3 defaults, and no loss or duplicate while a broker is SIGKILLed.

These tests kill and restart nodes of the cluster named by .services/env. Only fault
tests use that cluster (the normal suite uses the single broker), but two fault tests
must not run against it at the same time.
"""

from __future__ import annotations

import asyncio
import time

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType

pytestmark = [pytest.mark.services, pytest.mark.slow, pytest.mark.timeout(300)]


@pytest.fixture
def cluster(svc, kafka_cluster):
    """svclib.kafka_cluster, checked to drive the very cluster the env names, healthy before and after."""
    from svclib import kafka_cluster as kc

    assert kc.url() == kafka_cluster, "svclib would act on another cluster than LEADSTREAM_KAFKA_CLUSTER"
    kc.wait_cluster_ready(timeout=120)
    yield kc
    for node in kc.NODES:  # whatever happened, leave every node running
        if not node.daemon.pid():
            kc.start_broker(node.node_id)
    kc.wait_cluster_ready(timeout=120)


async def _create_topic(bootstrap: str, topic: str, partitions: int) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(topic, num_partitions=partitions, replication_factor=3)])
    finally:
        await admin.close()


async def test_cluster_defaults_replicate_three_times_with_two_in_sync(cluster, unique):
    topic = f"svc-{unique}-rf"
    producer = AIOKafkaProducer(bootstrap_servers=cluster.cluster_bootstrap(), acks="all")
    await producer.start()
    try:
        await producer.send_and_wait(topic, b"auto-created", key=b"k")  # auto-created with broker defaults
    finally:
        await producer.stop()
    mine = cluster.wait_topic_ready(topic)
    meta = cluster.cluster_metadata()
    assert sorted(meta.brokers) == [1, 2, 3]
    assert len(mine) == 12
    assert all(sorted(p.replicas) == [1, 2, 3] for p in mine)
    offsets = [p for p in meta.partitions if p.topic == "__consumer_offsets"]
    assert offsets == [] or all(len(p.replicas) == 3 for p in offsets)

    admin = AIOKafkaAdminClient(bootstrap_servers=cluster.cluster_bootstrap())
    await admin.start()
    try:
        [response] = await admin.describe_configs([ConfigResource(ConfigResourceType.TOPIC, topic)])
        entries = {entry[0]: entry[1] for resource in response.resources for entry in resource[4]}
    finally:
        await admin.close()
    assert entries["min.insync.replicas"] == "2"
    assert entries["unclean.leader.election.enable"] == "false"


async def test_acks_all_idempotent_producer_survives_a_broker_sigkill(cluster, unique):
    """Produce throughout a SIGKILL and restart of the leader of partition 0; read each message once."""
    topic, total = f"svc-{unique}-chaos", 6000
    bootstrap = cluster.cluster_bootstrap()
    await _create_topic(bootstrap, topic, partitions=6)
    victim = cluster.wait_topic_ready(topic)[0].leader  # the leader of partition 0

    produced = 0
    producer = AIOKafkaProducer(
        bootstrap_servers=bootstrap,
        acks="all",
        enable_idempotence=True,
        request_timeout_ms=30000,
        retry_backoff_ms=100,
        linger_ms=5,
    )
    await producer.start()

    async def produce() -> None:
        nonlocal produced
        for start in range(0, total, 50):
            batch = [
                producer.send(topic, str(i).encode(), key=str(i % 17).encode())
                for i in range(start, min(start + 50, total))
            ]
            await asyncio.gather(*[await future for future in batch])  # every send acknowledged by 2+ replicas
            produced = min(start + 50, total)

    async def until(condition, timeout: float, what: str) -> None:
        deadline = time.monotonic() + timeout
        while not condition():
            assert time.monotonic() < deadline, f"timed out waiting for {what} (produced {produced})"
            await asyncio.sleep(0.05)

    loop = asyncio.get_running_loop()
    producing = asyncio.create_task(produce())
    try:
        await until(lambda: produced >= total // 4 or producing.done(), 60, "a quarter produced")
        assert not producing.done(), "raise `total`: production finished before the broker was killed"
        killed_at, at_kill = time.monotonic(), produced
        await loop.run_in_executor(None, cluster.kill_broker, victim)
        # Keep producing with one node down before bringing it back.
        await until(lambda: produced >= at_kill + 500 or producing.done(), 90, "500 sends while a node is down")
        during_outage = produced - at_kill
        assert during_outage >= 500, "production stalled while a node was down"
        restart_seconds = await loop.run_in_executor(None, cluster.start_broker, victim)
        await asyncio.wait_for(producing, timeout=180)
        ready_seconds = await loop.run_in_executor(None, cluster.wait_cluster_ready, 120.0)
        print(
            f"\nbroker {victim} SIGKILLed after {at_kill} sends; {during_outage} acks=all sends while down; "
            f"restart {restart_seconds:.1f}s; cluster fully in sync {time.monotonic() - killed_at:.1f}s "
            f"after the kill (+{ready_seconds:.1f}s after restart)"
        )
    finally:
        if not producing.done():
            producing.cancel()
        await producer.stop()

    seen = await _read_to_end(bootstrap, topic, f"svc-{unique}-readers", want=total)
    missing = sorted(set(range(total)) - set(seen))
    duplicated = sorted(i for i, n in seen.items() if n > 1)
    assert missing == [] and duplicated == [], f"missing {missing[:10]}..., duplicated {duplicated[:10]}..."
    assert len(seen) == total


async def _read_to_end(bootstrap: str, topic: str, group: str, want: int, timeout: float = 60) -> dict[int, int]:
    """Consume in a group until every partition is read to its end offset; count each value."""
    consumer = AIOKafkaConsumer(
        topic, bootstrap_servers=bootstrap, group_id=group, auto_offset_reset="earliest", enable_auto_commit=False
    )
    await consumer.start()
    seen: dict[int, int] = {}
    try:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for records in (await consumer.getmany(timeout_ms=500)).values():
                for record in records:
                    seen[int(record.value)] = seen.get(int(record.value), 0) + 1
            assigned = list(consumer.assignment())
            if sum(seen.values()) >= want and assigned:
                # A duplicate would sit behind the rest: stop only at the end of every partition.
                ends = await consumer.end_offsets(assigned)
                positions = {tp: await consumer.position(tp) for tp in assigned}
                if all(positions[tp] >= end for tp, end in ends.items()):
                    break
    finally:
        await consumer.stop()
    return seen
