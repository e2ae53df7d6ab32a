"""The real services started by scripts/services do what the app relies on.

Kafka: aiokafka 0.14 against the Kafka 4.x broker (which dropped the old
protocol versions) creates topics, produces, consumes in a group with commits,
and runs transactions (InitProducerId), which Faust's exactly_once needs.
PostgreSQL via asyncpg and Redis via redis.asyncio answer with the settings
scripts/services gives them.
"""

from __future__ import annotations

import asyncio

import asyncpg
import pytest
import redis.asyncio as aioredis
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

pytestmark = [pytest.mark.services, pytest.mark.timeout(120)]


def bootstrap(kafka_url: str) -> str:
    """Faust-style 'kafka://h:p;kafka://h2:p2' → aiokafka's 'h:p,h2:p2'."""
    return ",".join(part.removeprefix("kafka://") for part in kafka_url.split(";"))


async def drain(consumer: AIOKafkaConsumer, want: int, timeout: float = 30.0) -> list:
    """Poll until `want` records arrived (or time out, returning what came)."""
    records: list = []
    deadline = asyncio.get_running_loop().time() + timeout
    while len(records) < want and asyncio.get_running_loop().time() < deadline:
        batches = await consumer.getmany(timeout_ms=500)
        for batch in batches.values():
            records.extend(batch)
    return records


async def test_kafka_creates_topic_with_requested_partitions(kafka_broker, unique):
    topic = f"svc-{unique}-created"
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap(kafka_broker))
    await admin.start()
    try:
        await admin.create_topics([NewTopic(topic, num_partitions=3, replication_factor=1)])
        assert topic in await admin.list_topics()
        [description] = await admin.describe_topics([topic])
        assert description["error_code"] == 0
        assert len(description["partitions"]) == 3
    finally:
        await admin.close()


async def test_kafka_auto_creates_topics_with_twelve_partitions(kafka_broker, unique):
    """Faust relies on auto-creation for some topics; the broker default is 12 partitions."""
    topic = f"svc-{unique}-auto"
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap(kafka_broker), acks="all")
    await producer.start()
    try:
        await producer.send_and_wait(topic, b"hello", key=b"k")
        assert len(await producer.partitions_for(topic)) == 12
    finally:
        await producer.stop()


async def test_kafka_produce_and_consume_in_a_group_with_commits(kafka_broker, unique):
    topic, group = f"svc-{unique}-group", f"svc-{unique}-g"
    servers = bootstrap(kafka_broker)
    producer = AIOKafkaProducer(bootstrap_servers=servers, acks="all", enable_idempotence=True)
    await producer.start()
    try:
        for i in range(20):
            await producer.send(topic, f"v{i}".encode(), key=f"k{i % 5}".encode())
        await producer.flush()
    finally:
        await producer.stop()

    consumer = AIOKafkaConsumer(
        topic, bootstrap_servers=servers, group_id=group, auto_offset_reset="earliest", enable_auto_commit=False
    )
    await consumer.start()
    try:
        records = await drain(consumer, 20)
        assert sorted(r.value for r in records) == sorted(f"v{i}".encode() for i in range(20))
        # Same key → same partition: the ordering guarantee the pipeline's keyed streams rely on.
        partitions_by_key: dict[bytes, set[int]] = {}
        for r in records:
            partitions_by_key.setdefault(r.key, set()).add(r.partition)
        assert all(len(parts) == 1 for parts in partitions_by_key.values())
        await consumer.commit()
        assigned = consumer.assignment()
    finally:
        await consumer.stop()

    # A new member of the group resumes at the committed offsets: nothing is redelivered.
    again = AIOKafkaConsumer(
        topic, bootstrap_servers=servers, group_id=group, auto_offset_reset="earliest", enable_auto_commit=False
    )
    await again.start()
    try:
        committed = {tp: await again.committed(tp) for tp in assigned}
        assert sum(committed[tp] or 0 for tp in assigned) == 20
        assert await drain(again, 1, timeout=3) == []
    finally:
        await again.stop()


async def test_kafka_transactions_commit_and_abort(kafka_broker, unique):
    """InitProducerId + transactional send/commit/abort, as Faust's exactly_once does."""
    topic = f"svc-{unique}-txn"
    servers = bootstrap(kafka_broker)
    producer = AIOKafkaProducer(
        bootstrap_servers=servers, transactional_id=f"svc-{unique}-tx", enable_idempotence=True, acks="all"
    )
    await producer.start()  # sends InitProducerId to the transaction coordinator
    try:
        async with producer.transaction():
            await producer.send_and_wait(topic, b"committed-1", key=b"a", partition=0)
            await producer.send_and_wait(topic, b"committed-2", key=b"a", partition=0)
        await producer.begin_transaction()
        await producer.send_and_wait(topic, b"aborted", key=b"a", partition=0)
        await producer.abort_transaction()
        async with producer.transaction():
            await producer.send_and_wait(topic, b"committed-3", key=b"a", partition=0)
    finally:
        await producer.stop()

    consumer = AIOKafkaConsumer(
        bootstrap_servers=servers,
        isolation_level="read_committed",
        auto_offset_reset="earliest",
        enable_auto_commit=False,
    )
    await consumer.start()
    try:
        consumer.assign([TopicPartition(topic, 0)])
        await consumer.seek_to_beginning(TopicPartition(topic, 0))
        records = await drain(consumer, 3)
        # Give an aborted record a chance to (wrongly) show up after the committed ones.
        records += await drain(consumer, 1, timeout=2)
        assert [r.value for r in records] == [b"committed-1", b"committed-2", b"committed-3"]
    finally:
        await consumer.stop()


async def test_postgres_accepts_the_app_role_with_test_settings(admin_database_url, unique):
    conn = await asyncpg.connect(admin_database_url)
    try:
        user, db, superuser = await conn.fetchrow(
            "SELECT current_user, current_database(), rolsuper FROM pg_roles WHERE rolname = current_user"
        )
        assert (user, db, superuser) == ("leadstream", "leadstream", True)
        assert await conn.fetchval("SHOW fsync") == "off"
        table = f"svc_{unique}"
        await conn.execute(f"CREATE TEMP TABLE {table} (id int PRIMARY KEY, doc jsonb)")
        await conn.executemany(f"INSERT INTO {table} VALUES ($1, $2)", [(1, '{"a": 1}'), (2, '{"a": 2}')])
        assert await conn.fetchval(f"SELECT sum((doc->>'a')::int) FROM {table}") == 3
    finally:
        await conn.close()


async def test_redis_ping_set_get_without_persistence(redis_url, unique):
    client = aioredis.from_url(redis_url)
    try:
        assert await client.ping() is True
        key = f"svc:{unique}"
        assert await client.set(key, "v", ex=30) is True
        assert await client.get(key) == b"v"
        assert 0 < await client.ttl(key) <= 30
        assert await client.delete(key) == 1
        config = await client.config_get("save")
        assert config["save"] == ""  # no RDB snapshots in tests
    finally:
        await client.aclose()
