"""Create the pipeline's topics with the configured partition count."""

from __future__ import annotations

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError

from streams.topology import all_topics


def bootstrap_servers(broker_url: str) -> str:
    """`kafka://h1:9092;h2:9092` (Faust form) → `h1:9092,h2:9092` (client form)."""
    return ",".join(part.split("://", 1)[-1] for part in broker_url.replace(",", ";").split(";") if part)


async def ensure_topics(broker_url: str, *, partitions: int, replication: int, prefix: str = "") -> list[str]:
    """Create any missing pipeline topic; return the names created."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap_servers(broker_url))
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        wanted = [prefix + name for name in all_topics() if prefix + name not in existing]
        if wanted:
            try:
                await admin.create_topics([NewTopic(n, partitions, replication) for n in wanted])
            except TopicAlreadyExistsError:
                pass
        return wanted
    finally:
        await admin.close()
