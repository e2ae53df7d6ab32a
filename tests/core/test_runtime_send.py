"""`WorkerRuntime.send` hands a stage's output straight to Faust's producer: on the real broker, the message
lands on the prefixed topic with its key, value and headers, and the returned future resolves to its offset."""

from __future__ import annotations

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from agents.base import WorkerRuntime
from config import load_settings
from leadstream.faustapp import create_app
from streams.admin import bootstrap_servers
from streams.topology import LEADS_ENRICHED


async def test_a_sent_message_reaches_the_prefixed_topic_whole(kafka_broker, unique, tmp_path):
    prefix = f"t{unique}."
    settings = load_settings(
        kafka_broker=kafka_broker,
        topic_prefix=prefix,
        stages="dedupe",
        otlp_endpoint="",
        data_dir=tmp_path,
        web_enabled=False,
    )
    servers = bootstrap_servers(kafka_broker)
    topic = prefix + LEADS_ENRICHED
    admin = AIOKafkaAdminClient(bootstrap_servers=servers)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(topic, num_partitions=1, replication_factor=1)])
        app = create_app(settings)
        runtime = WorkerRuntime(app, settings)
        await app.producer.start()
        try:
            delivered = await runtime.send(
                LEADS_ENRICHED, b"lead-1", b'{"lead_id":"lead-1"}', {"traceparent": b"00-ab"}
            )
            metadata = await delivered
        finally:
            await app.producer.stop()
        assert (metadata.topic, metadata.partition) == (topic, 0)

        consumer = AIOKafkaConsumer(bootstrap_servers=servers, enable_auto_commit=False)
        await consumer.start()
        try:
            tp = TopicPartition(topic, 0)
            consumer.assign([tp])
            consumer.seek(tp, metadata.offset)
            record = await consumer.getone()
        finally:
            await consumer.stop()
        assert (record.key, record.value) == (b"lead-1", b'{"lead_id":"lead-1"}')
        assert dict(record.headers) == {"traceparent": b"00-ab"}
    finally:
        await admin.delete_topics([topic])
        await admin.close()
