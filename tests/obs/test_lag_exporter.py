"""`leadstream lag-exporter` against the real broker: lag from committed and log-end offsets,
true for a group with no live member (the case KEDA and the lag alerts exist for)."""

from __future__ import annotations

import uuid

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from prometheus_client import generate_latest
from prometheus_client.parser import text_string_to_metric_families

from leadstream.lagexporter import LagExporter
from streams.admin import bootstrap_servers

pytestmark = pytest.mark.services


def samples(exporter: LagExporter) -> dict[tuple[str, tuple], float]:
    text = generate_latest(exporter.registry).decode()
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


async def test_lag_of_a_group_without_members_comes_from_its_committed_offsets(kafka_broker):
    servers = bootstrap_servers(kafka_broker)
    topic, group = f"obs-lag-{uuid.uuid4().hex[:8]}", f"obs-lag-group-{uuid.uuid4().hex[:8]}"
    admin = AIOKafkaAdminClient(bootstrap_servers=servers)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(topic, num_partitions=2, replication_factor=1)])
    finally:
        await admin.close()
    producer = AIOKafkaProducer(bootstrap_servers=servers)
    await producer.start()
    try:
        for i in range(10):
            await producer.send_and_wait(topic, b"x%d" % i, partition=0)
        for i in range(5):
            await producer.send_and_wait(topic, b"y%d" % i, partition=1)
    finally:
        await producer.stop()
    consumer = AIOKafkaConsumer(bootstrap_servers=servers, group_id=group, enable_auto_commit=False)
    await consumer.start()
    try:
        consumer.assign([TopicPartition(topic, 0), TopicPartition(topic, 1)])
        await consumer.commit({TopicPartition(topic, 0): 4})  # read 4 of 10 on p0; p1 never committed
    finally:
        await consumer.stop()  # the group now has no live member

    exporter = LagExporter(kafka_broker, groups=[group])
    await exporter.start()
    try:
        assert await exporter.refresh()
    finally:
        await exporter.stop()
    got = samples(exporter)
    lag = {labels: value for (name, labels), value in got.items() if name == "leadstream_kafka_consumer_lag"}
    assert lag == {
        (("group", group), ("partition", "0"), ("topic", topic)): 6.0,
        (("group", group), ("partition", "1"), ("topic", topic)): 5.0,  # end - log start: nothing committed
    }
    assert got[("leadstream_kafka_log_end_offset", (("partition", "0"), ("topic", topic)))] == 10.0
    assert got[("leadstream_kafka_committed_offset", (("group", group), ("partition", "0"), ("topic", topic)))] == 4.0
    assert got[("leadstream_kafka_group_members", (("group", group),))] == 0.0
