"""Outreach's survivor (`stages.dedupe.merge.stand_in`): an entity writes to its business through one lead, the
first of its leads with an address. When the entity's first lead had none, the next duplicate with one goes on in
its place; every other duplicate ends `duplicate` as before."""

from __future__ import annotations

from prometheus_client import REGISTRY

from providers.llm import Verdict
from schemas import Lead, TerminalState
from stages.dedupe import merge
from stages.dedupe.engine import EntityResolver
from stages.dedupe.model import Thresholds
from stages.dedupe.phone_look import MemoryPhoneDirectory
from stages.dedupe.record import DedupeInput
from stages.dedupe.stage import DedupeStage
from stages.dedupe.state import entity_id_for
from streams.envelope import Envelope

PLACE = {"name": "Joe's Plumbing", "street": "12 Main St", "zip": "90210", "phone": "310-555-0101"}


def record(lead_id: str, email: str | None = None, **fields: str) -> DedupeInput:
    return DedupeInput(lead_id=lead_id, source="csv", email=email, **{**PLACE, **fields})


def listing(lead_id: str, email: str | None = None, geo_key: str = "CA", **fields: str) -> Lead:
    values = {**PLACE, **fields}
    return Lead(lead_id=lead_id, geo_key=geo_key, source="test", email=email, **values)


def test_a_duplicate_with_an_address_stands_in_for_a_first_lead_without_one():
    store: dict = {}
    resolver = EntityResolver(store)
    first = resolver.resolve(record("a"))
    second = resolver.resolve(record("b", "joe@joesplumbing.com"))
    third = resolver.resolve(record("c", "office@joesplumbing.com"))
    assert first.decision == "new" and not first.stands_in
    assert (second.decision, second.duplicate_of, second.stands_in) == ("duplicate", "a", True)
    assert (third.decision, third.duplicate_of, third.stands_in) == ("duplicate", "a", False)  # one per entity
    assert merge.outreach_lead(resolver.entity(first.entity_id) or {}) == "b"
    # a redelivery answers as the first time and changes nothing
    snapshot = dict(store)
    assert resolver.resolve(record("b", "joe@joesplumbing.com")).stands_in
    assert not resolver.resolve(record("c", "office@joesplumbing.com")).stands_in
    assert store == snapshot


def test_a_stand_in_whose_outcome_was_lost_stands_in_again():
    """A crash can keep the entity's record (naming the stand-in) while losing the lead's outcome (``l:``): the table's
    writes reach the changelog one record at a time. The redelivered lead is not a new one that finds the business
    reached: it is the lead that reached it."""
    store: dict = {}
    resolver = EntityResolver(store)
    resolver.resolve(record("a"))
    assert resolver.resolve(record("b", "joe@joesplumbing.com")).stands_in
    del store["l:b"]
    again = resolver.resolve(record("b", "joe@joesplumbing.com"))
    assert (again.decision, again.duplicate_of, again.stands_in) == ("duplicate", "a", True)
    assert not resolver.resolve(record("c", "office@joesplumbing.com")).stands_in  # still one per entity


def test_a_first_lead_with_an_address_keeps_outreach_and_its_duplicates_end():
    resolver = EntityResolver({})
    resolver.resolve(record("a", "joe@joesplumbing.com"))
    second = resolver.resolve(record("b", "office@joesplumbing.com"))
    third = resolver.resolve(record("c"))
    assert (second.decision, second.stands_in) == ("duplicate", False)
    assert (third.decision, third.stands_in) == ("duplicate", False)


def test_a_duplicate_without_an_address_never_stands_in():
    resolver = EntityResolver({})
    resolver.resolve(record("a"))
    assert not resolver.resolve(record("b")).stands_in
    assert resolver.resolve(record("c", "joe@joesplumbing.com")).stands_in  # the first with one does


def test_a_merged_entity_that_reached_the_business_keeps_it_reached():
    """Two entities become one (an operator's review, the LLM, a lead joining both): the merged one went on with an
    address, so the survivor has reached the business, and no later duplicate stands in."""
    resolver = EntityResolver({})
    resolver.resolve(record("a"))
    other = resolver.resolve(record("b", "jp@jpservices.com", name="JP Services", street="", phone="310-555-0199"))
    assert other.decision == "new"
    assert resolver.merge_entities(entity_id_for("a"), other.entity_id)
    assert merge.outreach_lead(resolver.entity(entity_id_for("a")) or {}) == "b"
    assert not resolver.resolve(record("c", "office@joesplumbing.com")).stands_in


def test_a_lead_that_joins_two_entities_stands_in_only_when_neither_reached_the_business():
    """The lead joins the older entity and merges the other into it: that other one's lead with an address has gone
    on, so the business is reached and the lead ends."""

    def harbor(lead_id: str, **fields: str | None) -> DedupeInput:
        return DedupeInput(lead_id=lead_id, name="Harbor Auto Repair", source="csv", **fields)  # type: ignore[arg-type]

    for b_email, stood_in in (("info@harborauto.com", False), (None, True)):  # the second: the guard
        resolver = EntityResolver({})
        a = resolver.resolve(harbor("a", phone="614-555-0199", zip="43215"))
        where = {"street": "3151 W Hill St", "city": "Columbus", "website": "harborauto.com"}
        b = resolver.resolve(harbor("b", email=b_email, **where))
        assert b.decision in ("new", "gray") and b.entity_id != a.entity_id
        c = resolver.resolve(
            harbor(
                "c",
                street="3151 West Hill Street",
                phone="(614) 555-0199",
                website="https://www.harborauto.com/",
                zip="43215",
                email="service@harborauto.com",
            )
        )
        assert [e["kind"] for e in c.audit] == ["join", "merge"]  # c joined a and merged b into it
        assert c.stands_in is stood_in
        assert merge.outreach_lead(resolver.entity(a.entity_id) or {}) == ("c" if stood_in else "b")


class _SaysSame:
    """A judge that finds every gray pair one business, sure of it."""

    min_confidence = 0.8

    async def judge(self, first: dict, second: dict) -> Verdict:
        return Verdict(same_business=True, confidence=0.95)


async def test_a_gray_lead_the_judge_joins_stands_in_when_it_brings_the_first_address():
    """The gray lead first gets an entity of its own (its address with it); the judge's merge folds that entity into
    the older one, which had no address, and the lead goes on in its first lead's place."""
    for email, stood_in in (("hello@goldendragon.com", True), (None, False)):  # the second: the guard
        resolver = EntityResolver({}, thresholds=Thresholds(match=0.999, review=0.2))  # as tests/dedupe/test_review.py
        resolver.resolve(DedupeInput("a", "Golden Dragon Restaurant", street="88 Grant Ave", zip="94108"))
        gray = DedupeInput("b", "Golden Dragon", zip="94108", email=email)  # no street: the contact rule abstains
        review: list[dict] = []
        joined = await resolver.resolve_with_judge(gray, _SaysSame(), review)
        assert (joined.decision, joined.duplicate_of, joined.stands_in) == ("duplicate", "a", stood_in)
        assert review == [] and resolver.resolve(gray).stands_in is stood_in  # a redelivery answers the same


def test_an_entity_written_before_outreach_had_a_survivor_counts_its_first_lead():
    """A record of the release before has no ``outreach``: its first lead is taken to have reached the business, so an
    upgrade never sends a duplicate on that the release before ended."""
    store: dict = {}
    resolver = EntityResolver(store)
    first = resolver.resolve(record("a"))
    old = resolver.entity(first.entity_id) or {}
    assert "outreach" in old and merge.outreach_lead(old) is None  # the guard: this release's record
    del old["outreach"]
    resolver.state.save_entity(old)
    assert merge.outreach_lead(resolver.entity(first.entity_id) or {}) == "a"
    assert not resolver.resolve(record("b", "joe@joesplumbing.com")).stands_in


def test_an_entity_that_keeps_an_email_has_reached_its_business():
    """A worker of the release before merges without carrying ``outreach`` over, but the survivor keeps the merged
    entity's email among its field values: that says a lead of it had an address, and no duplicate stands in."""
    for kept_email, stood_in in ((True, False), (False, True)):  # the second: the guard
        resolver = EntityResolver({})
        first = resolver.resolve(record("a"))
        entity = resolver.entity(first.entity_id) or {}
        if kept_email:
            entity["fields"]["email"] = ["joe@joesplumbing.com", "csv", "b"]
        resolver.state.save_entity(entity)
        assert merge.outreach_lead(resolver.entity(first.entity_id) or {}) is None
        assert resolver.resolve(record("c", "office@joesplumbing.com")).stands_in is stood_in


def _stand_ins() -> float:
    return REGISTRY.get_sample_value("leadstream_dedupe_stand_ins_total") or 0.0


async def test_the_stage_sends_the_stand_in_on_and_ends_the_other_duplicates():
    stage = DedupeStage(EntityResolver({}), judge=None, sink=None, phones=MemoryPhoneDirectory())
    before = _stand_ins()
    leads = [listing("a"), listing("b", "joe@joesplumbing.com"), listing("c", "office@joesplumbing.com")]
    outputs = [await stage.handle(lead, Envelope(payload=b"")) for lead in leads]
    await stage.complete_batch()
    assert [out[0].terminal for out in outputs] == [None, None, TerminalState.duplicate]
    stand_in = outputs[1][0].lead.dedupe
    assert stand_in is not None and (stand_in.decision, stand_in.duplicate_of, stand_in.stands_in) == (
        "duplicate",
        "a",
        True,
    )
    assert _stand_ins() == before + 1
    # a redelivery of the stand-in goes on again, and is not counted again
    [again] = await stage.handle(leads[1], Envelope(payload=b""))
    await stage.complete_batch()
    assert again.terminal is None and again.lead.dedupe is not None and again.lead.dedupe.stands_in
    assert _stand_ins() == before + 1


async def test_a_stand_in_whose_twin_is_in_another_state_ends_as_the_twins_duplicate():
    """The directory's twin is another state's entity, which this partition cannot read: whether that one reached the
    business is not known here, so the lead ends as its duplicate, as before."""
    nevada = listing("nv", "joe@joesplumbing.com", geo_key="NV", state="NV", street="", zip="")
    here = [listing("a"), listing("b", "office@joesplumbing.com")]
    for leads, stood_in in (([nevada, *here], False), (here, True)):  # the second: the guard, no twin elsewhere
        stage = DedupeStage(EntityResolver({}), judge=None, sink=None, phones=MemoryPhoneDirectory())
        before = _stand_ins()
        outputs = [await stage.handle(lead, Envelope(payload=b"")) for lead in leads]
        await stage.complete_batch()
        last = outputs[-1][0]
        assert last.lead.dedupe is not None and last.lead.dedupe.stands_in is stood_in
        assert last.terminal is (None if stood_in else TerminalState.duplicate)
        assert last.lead.dedupe.duplicate_of == ("a" if stood_in else "nv")
        assert _stand_ins() == before + stood_in
