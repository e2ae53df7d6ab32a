"""The stream's phone directory on real PostgreSQL (`storage.dedupe_phones`, `stages.dedupe.phone_look`).

Two dedupe partitions (two states) claim one number at the same moment: the per-phone lock answers them one
after the other, so exactly one listing is new and the other is its duplicate, whichever came first. The dedupe
stage itself, over two resolvers (two partitions' states), ends the second twin as a duplicate."""

from __future__ import annotations

import asyncio
import dataclasses

import pytest

from schemas import Lead, TerminalState
from stages.dedupe.engine import EntityResolver
from stages.dedupe.phone_look import MATCHED_ON, StoredPhoneDirectory, listing_for
from stages.dedupe.record import DedupeInput
from stages.dedupe.retention import RetentionPolicy
from stages.dedupe.stage import DedupeStage
from storage.dedupe_phones import PhoneClaims
from streams.envelope import Envelope

pytestmark = pytest.mark.services

TTL = RetentionPolicy().ttl_s
PHONE = "212-555-0142"


def claim_of(lead_id: str, geo: str, seen: float, name: str = "Hoboken Bike Works"):
    record = DedupeInput(lead_id, name, phone=PHONE, geo_key=geo)
    made = listing_for(record, EntityResolver({}).resolve(record), seen)
    assert made is not None
    return made


async def test_two_partitions_claiming_one_phone_at_once_get_one_new_and_one_duplicate(pool):
    directory = StoredPhoneDirectory(PhoneClaims(pool))
    for round_ in range(5):  # several races, each on a number of its own
        phone_claims = [claim_of(f"nj{round_}", "NJ", 100.0), claim_of(f"ny{round_}", "NY", 100.0)]
        phone_claims = [dataclasses.replace(c, phone=f"+1212555{round_:04d}") for c in phone_claims]
        answers = await asyncio.gather(*(directory.claim(c, TTL) for c in phone_claims))
        twins = [claimed.twin_entity for claimed, _ in answers]
        assert sorted(t is None for t in twins) == [False, True], twins
        first = next(c for (claimed, _), c in zip(answers, phone_claims) if claimed.twin_entity is None)
        assert [t for t in twins if t] == [first.entity_id]


async def test_a_redelivered_claim_is_answered_from_the_table(pool):
    directory = StoredPhoneDirectory(PhoneClaims(pool))
    nj = claim_of("nj", "NJ", 100.0)
    assert (await directory.claim(nj, TTL))[0].twin_entity is None
    ny = claim_of("ny", "NY", 101.0)
    claimed, fresh = await directory.claim(ny, TTL)
    assert fresh and claimed.twin_entity == nj.entity_id and claimed.twin_first == nj.first == "nj"
    again, fresh_again = await directory.claim(ny, TTL)
    assert again == claimed and not fresh_again
    assert await PhoneClaims(pool).count() == 2


async def test_expired_claims_are_not_read_and_are_deleted(pool):
    """The clock is the caller's (`seen`): the test moves it past the retention instead of waiting."""
    claims = PhoneClaims(pool)
    directory = StoredPhoneDirectory(claims)
    await directory.claim(claim_of("nj", "NJ", 1_000.0), TTL)
    other = claim_of("old", "CT", 1_000.0)
    await directory.claim(dataclasses.replace(other, phone="+12035550100"), TTL)
    late, _ = await directory.claim(claim_of("ny", "NY", 1_000.0 + TTL + 1), TTL)
    assert late.twin_entity is None
    assert await claims.count() == 1  # both expired claims are gone: the phone's own and, by the sweep, the other


def lead(lead_id: str, geo: str, **fields: str) -> Lead:
    return Lead(lead_id=lead_id, geo_key=geo, source="test", name="Hoboken Bike Works", phone=PHONE, **fields)


async def test_the_dedupe_stage_ends_the_twin_of_another_partition_as_a_duplicate(pool):
    audit: list[dict] = []

    async def sink(entries: list[dict], review: list[dict]) -> None:
        audit.extend(entries)

    directory = StoredPhoneDirectory(PhoneClaims(pool))
    clock = iter(float(t) for t in range(1_000, 2_000))
    new_jersey, new_york = (  # two partitions: each its own state, one shared directory
        DedupeStage(EntityResolver({}, clock=lambda: next(clock)), sink=sink, phones=directory) for _ in range(2)
    )
    [first] = await new_jersey.handle(lead("nj", "NJ", street="101 Washington St", zip="07030"), Envelope(payload=b""))
    assert first.terminal is None
    [second] = await new_york.handle(lead("ny", "NY"), Envelope(payload=b""))
    assert second.terminal is TerminalState.duplicate
    decision = second.lead.dedupe
    assert decision is not None and decision.duplicate_of == "nj" and decision.matched_on == [MATCHED_ON]
    assert decision.entity_id == first.lead.dedupe.entity_id
    await new_york.after_batch()
    assert [(a["kind"], a["decided_by"], a["entity_id"]) for a in audit] == [("merge", "phone", decision.entity_id)]
    [redelivered] = await new_york.handle(lead("ny", "NY"), Envelope(payload=b""))
    assert redelivered.terminal is TerminalState.duplicate and redelivered.lead.dedupe == decision


async def test_an_entity_is_listed_once_per_number_and_a_replay_reads_its_claim(pool):
    """The one-call path (no listing of another state at the number) stores, skips or hands over as `settle` would."""
    claims = PhoneClaims(pool)
    directory = StoredPhoneDirectory(claims)
    first = claim_of("nj1", "NJ", 100.0)
    again = dataclasses.replace(claim_of("nj2", "NJ", 101.0), entity_id=first.entity_id, first="nj1")
    assert await directory.claim(first, TTL) == (first, True)
    assert await directory.claim(again, TTL) == (again, False)  # its entity is listed: nothing stored
    assert await directory.claim(first, TTL) == (first, False)  # a redelivery: its own claim, read back
    assert await claims.count() == 1
