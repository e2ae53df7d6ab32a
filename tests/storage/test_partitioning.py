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

    assert await migrate(pool, until="0008_partitioning.sql") == ["0008_partitioning.sql"]

    assert await pool.fetchval("SELECT relkind::text FROM pg_class WHERE oid = 'leads'::regclass") == "p"
    assert await pool.fetch("SELECT lead_id, geo_key, record FROM leads ORDER BY lead_id") == before
    parts = await pool.fetchval("SELECT count(*) FROM pg_inherits WHERE inhparent = 'leads'::regclass")
    assert parts == 16
    used = await pool.fetchval("SELECT count(DISTINCT tableoid) FROM leads")
    assert used >= 2  # the four geographies spread over partitions
    # the pipeline's writes keep working on the partitioned table (with the later migrations they need):
    # a later stage, a terminal state
    await migrate(pool)
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
    assert await migrate(pool, until="0008_partitioning.sql") == []  # idempotent


async def test_email_events_and_dedupe_merges_become_monthly_with_their_rows_and_keys_kept(old_pool):
    """0009 on a database with rows: each audit row lands in its month (old ones in the default partition);
    the webhook's one-row-per-event key and the merge log's sequence still work afterwards."""
    pool = old_pool
    await migrate(pool, until="0008_partitioning.sql")
    await pool.execute(
        "INSERT INTO email_events (sg_message_id, event, event_at, payload) VALUES "
        "('m1', 'delivered', now(), '{}'), ('m1', 'open', now(), '{}'), ('m0', 'bounce', '2020-03-01', '{}')"
    )
    await pool.execute(
        "INSERT INTO dedupe_merges (kind, entity_id, lead_id, decided_by, created_at) VALUES "
        "('join', 'e1', 'ld_1', 'model', now()), ('merge', 'e1', 'ld_2', 'rule', '2019-07-04')"
    )
    events = await pool.fetch("SELECT id, sg_message_id, event, event_at FROM email_events ORDER BY id")
    merges = await pool.fetch("SELECT id, kind, entity_id, lead_id, created_at FROM dedupe_merges ORDER BY id")

    assert await migrate(pool, until="0009_audit_partitions.sql") == ["0009_audit_partitions.sql"]

    month = datetime.now(UTC).strftime("y%Ym%m")
    for table in ("email_events", "dedupe_merges"):
        assert await pool.fetchval(f"SELECT relkind::text FROM pg_class WHERE oid = '{table}'::regclass") == "p"
        assert await pool.fetchval(f"SELECT count(*) FROM {table}_default") == 1
        assert await pool.fetchval(f"SELECT count(*) FROM {table}_{month}") == 1 + (table == "email_events")
    assert await pool.fetch("SELECT id, sg_message_id, event, event_at FROM email_events ORDER BY id") == events
    assert await pool.fetch("SELECT id, kind, entity_id, lead_id, created_at FROM dedupe_merges ORDER BY id") == merges
    # a retried webhook post still lands once: the conflict target is unchanged
    inserted = await pool.execute(
        "INSERT INTO email_events (sg_message_id, event, event_at, payload) "
        "SELECT sg_message_id, event, event_at, '{}' FROM email_events WHERE sg_message_id = 'm1' "
        "ON CONFLICT (sg_message_id, event, event_at) DO NOTHING"
    )
    assert inserted == "INSERT 0 0"
    # the sequences survived the rewrite: new rows get ids after the old ones
    new_id = await pool.fetchval(
        "INSERT INTO dedupe_merges (kind, entity_id, decided_by) VALUES ('join', 'e2', 'model') RETURNING id"
    )
    assert new_id > max(m["id"] for m in merges)
    assert await migrate(pool, until="0009_audit_partitions.sql") == []  # idempotent; next months already made


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
