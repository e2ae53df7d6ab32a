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


async def test_a_demo_on_an_outside_broker_deletes_its_own_topics_when_it_stops(kafka_broker, unique, tmp_path):
    """`Demo.stop` removes the run's topics and changelogs (prefix, app id) and leaves a neighbour's alone;
    `keep_topics` keeps them."""
    from leadstream.demo import Demo, DemoOptions
    from leadstream.embedded import EmbeddedServices

    async def run(name: str, keep: bool) -> tuple[str, str]:
        demo = Demo(DemoOptions(workdir=tmp_path / name, keep_topics=keep))
        demo.services = EmbeddedServices(workdir=tmp_path / name, kafka_broker=kafka_broker)
        prefix, app_id = f"{name}-{unique}.", f"{name}-app-{unique}"
        demo.env = {
            "LEADSTREAM_KAFKA_BROKER": kafka_broker,
            "LEADSTREAM_TOPIC_PREFIX": prefix,
            "LEADSTREAM_APP_ID": app_id,
        }
        await ensure_topics(
            kafka_broker, partitions=1, replication=1, prefix=prefix, app_id=app_id, tables=("score-counters",)
        )
        await demo.stop()  # no workers, no simulator: only the topics are this test's business
        return prefix, app_id

    neighbour = f"neighbour-{unique}."
    await ensure_topics(kafka_broker, partitions=1, replication=1, prefix=neighbour)
    try:
        gone_prefix, gone_app = await run("gone", keep=False)
        kept_prefix, _ = await run("kept", keep=True)

        async def deleted() -> bool:
            return not any(t.startswith((gone_prefix, gone_app + "-")) for t in await _topics(kafka_broker))

        await until(deleted, timeout_s=30, what="the demo's topics to leave the broker's metadata")
        left = await _topics(kafka_broker)
        assert f"kept-app-{unique}-score-counters-changelog" in left
        assert {neighbour + name for name in all_topics()} <= left
        assert {kept_prefix + name for name in all_topics()} <= left
    finally:
        await delete_topics(kafka_broker, prefixes=(neighbour, f"kept-{unique}.", f"kept-app-{unique}-"))
