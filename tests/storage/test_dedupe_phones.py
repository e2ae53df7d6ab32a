"""The stream's phone directory on real PostgreSQL (`storage.dedupe_phones`, `stages.dedupe.phone_look`).

Two dedupe partitions (two states) claim one number at the same moment: the per-phone lock answers them one
after the other, so exactly one listing is new and the other is its duplicate, whichever came first. Batches
that share numbers in opposite orders take their locks in one order and never deadlock. The dedupe stage
itself, over two resolvers (two partitions' states), ends the second twin as a duplicate once its batch is
complete."""

from __future__ import annotations

import asyncio
import dataclasses

import pytest

from schemas import Lead, TerminalState
from stages.dedupe.engine import EntityResolver
from stages.dedupe.phone_look import (
    CLAIMS_PER_CALL,
    MATCHED_ON,
    MATCHED_ON_NAME_CITY,
    MATCHED_ON_NAME_STREET,
    Listing,
    StoredPhoneDirectory,
    listings_for,
)
from stages.dedupe.record import DedupeInput
from stages.dedupe.retention import RetentionPolicy
from stages.dedupe.stage import DedupeStage
from storage.dedupe_phones import PhoneClaims
from streams.envelope import Envelope
from streams.stage import Output

pytestmark = pytest.mark.services

TTL = RetentionPolicy().ttl_s
PHONE = "212-555-0142"


async def one(directory: StoredPhoneDirectory, listing: Listing) -> tuple[Listing, bool]:
    """A batch of one claim."""
    [answer] = await directory.claim_all([[listing]], TTL)
    return answer


def claim_of(lead_id: str, geo: str, seen: float, name: str = "Hoboken Bike Works"):
    record = DedupeInput(lead_id, name, phone=PHONE, geo_key=geo)
    [made] = listings_for(record, EntityResolver({}).resolve(record), seen)  # no street line: its phone only
    return made


async def test_two_partitions_claiming_one_phone_at_once_get_one_new_and_one_duplicate(pool):
    directory = StoredPhoneDirectory(PhoneClaims(pool))
    for round_ in range(5):  # several races, each on a number of its own
        phone_claims = [claim_of(f"nj{round_}", "NJ", 100.0), claim_of(f"ny{round_}", "NY", 100.0)]
        phone_claims = [dataclasses.replace(c, key=f"+1212555{round_:04d}") for c in phone_claims]
        answers = await asyncio.gather(*(one(directory, c) for c in phone_claims))
        twins = [claimed.twin_entity for claimed, _ in answers]
        assert sorted(t is None for t in twins) == [False, True], twins
        first = next(c for (claimed, _), c in zip(answers, phone_claims) if claimed.twin_entity is None)
        assert [t for t in twins if t] == [first.entity_id]


async def test_a_redelivered_claim_is_answered_from_the_table(pool):
    directory = StoredPhoneDirectory(PhoneClaims(pool))
    nj = claim_of("nj", "NJ", 100.0)
    assert (await one(directory, nj))[0].twin_entity is None
    ny = claim_of("ny", "NY", 101.0)
    claimed, fresh = await one(directory, ny)
    assert fresh and claimed.twin_entity == nj.entity_id and claimed.twin_first == nj.first == "nj"
    again, fresh_again = await one(directory, ny)
    assert again == claimed and not fresh_again
    assert await PhoneClaims(pool).count() == 2


async def test_expired_claims_are_not_read_and_are_deleted(pool):
    """The clock is the caller's (`seen`): the test moves it past the retention instead of waiting."""
    claims = PhoneClaims(pool)
    directory = StoredPhoneDirectory(claims)
    await one(directory, claim_of("nj", "NJ", 1_000.0))
    other = claim_of("old", "CT", 1_000.0)
    await one(directory, dataclasses.replace(other, key="+12035550100"))
    late, _ = await one(directory, claim_of("ny", "NY", 1_000.0 + TTL + 1))
    assert late.twin_entity is None
    assert await claims.count() == 1  # both expired claims are gone: the phone's own and, by the sweep, the other


def lead(lead_id: str, geo: str, **fields: str) -> Lead:
    return Lead(lead_id=lead_id, geo_key=geo, source="test", name="Hoboken Bike Works", phone=PHONE, **fields)


async def handled(stage: DedupeStage, *leads: Lead) -> list[list[Output]]:
    """One batch through the stage as the runner drives it: each lead's `handle`, then `complete_batch`."""
    results = [await stage.handle(one_lead, Envelope(payload=b"")) for one_lead in leads]
    await stage.complete_batch()
    return results


async def test_the_dedupe_stage_ends_the_twin_of_another_partition_as_a_duplicate(pool):
    audit: list[dict] = []

    async def sink(entries: list[dict], review: list[dict]) -> None:
        audit.extend(entries)

    directory = StoredPhoneDirectory(PhoneClaims(pool))
    clock = iter(float(t) for t in range(1_000, 2_000))
    new_jersey, new_york = (  # two partitions: each its own state, one shared directory
        DedupeStage(EntityResolver({}, clock=lambda: next(clock)), sink=sink, phones=directory) for _ in range(2)
    )
    [[first]] = await handled(new_jersey, lead("nj", "NJ", street="101 Washington St", zip="07030"))
    assert first.terminal is None
    outputs = await new_york.handle(lead("ny", "NY"), Envelope(payload=b""))
    assert outputs[0].terminal is None  # the engine's answer, until the batch's claims are made
    await new_york.complete_batch()
    [second] = outputs
    assert second.terminal is TerminalState.duplicate
    decision = second.lead.dedupe
    assert decision is not None and decision.duplicate_of == "nj" and decision.matched_on == [MATCHED_ON]
    assert decision.entity_id == first.lead.dedupe.entity_id
    await new_york.after_batch()
    assert [(a["kind"], a["decided_by"], a["entity_id"]) for a in audit] == [("merge", "phone", decision.entity_id)]
    [[redelivered]] = await handled(new_york, lead("ny", "NY"))
    assert redelivered.terminal is TerminalState.duplicate and redelivered.lead.dedupe == decision


async def test_twins_in_one_batch_meet_in_it(pool):
    """One partition holds several states: a batch's later claim sees the earlier one before either is stored."""
    stage = DedupeStage(EntityResolver({}), phones=StoredPhoneDirectory(PhoneClaims(pool)))
    [[nj], [ny]] = await handled(stage, lead("nj", "NJ", street="101 Washington St", zip="07030"), lead("ny", "NY"))
    assert nj.terminal is None and nj.topics
    assert ny.terminal is TerminalState.duplicate and ny.lead.dedupe is not None
    assert ny.lead.dedupe.duplicate_of == "nj" and ny.lead.dedupe.matched_on == [MATCHED_ON]
    assert await PhoneClaims(pool).count() == 2


async def test_twins_with_no_phone_in_common_meet_by_name_and_street_line_across_partitions(pool):
    """A second listing with a New York cell and no ZIP or state is keyed New York; its name, street line and city
    are its New Jersey twin's, and that claim finds it."""
    claims = PhoneClaims(pool)
    directory = StoredPhoneDirectory(claims)
    new_jersey, new_york = (DedupeStage(EntityResolver({}), phones=directory) for _ in range(2))
    club = {"source": "test", "name": "Port Imperial Rowing Club", "city": "Weehawken"}
    nj = Lead(lead_id="club", geo_key="NJ", street="500 Port Imperial Blvd", state="NJ", phone="201-555-0177", **club)
    cell = Lead(lead_id="cell", geo_key="NY", street="500 Port Imperial Boulevard", phone="917-555-0163", **club)
    [[first]] = await handled(new_jersey, nj)
    assert first.terminal is None and await claims.count() == 5  # its phone, two name words with number, two with city
    [[second]] = await handled(new_york, cell)
    assert second.terminal is TerminalState.duplicate and second.lead.dedupe is not None
    assert second.lead.dedupe.matched_on == [MATCHED_ON_NAME_STREET] and second.lead.dedupe.duplicate_of == "club"
    assert await claims.count() == 6  # the listing that found the twin
    [[again]] = await handled(new_york, cell)
    assert again.lead.dedupe == second.lead.dedupe and await claims.count() == 6


async def test_a_bare_entry_meets_its_twin_by_name_and_city_across_partitions(pool):
    """A guide's bare entry (a name, a city and its state) and the business's full listing with a New York cell
    and no ZIP or state (keyed New York) share only the name and the city; the later one's claim finds the other."""
    claims = PhoneClaims(pool)
    directory = StoredPhoneDirectory(claims)
    new_jersey, new_york = (DedupeStage(EntityResolver({}), phones=directory) for _ in range(2))
    bakery = {"source": "test", "name": "Blue Door Bakery", "city": "Weehawken"}
    bare = Lead(lead_id="bare", geo_key="NJ", state="NJ", **bakery)
    full = Lead(lead_id="full", geo_key="NY", street="10 Gregory Ave", phone="917-555-0120", **bakery)
    [[first]] = await handled(new_jersey, bare)
    assert first.terminal is None and await claims.count() == 2  # its two name words with the city
    [[second]] = await handled(new_york, full)
    assert second.terminal is TerminalState.duplicate and second.lead.dedupe is not None
    assert second.lead.dedupe.matched_on == [MATCHED_ON_NAME_CITY] and second.lead.dedupe.duplicate_of == "bare"


class FailingOnce:
    """The real claim store, whose ``fail_at``-th call fails once (the database gone for a moment)."""

    def __init__(self, store: PhoneClaims, fail_at: int) -> None:
        self.store, self.fail_at, self.calls = store, fail_at, 0

    async def claim_all(self, *args):
        self.calls += 1
        if self.calls == self.fail_at:
            raise ConnectionError("the database went away")
        return await self.store.claim_all(*args)


async def test_a_long_batch_claims_in_calls_and_a_retry_goes_on_from_the_failed_one(pool):
    """A batch longer than `CLAIMS_PER_CALL` is claimed in calls, in order: twins in two calls meet. When a call
    fails, the runner retries `complete_batch`, which goes on from that call (the calls before are not made
    again), and every twin's merge audit is written once."""
    audit: list[dict] = []

    async def sink(entries: list[dict], review: list[dict]) -> None:
        audit.extend(entries)

    store = FailingOnce(PhoneClaims(pool), fail_at=3)
    stage = DedupeStage(EntityResolver({}), sink=sink, phones=StoredPhoneDirectory(store))
    businesses = CLAIMS_PER_CALL + 1
    shops = [
        Lead(
            lead_id=f"nj{i}", geo_key="NJ", source="test", name=f"Hoboken Bike Works {i}", phone=f"212-555-{i:04d}"
        ).model_copy(update={"street": f"{100 + i} Washington St", "zip": "07030"})
        for i in range(businesses)
    ]
    twins = [lead(f"ny{i}", "NY").model_copy(update={"name": s.name, "phone": s.phone}) for i, s in enumerate(shops)]
    outputs = [await stage.handle(one_lead, Envelope(payload=b"")) for one_lead in [*shops, *twins]]
    with pytest.raises(ConnectionError):
        await stage.complete_batch()  # the third call of three fails
    await stage.complete_batch()
    await stage.after_batch()
    assert store.calls == 4
    ended = [out for [out] in outputs if out.terminal is TerminalState.duplicate]
    assert sorted(out.lead.lead_id for out in ended) == sorted(t.lead_id for t in twins)
    assert sorted(a["lead_id"] for a in audit if a["decided_by"] == "phone") == sorted(t.lead_id for t in twins)


async def test_batches_sharing_numbers_in_opposite_orders_do_not_deadlock(pool):
    """Each batch locks its numbers in one order (by lock key): were they locked in the batch's order, two
    batches each holding the other's next number would deadlock, and PostgreSQL would fail one of them."""
    directory = StoredPhoneDirectory(PhoneClaims(pool))
    numbers = [f"+1212555{n:04d}" for n in range(100, 140)]

    def batch(geo: str, order: list[str]) -> list[list[Listing]]:
        return [[dataclasses.replace(claim_of(f"{geo}{p}", geo, 100.0), key=p)] for p in order]

    for round_ in range(3):
        mine = [f"{n}{round_}" for n in numbers]
        answers = await asyncio.gather(
            directory.claim_all(batch("NJ", mine), TTL), directory.claim_all(batch("NY", mine[::-1]), TTL)
        )
        twins = [claimed.twin_entity is not None for answer in answers for claimed, _ in answer]
        assert sum(twins) == len(mine)  # each number: one listing new, the other its twin


async def test_an_entity_is_listed_once_per_number_and_a_replay_reads_its_claim(pool):
    claims = PhoneClaims(pool)
    directory = StoredPhoneDirectory(claims)
    first = claim_of("nj1", "NJ", 100.0)
    again = dataclasses.replace(claim_of("nj2", "NJ", 101.0), entity_id=first.entity_id, first="nj1")
    assert await one(directory, first) == (first, True)
    assert await one(directory, again) == (again, False)  # its entity is listed: nothing stored
    assert await one(directory, first) == (first, False)  # a redelivery: its own claim, read back
    assert await claims.count() == 1
