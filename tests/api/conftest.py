"""The API on the real PostgreSQL, Kafka and Redis, called in-process through httpx's ASGI transport."""

from __future__ import annotations

import pytest
import pytest_asyncio
from httpx import ASGITransport, AsyncClient

from config import load_settings
from leadstream.api.app import Publisher, Resources, create_app
from leadstream.api.keys import KeyRateLimiter, KeyVerifier, create_key
from leadstream.producer import LeadProducer
from storage.api_keys import ApiKeys
from storage.lead_status import LeadStatus
from streams.admin import ensure_topics


@pytest.fixture
def api_settings(kafka_broker, unique):
    return load_settings(
        kafka_broker=kafka_broker,
        topic_prefix=f"api-{unique}.",
        api={"default_rate": "1000/second", "key_cache_s": 0, "max_body_bytes": 64 * 1024},
    )


@pytest_asyncio.fixture
async def resources(pool, api_settings, redis_url, unique):
    await ensure_topics(api_settings.kafka_broker, partitions=2, replication=1, prefix=api_settings.topic_prefix)
    producer = LeadProducer(api_settings.kafka_broker, api_settings.topic_prefix)
    await producer.__aenter__()
    keys = ApiKeys(pool)
    r = Resources(
        primary=pool,
        reads=pool,
        publisher=Publisher(producer),
        limiter=KeyRateLimiter(redis_url, api_settings.api.default_rate, prefix=f"leadstream:api-test:{unique}"),
        keys=keys,
        verifier=KeyVerifier(keys, 0),
        status=LeadStatus(pool),
        closers=[producer.producer.stop],
    )
    yield r
    await r.close()


@pytest_asyncio.fixture
async def client(api_settings, resources):
    app = create_app(api_settings, resources)
    async with AsyncClient(transport=ASGITransport(app=app), base_url="http://api") as c:
        yield c


@pytest_asyncio.fixture
async def tokens(resources):
    """One key per scope (and one with all three), by name."""
    out = {}
    for name, scopes in {
        "ingest": ["ingest"],
        "read": ["read"],
        "admin": ["admin"],
        "both": ["ingest", "read"],
    }.items():
        key, _ = await create_key(resources.keys, name, scopes)
        out[name] = key.token
    return out


def auth(token: str) -> dict[str, str]:
    return {"X-API-Key": token}
