"""Partitioning migrations on an existing database with rows, and the Citus-ready key rule."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import pytest_asyncio

from schemas import Lead, TerminalState
from storage.db import create_pool, drop_isolated, isolated_url, migrate
from storage.records import LeadRecords, RecordUpdate

pytestmark = pytest.mark.services


@pytest_asyncio.fixture
async def old_pool(database_url, admin_database_url, unique):
    """A database migrated only up to 0007 (before partitioning)."""
    name = f"part_{unique}"
    pool = await create_pool(await isolated_url(database_url, name, admin_database_url), size=2)
    await migrate(pool, until="0007_api.sql")
    yield pool
    await pool.close()
    await drop_isolated(database_url, name, admin_database_url)


async def test_leads_and_provider_calls_are_partitioned_with_their_rows_kept(old_pool):
    pool = old_pool
    assert await pool.fetchval("SELECT relkind::text FROM pg_class WHERE oid = 'leads'::regclass") == "r"
    leads = [
        Lead(lead_id=f"ld_{i}", geo_key=("NY", "CA", "TX", "unknown")[i % 4], source="t", name=f"n{i}", zip="10002")
        for i in range(200)
    ]
    # rows as the code before 0008 wrote them (its upsert was keyed by lead id alone)
    await pool.executemany(
        "INSERT INTO leads (lead_id, geo_key, source, name, stage, stage_rank, ingested_at, record) "
        "VALUES ($1, $2, 't', $3, 'score', 4, now(), $4)",
        [(lead.lead_id, lead.geo_key, lead.name, lead.model_dump(mode="json", exclude_none=True)) for lead in leads],
    )
    await pool.execute(
        "INSERT INTO provider_calls (at, provider, operation, cost_usd) VALUES "
        "(now(), 'google', 'search', 0.032), ('2020-01-05', 'yelp', 'search', 0), (date_trunc('month', now()) - interval '1 day', 'hunter', 'find', 0.01)"
    )
    before = await pool.fetch("SELECT lead_id, geo_key, record FROM leads ORDER BY lead_id")

    assert await migrate(pool) == ["0008_partitioning.sql"]

    assert await pool.fetchval("SELECT relkind::text FROM pg_class WHERE oid = 'leads'::regclass") == "p"
    assert await pool.fetch("SELECT lead_id, geo_key, record FROM leads ORDER BY lead_id") == before
    parts = await pool.fetchval("SELECT count(*) FROM pg_inherits WHERE inhparent = 'leads'::regclass")
    assert parts == 16
    used = await pool.fetchval("SELECT count(DISTINCT tableoid) FROM leads")
    assert used >= 2  # the four geographies spread over partitions
    # the pipeline's writes keep working on the partitioned table: a later stage, a terminal state
    await LeadRecords(pool).write([RecordUpdate(leads[0], "email", "t" * 32, 1_700_000_000_000, TerminalState.emailed)])
    assert await pool.fetchval("SELECT state FROM leads WHERE lead_id = 'ld_0'") == "emailed"
    assert await pool.fetchval("SELECT count(*) FROM leads") == 200
    # provider calls: by month, old rows in the default partition, nothing lost, the sequence still serves
    assert await pool.fetchval("SELECT relkind::text FROM pg_class WHERE oid = 'provider_calls'::regclass") == "p"
    assert await pool.fetchval("SELECT count(*) FROM provider_calls") == 3
    assert await pool.fetchval("SELECT count(*) FROM provider_calls_default") == 1
    month = datetime.now(UTC).strftime("y%Ym%m")
    assert await pool.fetchval(f"SELECT count(*) FROM provider_calls_{month}") == 1
    await pool.execute("INSERT INTO provider_calls (provider, operation) VALUES ('google', 'details')")
    assert await pool.fetchval("SELECT count(DISTINCT id) FROM provider_calls") == 4
    assert await migrate(pool) == []  # idempotent


async def test_every_key_of_the_lead_tables_holds_the_distribution_column(pool):
    """Citus-ready: geo_key in every primary and unique key of the per-lead tables, no foreign keys to them."""
    rows = await pool.fetch(
        """
        SELECT c.conrelid::regclass::text AS tbl, c.conname, c.contype,
               array(SELECT a.attname FROM pg_attribute a WHERE a.attrelid = c.conrelid AND a.attnum = ANY(c.conkey))
                 AS cols
        FROM pg_constraint c
        WHERE c.conrelid IN ('leads'::regclass, 'lead_stages'::regclass) AND c.contype IN ('p', 'u')
        """
    )
    assert {r["tbl"] for r in rows} == {"leads", "lead_stages"}
    assert all("geo_key" in r["cols"] for r in rows), [dict(r) for r in rows]
    refs = await pool.fetchval(
        "SELECT count(*) FROM pg_constraint WHERE contype = 'f' AND confrelid IN ('leads'::regclass, 'lead_stages'::regclass)"
    )
    assert refs == 0
