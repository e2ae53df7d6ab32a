"""The counts `GET /v1/stats` reads (`storage.row_counts`, migrations 0015–0016), on the real PostgreSQL.

Every way the pipeline, the replay and the prune change a lead's state or the dead letters is run, and after each
the counters must equal a count of the tables, folded or not.
"""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime

import pytest

from config import RetentionSettings
from leadstream.retention import prune
from schemas import Lead, TerminalState
from storage import row_counts
from storage.db import isolated_pool, migrate
from storage.dead_letters import DeadLetterStore
from storage.lead_status import LeadStatus
from storage.records import LeadRecords, RecordUpdate
from tests.storage.test_retention import letter, write_aged

pytestmark = pytest.mark.services

NOW = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)


def lead(lead_id: str) -> Lead:
    return Lead(lead_id=lead_id, geo_key="z989", source="test", name=f"Valley Heating {lead_id}")


def update(lead_id: str, stage: str, state: TerminalState | None = None) -> RecordUpdate:
    return RecordUpdate(lead(lead_id), stage, "t" * 32, 1, state)


async def assert_counts_are_the_tables(pool) -> dict[str, int]:
    counted = {k: n for k, n in (await row_counts.counted(pool)).items() if n}
    read = {k: n for k, n in (await row_counts.read(pool)).items() if n}
    assert read == counted
    return read


async def test_the_counts_follow_every_way_a_lead_or_a_letter_changes(pool):
    records, store = LeadRecords(pool), DeadLetterStore(pool)
    await records.write([update(f"ld_{i}", "scrape") for i in range(6)])  # in flight: no counter
    assert await assert_counts_are_the_tables(pool) == {}
    await records.write(
        [
            update("ld_0", "email", TerminalState.emailed),
            update("ld_1", "dedupe", TerminalState.duplicate),
            update("ld_2", "score", TerminalState.disqualified),
            update("ld_3", "enrich"),  # moves on, no state
        ]
    )
    await records.write([update("ld_0", "email", TerminalState.emailed)])  # a redelivery changes nothing
    assert await assert_counts_are_the_tables(pool) == {
        "state:emailed": 1,
        "state:duplicate": 1,
        "state:disqualified": 1,
    }
    assert await row_counts.fold(pool)
    assert await pool.fetchval("SELECT count(*) FROM row_count_deltas") == 0
    await assert_counts_are_the_tables(pool)

    await write_aged(pool, (letter(1, "ld_4"), 91), (letter(2, "ld_5"), 1), (letter(3, None, "InvalidMessage"), 1))
    assert (await assert_counts_are_the_tables(pool))["dead_letters"] == 3
    [first, second] = await store.replayable(stages=["enrich"], reasons=["TransientProviderError"])
    assert (await store.claim(first)).ok  # its lead loses its state
    await assert_counts_are_the_tables(pool)
    await store.release(first)  # and gets it back
    assert (await store.claim(second)).ok
    await store.mark_sent(second.id, 0, 1)
    await records.write([update("ld_5", "email", TerminalState.emailed)])  # the replay got through
    assert await row_counts.fold(pool)
    assert (await assert_counts_are_the_tables(pool))["state:emailed"] == 2
    policy = RetentionSettings(audit_months=6, dead_letters_settled_days=30, dead_letters_days=90)
    assert (await prune(pool, policy, now=NOW)).dead_letters.unsettled  # the 91-day letter goes
    assert (await assert_counts_are_the_tables(pool))["dead_letters"] == 2

    counts = await LeadStatus(pool).counts()  # what the API answers
    assert counts.in_flight == {"enrich": 1} and counts.dead_letters == 2
    assert counts.terminal == {"emailed": 2, "duplicate": 1, "disqualified": 1, "dead_lettered": 1}


async def test_one_fold_at_a_time_and_a_waiting_one_is_skipped(pool):
    await LeadRecords(pool).write([update("ld_0", "email", TerminalState.emailed)])
    async with pool.acquire() as conn, conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock($1, $2)", *row_counts.FOLD_LOCK)  # another worker folds
        assert not await row_counts.fold(pool)
    assert await pool.fetchval("SELECT count(*) FROM row_count_deltas") == 1
    assert await row_counts.fold(pool)
    assert row_counts.terminal(await row_counts.read(pool)) == {"emailed": 1}


async def test_the_seed_counts_what_was_there_before_the_counters(database_url, admin_database_url, unique):
    """A database of the release before: leads and letters written, then the counters' migrations."""
    async with isolated_pool(database_url, f"test_{unique}", admin_database_url, size=2) as (_, pool):
        await migrate(pool, until="0014_dead_letters_by_reason.sql")
        await LeadRecords(pool).write(
            [update("ld_0", "email", TerminalState.emailed), update("ld_1", "score", TerminalState.disqualified)]
            + [update(f"ld_{i}", "scrape") for i in range(2, 5)]
        )
        await write_aged(pool, (letter(1, "ld_2"), 1))
        assert await migrate(pool, until="0016_row_counts_seed.sql") == [
            "0015_row_counts.sql",
            "0016_row_counts_seed.sql",
        ]
        assert await assert_counts_are_the_tables(pool) == {
            "state:emailed": 1,
            "state:disqualified": 1,
            "state:dead_lettered": 1,
            "dead_letters": 1,
        }
        await LeadRecords(pool).write([update("ld_3", "email", TerminalState.emailed)])
        assert (await assert_counts_are_the_tables(pool))["state:emailed"] == 2


async def test_a_recount_mends_counters_a_change_no_trigger_saw(database_url, admin_database_url, unique):
    """`leadstream db recount --check` finds counters that differ from the tables (here: set by hand, as after a
    TRUNCATE no trigger sees) and exits 1; `leadstream db recount` counts them again."""
    async with isolated_pool(database_url, f"test_{unique}", admin_database_url) as (url, pool):
        await migrate(pool)
        await LeadRecords(pool).write([update("ld_0", "email", TerminalState.emailed)])
        await row_counts.fold(pool)
        await pool.execute("UPDATE row_counts SET n = n + 5 WHERE counter = 'state:emailed'")
        env = {**os.environ, "LEADSTREAM_DATABASE_URL": url}

        def command(*args: str) -> subprocess.CompletedProcess:
            argv = [sys.executable, "-m", "leadstream", "db", "recount", *args]
            return subprocess.run(argv, env=env, capture_output=True, text=True)

        checked = command("--check")
        assert checked.returncode == 1 and "state:emailed: counters 6, tables 1  differs" in checked.stderr
        assert (await row_counts.read(pool))["state:emailed"] == 6  # --check changes nothing
        mended = command()
        assert mended.returncode == 0 and "state:emailed: counters 1, tables 1" in mended.stderr, mended.stderr
        await assert_counts_are_the_tables(pool)
