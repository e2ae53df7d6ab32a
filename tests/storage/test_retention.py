"""Retention (`leadstream db prune`): what goes, what stays, on the real PostgreSQL with the real migrations.

Dead letters are written as the pipeline writes them and aged by moving ``created_at`` back; the policy's clock
is injected. Audit months are the partitions `leadstream_month_partitions` makes, back from PostgreSQL's today.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from datetime import UTC, date, datetime, timedelta

import pytest

from config import RetentionSettings, SettingsError, load_settings
from leadstream.retention import first_kept_month, month_due, overdue_s, prune
from schemas import Lead, TerminalState
from storage.db import isolated_pool, migrate
from storage.dead_letters import LETTERS_LOCK, DeadLetterStore
from storage.provider_calls import ProviderCalls
from storage.records import DeadLetter, LeadRecords, RecordUpdate
from storage.retention import drop_partition, month_partitions, prune_dead_letters
from tests.waiting import waiting_on_lock, while_held

pytestmark = pytest.mark.services

NOW = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)
LAST_VACUUM = "SELECT last_vacuum FROM pg_stat_user_tables WHERE relid = 'dead_letters'::regclass"
POLICY = RetentionSettings(audit_months=6, dead_letters_settled_days=30, dead_letters_days=90)


def letter(
    offset: int, lead_id: str | None, error_type: str = "TransientProviderError", stage: str = "enrich"
) -> DeadLetter:
    return DeadLetter(
        stage=stage,
        lead_id=lead_id,
        geo_key="z989",
        topic="t.leads.scraped",
        partition=0,
        offset=offset,
        error_type=error_type,
        reason="why",
        attempts=1,
        payload=b"{}",
        trace_id="t" * 32,
        ingest_ms=1_700_000_000_000,
        key=b"z989",
        headers=(),
    )


async def write_aged(pool, *letters_and_ages: tuple[DeadLetter, float]) -> None:
    """Write each letter as the pipeline does, in order, then date it `days` before NOW."""
    for dead, days in letters_and_ages:
        await LeadRecords(pool).dead_letter([dead])
        await pool.execute(
            "UPDATE dead_letters SET created_at = $1 WHERE kafka_offset = $2", NOW - timedelta(days=days), dead.offset
        )


async def offsets(pool) -> set[int]:
    return {r["kafka_offset"] for r in await pool.fetch("SELECT kafka_offset FROM dead_letters")}


async def test_settled_letters_go_after_30_days_and_every_letter_after_90(pool):
    records, store = LeadRecords(pool), DeadLetterStore(pool)
    await write_aged(
        pool,
        (letter(1, "ld_replayed"), 40),  # replayed: settled
        (letter(2, "ld_twice"), 45),  # superseded by offset 3: settled
        (letter(3, "ld_twice"), 35),  # its lead's latest, never replayed: waits
        (letter(4, "ld_ended"), 40),  # its lead ended otherwise: settled
        (letter(5, "ld_bad", "InvalidMessage"), 89),  # bad input nobody looked at: waits until 90 days
        (letter(6, "ld_forgotten", "InvalidMessage"), 91),  # past the last horizon
        (letter(7, None, "InvalidMessage"), 91),  # undecodable, no lead: the same
        (letter(8, "ld_recent"), 20),  # replayed, but recent
    )
    for lead in ("ld_replayed", "ld_recent"):
        [d] = [x for x in await store.replayable(stages=["enrich"]) if x.lead_id == lead]
        assert (await store.claim(d)).ok
        await store.mark_sent(d.id, 0, 100 + d.offset)
    await pool.execute("UPDATE leads SET state = NULL WHERE lead_id = 'ld_ended'")  # a later copy got through
    ended = Lead(lead_id="ld_ended", geo_key="z989", source="test", name="Valley Heating")
    await records.write([RecordUpdate(ended, "email", "t" * 32, 1, TerminalState.emailed)])
    assert await pool.fetchval("SELECT count(*) FROM dead_letter_replays") == 2

    dry = await prune(pool, POLICY, now=NOW, dry_run=True)
    assert await offsets(pool) == set(range(1, 9)) and not dry.vacuumed  # a dry run deletes nothing
    assert await pool.fetchval(LAST_VACUUM) is None
    report = await prune(pool, POLICY, now=NOW)
    assert await offsets(pool) == {3, 5, 8}
    assert report.vacuumed and await pool.fetchval(LAST_VACUUM) is not None  # the index's deleted entries go
    assert report.dead_letters.settled == dry.dead_letters.settled == {("enrich", "TransientProviderError"): 3}
    assert report.dead_letters.unsettled == dry.dead_letters.unsettled == {("enrich", "InvalidMessage"): 2}
    assert await pool.fetchval("SELECT count(*) FROM dead_letter_replays") == 1  # offset 1's went with it
    assert await pool.fetchval("SELECT state FROM leads WHERE lead_id = 'ld_forgotten'") == "dead_lettered"
    again = await prune(pool, POLICY, now=NOW)
    assert not again.dead_letters.settled and not again.dead_letters.unsettled  # twice deletes nothing more
    assert not again.vacuumed
    assert [d.offset for d in await store.replayable(stages=["enrich"])] == [3, 5]  # what waited still can


async def lead_state(pool, lead_id: str) -> str | None:
    return await pool.fetchval("SELECT state FROM leads WHERE lead_id = $1", lead_id)


async def test_a_letter_whose_replay_is_claimed_is_held_past_every_horizon_until_it_is_sent(pool):
    """A replay that stopped between its claim and its send left the lead without a state: the letter is the
    lead's only copy until `dlq replay --force` sends it, so no horizon deletes it."""
    store = DeadLetterStore(pool)
    await write_aged(pool, (letter(1, "ld_stuck"), 91))
    [stuck] = await store.replayable(stages=["enrich"])
    assert (await store.claim(stuck)).ok  # ... and the replay stopped here
    assert await lead_state(pool, "ld_stuck") is None
    report = await prune(pool, POLICY, now=NOW)
    assert await offsets(pool) == {1} and report.dead_letters.held == [stuck.id]
    assert not report.dead_letters.unsettled and not report.vacuumed
    assert [d.id for d in await store.replayable(stages=["enrich"], include_claimed=True)] == [stuck.id]
    await store.mark_sent(stuck.id, 0, 7)  # `dlq replay --force` sent it
    report = await prune(pool, POLICY, now=NOW)
    assert await offsets(pool) == set() and report.dead_letters.settled == {("enrich", "TransientProviderError"): 1}


async def test_a_lead_that_failed_again_keeps_the_replays_its_max_replays_counts(pool):
    """`dlq replay --max-replays` counts a lead's earlier letters whose replay was sent. While the lead waits
    (it failed again), those stay until the last horizon, so the count is the same on day 31 as on day 1."""
    store = DeadLetterStore(pool)
    await write_aged(pool, (letter(1, "ld_poison"), 45), (letter(2, "ld_gone"), 45))
    for first in await store.replayable(stages=["enrich"]):
        assert (await store.claim(first)).ok
        await store.mark_sent(first.id, 0, 100 + first.offset)
    await write_aged(pool, (letter(3, "ld_poison"), 40))  # its replay failed again: the lead waits
    report = await prune(pool, POLICY, now=NOW)
    assert await offsets(pool) == {1, 3} and report.dead_letters.settled == {("enrich", "TransientProviderError"): 1}
    [waiting] = await store.replayable(stages=["enrich"])
    assert (waiting.offset, waiting.replays) == (3, 1)
    await pool.execute("UPDATE dead_letters SET created_at = $1 WHERE kafka_offset = 1", NOW - timedelta(days=91))
    await prune(pool, POLICY, now=NOW)
    assert await offsets(pool) == {3}  # the last horizon takes it


async def test_a_claim_made_while_a_prune_deletes_its_letter_is_refused_and_changes_nothing(pool):
    """The letter was listed, then a chunk of the prune deleted it before the claim: the claim waits for the chunk,
    then finds the letter gone. The lead keeps its state (before, the claim failed on the foreign key)."""
    store = DeadLetterStore(pool)
    await write_aged(pool, (letter(1, "ld_late"), 91))
    [late] = await store.replayable(stages=["enrich"])
    chunk = [f"SELECT pg_advisory_xact_lock({LETTERS_LOCK[0]}, {LETTERS_LOCK[1]})"]
    deleting = (f"DELETE FROM dead_letters WHERE id = {late.id}",)
    claim = await while_held(pool, chunk, store.claim(late), waits_in="pg_advisory_xact_lock_shared", then=deleting)
    assert not claim.ok and "deleted by retention" in (claim.refusal or "")
    assert await lead_state(pool, "ld_late") == "dead_lettered"
    assert await pool.fetchval("SELECT count(*) FROM dead_letter_replays") == 0


async def test_a_prune_waits_for_a_claim_in_flight_and_holds_its_letter(pool):
    """A claim has begun (it waits on its lead's row here) when the prune's chunk starts: the chunk waits, then
    reads the claim, and keeps the letter its lead now depends on."""
    store = DeadLetterStore(pool)
    await write_aged(pool, (letter(1, "ld_inflight"), 91))
    [inflight] = await store.replayable(stages=["enrich"])
    async with pool.acquire() as conn:
        holding = conn.transaction()
        await holding.start()
        await conn.execute("SELECT 1 FROM leads WHERE lead_id = 'ld_inflight' FOR UPDATE")
        claiming = asyncio.create_task(store.claim(inflight))
        await waiting_on_lock(pool, "FOR UPDATE")
        pruning = asyncio.create_task(prune(pool, POLICY, now=NOW))
        await waiting_on_lock(pool, "pg_advisory_xact_lock(")
        await holding.commit()
    assert (await claiming).ok
    report = await pruning
    assert await offsets(pool) == {1} and report.dead_letters.held == [inflight.id]
    assert await lead_state(pool, "ld_inflight") is None  # the replay's send will give it one


async def test_a_night_reads_only_the_letters_past_the_horizon_in_every_stage(pool):
    """Each stage's letters are walked along (stage, created_at) in chunks, oldest first, up to the settled
    horizon: the recent part of the table is never read, whatever order the ids were given in (these old letters
    are written last: restored or replayed rows need not have ids in time order)."""
    await write_aged(pool, *[(letter(i, f"ld_{i}", "InvalidMessage"), 1) for i in range(14)])
    await write_aged(pool, *[(letter(i, f"ld_{i}", "InvalidMessage", stage="score"), 100) for i in range(14, 17)])
    await write_aged(pool, *[(letter(i, f"ld_{i}", "InvalidMessage"), 117 - i) for i in range(17, 22)])
    await write_aged(pool, (letter(22, "ld_22", "InvalidMessage"), 40))  # past the settled horizon, not due
    pruned = await prune_dead_letters(
        pool, settled_before=NOW - timedelta(days=30), any_before=NOW - timedelta(days=90), chunk=2
    )
    assert pruned.unsettled == {("score", "InvalidMessage"): 3, ("enrich", "InvalidMessage"): 5}
    assert await offsets(pool) == set(range(14)) | {22}
    assert pruned.read == 3 + 6  # the due letters and offset 22; not the 14 recent ones


async def test_audit_months_past_the_horizon_are_dropped_whole(pool):
    """Months are made back from PostgreSQL's today, so the horizon is taken from the same clock."""
    today = await pool.fetchval("SELECT now()")
    for table in ("provider_calls", "email_events", "dedupe_merges"):
        await pool.execute("SELECT leadstream_month_partitions($1::regclass, 9, 0)", table)
    kept_from = first_kept_month(today, 6)
    old_month = datetime(kept_from.year - (kept_from.month == 1), (kept_from.month - 2) % 12 + 1, 15, tzinfo=UTC)
    calls = ProviderCalls(pool)
    await calls.insert(
        [(old_month, "hunter", "domain", 0.01, False, "ld_old"), (today, "hunter", "domain", 0.01, False, "ld_new")]
    )
    before = await month_partitions(pool)
    due = [p for p in before if p.month < kept_from]
    assert {p.table for p in due} == {"provider_calls", "email_events", "dedupe_merges"} and len(due) == 9
    assert all(p.name.endswith(f"_y{p.month:%Y}m{p.month:%m}") for p in before)

    dry = await prune(pool, POLICY, now=today, dry_run=True)
    assert dry.dropped == due and await month_partitions(pool) == before
    report = await prune(pool, POLICY, now=today)
    assert report.dropped == due and not report.busy and report.kept_from == kept_from
    assert await month_partitions(pool) == [p for p in before if p.month >= kept_from]
    assert [r["lead_id"] for r in await pool.fetch("SELECT lead_id FROM provider_calls")] == ["ld_new"]
    assert await pool.fetchval("SELECT to_regclass('provider_calls_default') IS NOT NULL")  # never dropped
    assert not (await prune(pool, POLICY, now=today)).dropped


async def test_a_month_whose_table_is_busy_is_left_for_the_next_run(pool):
    await pool.execute("SELECT leadstream_month_partitions('provider_calls'::regclass, 9, 0)")
    [oldest, *_] = await month_partitions(pool, ("provider_calls",))
    async with pool.acquire() as reader, reader.transaction():
        await reader.fetch("SELECT * FROM provider_calls LIMIT 1")  # a reader holds its lock
        assert not await drop_partition(pool, oldest, lock_timeout="50ms")
    assert oldest in await month_partitions(pool, ("provider_calls",))
    assert await drop_partition(pool, oldest, lock_timeout="50ms")
    assert oldest not in await month_partitions(pool, ("provider_calls",))


async def test_every_worker_reports_how_far_the_prune_is_behind(pool):
    """`overdue_s`: how long the oldest row the policy says is gone has been due; 0 once the prune ran. Every
    worker serves it on /metrics (`leadstream_retention_overdue_seconds`), and the alert reads the max."""
    from prometheus_client import REGISTRY

    from leadstream.telemetry import sample_retention

    today = await pool.fetchval("SELECT now()")
    assert await overdue_s(pool, POLICY, now=today) == 0  # a fresh database: nothing is due
    await write_aged(pool, (letter(1, "ld_a", "InvalidMessage"), 95), (letter(2, "ld_b", "InvalidMessage"), 10))
    assert await overdue_s(pool, POLICY, now=NOW) == 5 * 86400  # 95 days old, due after 90
    await pool.execute("SELECT leadstream_month_partitions('email_events'::regclass, 9, 0)")
    [oldest, *_] = await month_partitions(pool)
    assert oldest.month == first_kept_month(today, 9)
    expected = (today - month_due(oldest.month, POLICY.audit_months)).total_seconds()
    assert await sample_retention(pool, POLICY, now=today) == expected > 30 * 86400  # two months past due
    assert REGISTRY.get_sample_value("leadstream_retention_overdue_seconds") == expected
    await prune(pool, POLICY, now=today)
    assert await sample_retention(pool, POLICY, now=today) == 0
    assert REGISTRY.get_sample_value("leadstream_retention_overdue_seconds") == 0


def test_a_month_is_due_the_moment_the_prune_would_drop_it():
    for month in (date(2025, 1, 1), date(2026, 6, 1), date(2026, 12, 1)):
        for keep in (1, 6, 12, 13):
            due = month_due(month, keep)
            assert first_kept_month(due, keep) > month >= first_kept_month(due - timedelta(seconds=1), keep)


def test_the_oldest_month_kept():
    assert first_kept_month(NOW, 6) == date(2026, 6, 1)
    assert first_kept_month(datetime(2027, 1, 1, tzinfo=UTC), 1) == date(2026, 12, 1)
    assert first_kept_month(datetime(2027, 1, 31, tzinfo=UTC), 12) == date(2026, 1, 1)
    assert first_kept_month(datetime(2027, 3, 5, tzinfo=UTC), 27) == date(2024, 12, 1)


def test_a_policy_that_deletes_waiting_letters_first_is_refused(monkeypatch):
    monkeypatch.setenv("LEADSTREAM_RETENTION__DEAD_LETTERS_DAYS", "10")
    with pytest.raises(SettingsError, match="LEADSTREAM_RETENTION__DEAD_LETTERS_DAYS: 10 days would delete"):
        load_settings()
    monkeypatch.setenv("LEADSTREAM_RETENTION__DEAD_LETTERS_DAYS", "1")
    with pytest.raises(SettingsError, match="LEADSTREAM_RETENTION__DEAD_LETTERS_DAYS"):
        load_settings()


async def test_the_command_prints_what_it_would_delete(database_url, admin_database_url, unique):
    """`leadstream db prune --dry-run` as an operator runs it, on a database of its own."""
    async with isolated_pool(database_url, f"test_{unique}", admin_database_url) as (url, pool):
        await migrate(pool)
        await write_aged(pool, (letter(1, "ld_a", "InvalidMessage"), 400))  # NOW is in the past of the run
        env = {**os.environ, "LEADSTREAM_DATABASE_URL": url}
        done = subprocess.run(
            [sys.executable, "-m", "leadstream", "db", "prune", "--dry-run"], env=env, capture_output=True, text=True
        )
        assert done.returncode == 0, done.stderr
        assert "dead letters: would delete 1 unsettled (enrich/InvalidMessage 1)" in done.stderr
        assert "would drop none" in done.stderr
        assert await offsets(pool) == {1}
