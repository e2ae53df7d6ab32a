"""Two workers writing the same leads at once (a rebalance: the old owner finishes a batch the new one replays).

The chaos suite saw ``DeadlockDetectedError`` between two such batches, and the runner dead-lettered
four leads as ``InternalError``. `LeadRecords.write` now locks rows in key order, and a transaction the
server rolls back for a concurrent one is retried like an outage (`storage.errors.STORE_CONFLICTS`).
"""

from __future__ import annotations

import asyncio

import pytest
from asyncpg.exceptions import DeadlockDetectedError, SerializationError

from schemas import Lead, TerminalState
from storage.records import CoalescedRecords, LeadRecords, RecordUpdate
from streams.failures import Action, action_for
from streams.runner import record_write_retried

pytestmark = pytest.mark.services


def _updates(count: int, stage: str) -> list[RecordUpdate]:
    leads = [
        Lead(lead_id=f"ld_{i:04d}", geo_key=("NY", "CA", "TX")[i % 3], source="t", name=f"n{i}", zip="10002")
        for i in range(count)
    ]
    terminal = TerminalState.emailed if stage == "email" else None
    return [RecordUpdate(lead, stage, "c" * 32, 1_700_000_000_000, terminal) for lead in leads]


async def test_overlapping_batches_in_opposite_orders_both_land(pool):
    records = LeadRecords(pool)
    for round_ in range(5):
        forward = _updates(400, "score" if round_ % 2 else "email")
        await asyncio.gather(records.write(forward), records.write(list(reversed(forward))))
    assert await pool.fetchval("SELECT count(*) FROM leads") == 400
    assert await pool.fetchval("SELECT count(*) FROM lead_stages") == 800  # score and email, once each


def test_a_transaction_rolled_back_for_a_concurrent_one_is_retried():
    for conflict in (DeadlockDetectedError("deadlock detected"), SerializationError("could not serialize")):
        assert action_for(conflict) is Action.RETRY_INFRA
        assert record_write_retried(conflict)


async def test_a_record_already_encoded_is_stored_as_that_json(pool):
    """The runner hands the JSON it sends to Kafka (`RecordUpdate.encoded`): the row's record is that object."""
    import orjson

    lead = Lead(lead_id="ld_enc", geo_key="NY", source="t", name='Ünïcode "quoted"', zip="10002")
    encoded = orjson.dumps(lead.model_dump(mode="json", exclude_none=True))
    await LeadRecords(pool).write([RecordUpdate(lead, "enrich", "c" * 32, 1_700_000_000_000, encoded=encoded)])
    record = await pool.fetchval("SELECT record FROM leads WHERE lead_id = 'ld_enc'")
    assert record == orjson.loads(encoded) and record["name"] == 'Ünïcode "quoted"'


async def test_a_write_returns_the_leads_it_ended_and_only_the_first_end_counts(pool):
    """The runner counts `leadstream_terminal_total` from what the store says it ended: a redelivery, or the
    old and new owner of a partition both finishing one lead, end it once."""
    records = LeadRecords(pool)
    [update] = _updates(1, "email")
    forwarded = RecordUpdate(update.lead, "enrich", "c" * 32, 1_700_000_000_000)
    assert await records.write([forwarded]) == set()
    assert await records.write([update]) == {update.lead.lead_id}
    assert await records.write([update]) == set()

    coalesced = CoalescedRecords(pool)
    fresh = _updates(3, "email")[2]  # ld_0002: not ended yet
    fresh.lead.lead_id = "ld_race"
    # Two callers of one round trip with the same lead (a redelivery meeting the event in flight): one end.
    first, second = await asyncio.gather(coalesced.write([fresh]), coalesced.write([fresh]))
    assert sorted([first, second], key=len) == [set(), {"ld_race"}]


async def test_ended_answers_the_same_for_a_short_and_a_long_list(pool):
    """`leads_ended` (migration 0010) looks the ids of a short list up one by one and a long one (over 128,
    a backlog's batch) with one query: the same leads either way, unknown and repeated ids included."""
    records = LeadRecords(pool)
    updates = _updates(300, "enrich")
    for u in updates[::3]:
        u.stage, u.state = "email", TerminalState.emailed
    await records.write(updates)
    ids = [u.lead.lead_id for u in updates] + ["ld_unknown", updates[0].lead.lead_id]
    want = {u.lead.lead_id for u in updates[::3]}
    assert await records.ended(ids) == want
    short = [await records.ended(ids[i : i + 40]) for i in range(0, len(ids), 40)]
    assert set().union(*short) == want
