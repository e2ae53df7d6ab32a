"""`streams.admin.delete_topics`: what a benchmark uses to remove the topics it made, and nothing else."""

from __future__ import annotations

import pytest
from aiokafka.admin import AIOKafkaAdminClient

from streams.admin import bootstrap_servers, delete_topics, ensure_topics
from streams.topology import all_topics
from tests.waiting import until

pytestmark = pytest.mark.services


async def _topics(broker: str) -> set[str]:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap_servers(broker))
    await admin.start()
    try:
        return set(await admin.list_topics())
    finally:
        await admin.close()


async def test_deletes_the_topics_under_its_prefixes_only(kafka_broker, unique):
    mine, other = f"del-{unique}.", f"keep-{unique}."
    await ensure_topics(kafka_broker, partitions=1, replication=1, prefix=mine)
    await ensure_topics(kafka_broker, partitions=1, replication=1, prefix=other)
    try:
        deleted = await delete_topics(kafka_broker, prefixes=(mine,))
        assert deleted == sorted(mine + name for name in all_topics())

        async def gone() -> bool:
            return not any(t.startswith(mine) for t in await _topics(kafka_broker))

        await until(gone, timeout_s=30, what="the deleted topics to leave the broker's metadata")
        assert {other + name for name in all_topics()} <= await _topics(kafka_broker)
    finally:
        await delete_topics(kafka_broker, prefixes=(mine, other))


async def test_an_empty_prefix_is_refused(kafka_broker):
    with pytest.raises(ValueError):
        await delete_topics(kafka_broker, prefixes=("",))
    with pytest.raises(ValueError):
        await delete_topics(kafka_broker, prefixes=())
