"""The API reads from the streaming replica and shows its lag as a metric; writes stay on the primary."""

from __future__ import annotations

import pytest
import pytest_asyncio
from httpx import ASGITransport, AsyncClient

from config import load_settings
from leadstream.api.app import create_app, open_resources
from leadstream.api.keys import create_key
from schemas import Lead
from storage.db import create_pool, drop_isolated, isolated_url, migrate, split_pgbouncer, with_database
from storage.records import LeadRecords, RecordUpdate

pytestmark = pytest.mark.services


@pytest_asyncio.fixture
async def twin_urls(svc, database_url, admin_database_url, replica_url, unique):
    """(primary URL, replica URL) of one fresh, migrated schema (a database through PgBouncer)."""
    name = f"replica_{unique}"
    primary = await isolated_url(database_url, name, admin_database_url)
    pool = await create_pool(primary, size=1)
    await migrate(pool)
    await pool.close()
    from svclib import pg_replica

    pg_replica.wait_caught_up(timeout=60)  # the replica has the new database or schema
    if split_pgbouncer(database_url)[1]:
        replica = with_database(replica_url, name)
    else:
        replica = f"{replica_url}{'&' if '?' in replica_url else '?'}search_path={name}"
    yield primary, replica
    await drop_isolated(database_url, name, admin_database_url)


async def test_api_reads_from_the_replica_and_reports_its_lag(svc, twin_urls, kafka_broker, redis_url, unique):
    from svclib import pg_replica

    primary_url, replica_url = twin_urls
    settings = load_settings(
        database_url=primary_url,
        replica_database_url=replica_url,
        kafka_broker=kafka_broker,
        redis_url=redis_url,
        topic_prefix=f"replica-{unique}.",
        api={"key_cache_s": 0},
    )
    resources = await open_resources(settings)
    try:
        assert resources.reads is not resources.primary
        assert await resources.reads.fetchval("SELECT pg_is_in_recovery()") is True
        assert await resources.primary.fetchval("SELECT pg_is_in_recovery()") is False
        # keys are looked up on the primary: a key made a moment ago works at once
        key, _ = await create_key(resources.keys, "replica-test", ["read"])
        lead = Lead(lead_id="ld_replica", geo_key="NY", source="api", name="On the replica", zip="10002")
        await LeadRecords(resources.primary).write([RecordUpdate(lead, "ingest", "t" * 32, 1_700_000_000_000)])
        pg_replica.wait_caught_up(timeout=60)

        app = create_app(settings, resources)
        async with AsyncClient(transport=ASGITransport(app=app), base_url="http://api") as client:
            headers = {"X-API-Key": key.token}
            response = await client.get("/v1/leads/ld_replica", headers=headers)
            assert response.status_code == 200 and response.json()["name"] == "On the replica"
            metrics = (await client.get("/metrics", headers=headers)).text
        lines = {
            line.split(" ")[0]: float(line.split(" ")[1])
            for line in metrics.splitlines()
            if line.startswith("leadstream_db_replica_lag")
        }
        assert set(lines) == {"leadstream_db_replica_lag_bytes", "leadstream_db_replica_lag_seconds"}
        assert lines["leadstream_db_replica_lag_bytes"] >= 0
        # the read pool really is the replica: it refuses writes
        with pytest.raises(Exception, match="read-only"):
            await resources.reads.execute("DELETE FROM leads")
    finally:
        await resources.close()
