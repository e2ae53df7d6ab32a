"""Concurrent events of a streaming stage share round trips to PostgreSQL (group commit)."""

from __future__ import annotations

import asyncio

import pytest

from schemas import Lead, TerminalState
from storage.records import CoalescedRecords, GroupCommit, RecordUpdate


async def test_calls_arriving_during_a_round_trip_share_the_next_one():
    gate = asyncio.Event()
    flushed: list[list[int]] = []

    async def flush(items):
        flushed.append(list(items))
        if len(flushed) == 1:
            await gate.wait()  # the first round trip is in flight while the others arrive
        return len(items)

    commit = GroupCommit(flush)
    first = asyncio.create_task(commit.submit([1]))
    await asyncio.sleep(0)
    await asyncio.sleep(0)
    rest = [asyncio.create_task(commit.submit([n, n + 100])) for n in range(2, 12)]
    await asyncio.sleep(0)
    gate.set()
    assert await first == 1
    assert await asyncio.gather(*rest) == [20] * 10  # every caller gets the combined call's result
    assert flushed[0] == [1] and sorted(flushed[1]) == sorted(x for n in range(2, 12) for x in (n, n + 100))
    assert commit.round_trips == 2


async def test_a_failed_round_trip_fails_each_caller_so_each_retries():
    calls = 0

    async def flush(items):
        nonlocal calls
        calls += 1
        await asyncio.sleep(0)
        if calls == 1:
            raise ConnectionResetError("store restarting")
        return None

    commit = GroupCommit(flush)
    results = await asyncio.gather(commit.submit([1]), commit.submit([2]), return_exceptions=True)
    assert isinstance(results[0], ConnectionResetError)
    assert await commit.submit([3]) is None  # the next round trip goes on


@pytest.mark.services
async def test_coalesced_records_write_and_answer_per_caller(pool):
    records = CoalescedRecords(pool)

    def update(lead_id: str, state: TerminalState | None) -> list[RecordUpdate]:
        lead = Lead(lead_id=lead_id, geo_key="WA", source="test", name="Valley Heating")
        return [RecordUpdate(lead, "email", "t" * 32, 1_700_000_000_000, state, "r" if state else None)]

    await asyncio.gather(
        *(records.write(update(f"ld_{n}", TerminalState.emailed if n % 2 else None)) for n in range(40))
    )
    answers = await asyncio.gather(*(records.ended([f"ld_{n}", "ld_unknown"]) for n in range(40)))
    assert answers == [({f"ld_{n}"} if n % 2 else set()) for n in range(40)]
    assert records._writes.round_trips < 40 and records._ended.round_trips < 40
