"""Review queue and merge log on real PostgreSQL, in a schema of the test's own."""

from pathlib import Path

import pytest_asyncio

from stages.dedupe.engine import EntityResolver
from stages.dedupe.model import Thresholds
from stages.dedupe.record import DedupeInput
from storage.db import create_pool, drop_isolated, isolated_url
from storage.dedupe_review import DedupeLog, ReviewQueue, save_merges

MIGRATION = Path(__file__).resolve().parents[2] / "storage" / "migrations" / "0003_dedupe.sql"


@pytest_asyncio.fixture
async def pool(database_url, admin_database_url, unique):
    name = f"dedupe_{unique}"  # a schema; a database through PgBouncer (search_path would not hold)
    pool = await create_pool(await isolated_url(database_url, name, admin_database_url), size=2)
    sql = MIGRATION.read_text()
    async with pool.acquire() as conn:
        await conn.execute(sql)
        await conn.execute(sql)  # idempotent: the runner may apply it again
    yield pool
    await pool.close()
    await drop_isolated(database_url, name, admin_database_url)


def gray_resolution():
    resolver = EntityResolver({}, thresholds=Thresholds(match=0.999, review=0.2))
    a = resolver.resolve(DedupeInput("a", "Golden Dragon Restaurant", street="88 Grant Ave", zip="94108"))
    b = resolver.resolve(DedupeInput("b", "Golden Dragon", zip="94108"))  # no street: the contact rule abstains
    assert b.decision == "gray"
    return resolver, a, b


async def test_accept_and_reject(pool):
    resolver, a, b = gray_resolution()
    queue = ReviewQueue(pool)
    items = [p.as_review_item("llm unavailable") for p in b.gray_pairs]
    assert await queue.add(items) == 1
    assert await queue.add(items) == 0  # a redelivered lead does not queue twice
    pending = await queue.list(10)
    assert len(pending) == 1 and pending[0]["lead"]["name"] == "Golden Dragon"
    accepted = await queue.accept(pending[0]["id"])
    assert accepted["status"] == "accepted" and accepted["candidate_entity_id"] == a.entity_id
    assert await queue.accept(pending[0]["id"]) is None  # already decided
    assert await queue.list(10) == []
    audit = resolver.merge_entities(accepted["entity_id"], accepted["candidate_entity_id"], accepted["lead_id"])
    assert audit and audit[0]["entity_id"] == a.entity_id and resolver.entity_of("b") == a.entity_id
    await save_merges(pool, audit)
    row = await pool.fetchrow("SELECT kind, entity_id, merged_entity_id, decided_by FROM dedupe_merges")
    assert dict(row) == {
        "kind": "merge",
        "entity_id": a.entity_id,
        "merged_entity_id": b.entity_id,
        "decided_by": "review",
    }

    await queue.add([dict(items[0], lead_id="c")])
    other = (await queue.list(10))[0]
    rejected = await queue.reject(other["id"])
    assert rejected["status"] == "rejected" and await queue.list(10) == []
    assert len(await queue.list(10, status="rejected")) == 1


async def test_stage_sink_writes_audit_and_review(pool):
    resolver = EntityResolver({})
    resolver.resolve(DedupeInput("a", "Joe's Plumbing", street="12 Main St", zip="90210", phone="310-555-0101"))
    dup = resolver.resolve(
        DedupeInput("b", "Joes Plumbing LLC", street="12 Main Street", zip="90210", phone="310-555-0101")
    )
    _, _, gray = gray_resolution()
    await DedupeLog(pool).write(dup.audit, [p.as_review_item("llm unsure (0.50)") for p in gray.gray_pairs])
    assert await pool.fetchval("SELECT count(*) FROM dedupe_merges WHERE kind = 'join' AND lead_id = 'b'") == 1
    assert [i["reason"] for i in await ReviewQueue(pool).list(5)] == ["llm unsure (0.50)"]
