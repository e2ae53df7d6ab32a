"""Create the pipeline's topics with the configured partition count.

Table changelog topics are created here too, before a worker starts: on a
freshly started broker, a changelog Faust declares itself can still read as
0 partitions in the worker's first metadata, and Faust then refuses every
table write with `PartitionsMismatch`. Creating them first and waiting until
the broker reports every partition removes that race.
"""

from __future__ import annotations

import asyncio
import time

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError

from streams.topology import all_topics


def bootstrap_servers(broker_url: str) -> str:
    """`kafka://h1:9092;h2:9092` (Faust form) → `h1:9092,h2:9092` (client form)."""
    return ",".join(part.split("://", 1)[-1] for part in broker_url.replace(",", ";").split(";") if part)


def changelog_topic(app_id: str, table: str) -> str:
    """The name Faust gives a table's changelog."""
    return f"{app_id}-{table}-changelog"


async def ensure_topics(
    broker_url: str,
    *,
    partitions: int,
    replication: int,
    prefix: str = "",
    app_id: str | None = None,
    tables: tuple[str, ...] = (),
    ready_timeout_s: float = 30.0,
) -> list[str]:
    """Create any missing pipeline topic (and the changelogs of `tables` for `app_id`); return the names created.

    Returns once the broker's metadata shows every partition of the created topics.
    """
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap_servers(broker_url))
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        new = [NewTopic(prefix + name, partitions, replication) for name in all_topics()]
        new += [
            NewTopic(
                changelog_topic(app_id, table), partitions, replication, topic_configs={"cleanup.policy": "compact"}
            )
            for table in tables
            if app_id
        ]
        wanted = [topic for topic in new if topic.name not in existing]
        if wanted:
            try:
                await admin.create_topics(wanted)
            except TopicAlreadyExistsError:
                pass
            await _wait_for_partitions(admin, [t.name for t in wanted], partitions, ready_timeout_s)
        return [t.name for t in wanted]
    finally:
        await admin.close()


async def _wait_for_partitions(admin: AIOKafkaAdminClient, names: list[str], partitions: int, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while True:
        described = await admin.describe_topics(names)
        ready = {
            d["topic"] for d in described if not d.get("error_code") and len(d.get("partitions") or ()) >= partitions
        }
        if ready >= set(names):
            return
        if time.monotonic() > deadline:
            raise TimeoutError(f"topics not ready after {timeout_s:g}s: {sorted(set(names) - ready)}")
        await asyncio.sleep(0.2)


async def delete_topics(broker_url: str, *, prefixes: tuple[str, ...]) -> list[str]:
    """Delete every topic whose name starts with one of `prefixes` (a benchmark's or a run's own topics and
    changelogs); return the names deleted. An empty prefix is refused: it would match every topic."""
    if not prefixes or any(not p for p in prefixes):
        raise ValueError("delete_topics needs non-empty prefixes")
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap_servers(broker_url))
    await admin.start()
    try:
        doomed = sorted(t for t in await admin.list_topics() if t.startswith(prefixes))
        if doomed:
            await admin.delete_topics(doomed)
        return doomed
    finally:
        await admin.close()
