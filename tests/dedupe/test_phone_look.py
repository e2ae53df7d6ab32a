"""The phone-keyed second look (`stages.dedupe.phone_look`): twins whose fields name two states still meet.

Plain code and the in-memory directory (the CSV tool's); the stream's PostgreSQL directory is tested on the
real database in tests/storage/test_dedupe_phones.py."""

from __future__ import annotations

import asyncio
import dataclasses

from prometheus_client import REGISTRY

from schemas import Lead, TerminalState
from stages.dedupe.csvtool import resolve_rows
from stages.dedupe.engine import EntityResolver
from stages.dedupe.model import Thresholds
from stages.dedupe.phone_look import (
    MATCHED_ON,
    MATCHED_ON_NAME_CITY,
    MATCHED_ON_NAME_STREET,
    NAME_CITY_CAP,
    Listing,
    MemoryPhoneDirectory,
    across,
    directory_keys,
    key_kinds,
    listings_for,
    one_site,
    one_town,
    placed_states,
    settle,
    stated_states,
)
from stages.dedupe.record import DedupeInput, Profile
from stages.dedupe.retention import DAY_S, RetentionPolicy
from stages.dedupe.stage import DedupeStage
from streams.envelope import Envelope
from streams.stage import Output

SHOP_NJ = {"name": "Hoboken Bike Works", "address": "101 Washington St", "city": "Hoboken", "state": "NJ"}
SHOP_NJ |= {"zip": "07030", "phone": "212-555-0142"}
SHOP_PHONE_ONLY = {"name": "Hoboken Bike Works", "phone": "(212) 555-0142"}  # the area code says New York
PHONE_ONLY = key_kinds(name_street=False, name_city=False)


# A club whose second listing has a New York cell and no ZIP or state: keyed New York, and no phone in common.
CLUB_NJ = {"name": "Port Imperial Rowing Club", "address": "500 Port Imperial Blvd", "city": "Weehawken"}
CLUB_NJ |= {"state": "NJ", "zip": "07086", "phone": "201-555-0177"}
CLUB_CELL = {"name": "Port Imperial Rowing Club", "address": "500 Port Imperial Boulevard", "city": "Weehawken"}
CLUB_CELL |= {"phone": "917-555-0163"}


def rows(*listings: dict) -> list[dict]:
    return [{"id": f"r{i}", **listing} for i, listing in enumerate(listings)]


def test_a_phone_only_listing_keyed_to_another_state_joins_its_twin():
    records = [DedupeInput.from_row(row) for row in rows(SHOP_NJ, SHOP_PHONE_ONLY)]
    assert records[0].geo_key == "NJ" and records[1].geo_key == "NY"  # two partitions: the engine never compares them
    ids, counts = resolve_rows(phone_directory=True, rows=rows(SHOP_NJ, SHOP_PHONE_ONLY))
    assert ids[0] == ids[1] and counts["duplicate"] == 1 and counts["entities"] == 1


def test_without_the_directory_the_same_pair_stays_apart():
    """The guard that the test above proves something (``--no-phone-directory``): the engine alone splits the
    pair."""
    ids, counts = resolve_rows(rows(SHOP_NJ, SHOP_PHONE_ONLY), phone_directory=False)
    assert ids[0] != ids[1] and counts["duplicate"] == 0


def test_a_later_lead_of_the_merged_entity_is_grouped_with_the_twin():
    """The phone-only lead came first (New York); the New Jersey listing found it; a second New Jersey
    listing joins the New Jersey entity in its own state, and is reported with the twin too."""
    second_nj = {**SHOP_NJ, "phone": None, "address": "101 Washington Street"}
    ids, _ = resolve_rows(phone_directory=True, rows=rows(SHOP_PHONE_ONLY, SHOP_NJ, second_nj))
    assert ids[0] == ids[1] == ids[2]


def test_an_entity_claims_a_phone_that_a_later_lead_brought():
    """The stream's order across partitions is not the file's: the entity's first lead may have had no phone,
    and the lead that joined it later brings the number; that lead claims it for the entity."""
    no_phone = {**SHOP_NJ, "phone": None, "address": "101 Washington Street"}
    for order in ([no_phone, SHOP_NJ, SHOP_PHONE_ONLY], [SHOP_PHONE_ONLY, no_phone, SHOP_NJ]):
        ids, counts = resolve_rows(phone_directory=True, rows=rows(*order))
        assert len(set(ids)) == 1 and counts["entities"] == 1, order


def test_an_entity_is_listed_once_per_phone():
    directory = MemoryPhoneDirectory()
    resolver = EntityResolver({})
    for row in rows(SHOP_NJ, {**SHOP_NJ, "address": "101 Washington Street"}):
        record = DedupeInput.from_row(row)
        made = listings_for(record, resolver.resolve(record), 0.0)
        assert made
        directory.claim_now(made, 7 * DAY_S)
    assert [o.lead_id for o in directory.listings["+12125550142"]] == ["r0"]


def test_other_names_at_one_phone_in_two_states_stay_apart():
    """A shared line (an answering service, a franchise office) carries other businesses: the phone alone is
    weak evidence, so names must agree."""
    other = {"name": "Joe's Noodle Bar", "phone": "212-555-0142"}
    ids, _ = resolve_rows(phone_directory=True, rows=rows(SHOP_NJ, other))
    assert ids[0] != ids[1]


def test_two_street_lines_at_one_phone_stay_apart():
    """Two branches that list one number (the owner's cell) are two sites: their street lines veto the pair."""
    branch = {**SHOP_NJ, "address": "740 Broadway", "city": "New York", "state": "NY", "zip": "10003"}
    ids, _ = resolve_rows(phone_directory=True, rows=rows(SHOP_NJ, branch))
    assert ids[0] != ids[1]


def test_a_toll_free_line_is_not_claimed():
    resolver = EntityResolver({})
    record = DedupeInput.from_row({"id": "a", **SHOP_NJ, "phone": "1-800-555-0142"})
    assert [x.key for x in listings_for(record, resolver.resolve(record), 0.0)] == [
        "tn:hoboken:hoboken:101",
        "tn:hoboken:bike:101",
        "nc:hoboken:hoboken",
        "nc:hoboken:bike",
    ]  # its name keys only


def listing(lead_id: str, geo: str, seen: float, name: str = "Hoboken Bike Works", twin: str | None = None) -> Listing:
    record = DedupeInput(lead_id, name, phone="2125550142", geo_key=geo)
    res = EntityResolver({}).resolve(record)
    [made] = listings_for(record, res, seen)  # no street line: its phone only
    return made if twin is None else dataclasses.replace(made, twin_entity=twin, twin_first="x")


def settle_one(mine: Listing, listed: list[Listing]) -> tuple[Listing, bool]:
    """`settle` for a lead with one key."""
    claimed, fresh, _ = settle([mine], {mine.key: listed}, 7 * DAY_S)
    return claimed, fresh


def test_a_redelivered_lead_gets_its_first_answer_and_no_second_audit():
    nj, ny = listing("nj", "NJ", 10.0), listing("ny", "NY", 20.0)
    claimed, fresh = settle_one(ny, [nj])
    assert fresh and claimed.twin_entity == nj.entity_id and claimed.twin_first == "nj"
    again, fresh_again = settle_one(ny, [nj, claimed])
    assert again == claimed and not fresh_again
    res = EntityResolver({}).resolve(DedupeInput("ny", "Hoboken Bike Works", phone="2125550142", geo_key="NY"))
    first, replayed = across(res, claimed, True), across(res, again, False)
    assert first.decision == replayed.decision == "duplicate" and first.matched_on == [MATCHED_ON]
    assert [a["decided_by"] for a in first.audit] == ["phone"] and replayed.audit == []
    assert first.audit[0]["merged_entity_id"] == res.entity_id and first.audit[0]["entity_id"] == nj.entity_id


def test_the_own_state_and_listings_that_found_a_twin_are_no_candidates():
    """The engine has compared the lead's own state already; a listing that found a twin stands for it, so
    the answers never chain."""
    same_state = listing("nj1", "NJ", 10.0)
    found_twin = listing("ct", "CT", 11.0, twin="ent_elsewhere")
    claimed, fresh = settle_one(listing("nj2", "NJ", 20.0), [same_state, found_twin])
    assert fresh and claimed.twin_entity is None


def test_a_claim_older_than_the_retention_is_not_read():
    """Claims live as long as the entity state they stand for (`RetentionPolicy.ttl_s`); time is moved, not
    waited for."""
    ttl = RetentionPolicy().ttl_s
    directory = MemoryPhoneDirectory()
    nj = listing("nj", "NJ", 1_000.0)
    asyncio.run(directory.claim_all([[nj]], ttl))
    soon, _ = directory.claim_now([listing("ny", "NY", 1_000.0 + ttl - 1)], ttl)
    assert soon.twin_entity == nj.entity_id
    late, _ = directory.claim_now([listing("ny2", "NY", 1_000.0 + ttl + 1)], ttl)
    assert late.twin_entity is None
    assert [o.lead_id for o in directory.listings[nj.key]] == ["ny", "ny2"]  # the expired claim is gone


async def _review_after(*leads: Lead) -> tuple[list[dict], list[Output]]:
    """The review items the stage sends after one batch of `leads`, and the last lead's outputs."""
    review: list[dict] = []

    async def sink(audit: list[dict], items: list[dict]) -> None:
        review.extend(items)

    resolver = EntityResolver({}, thresholds=Thresholds(match=0.999, review=0.2))  # as tests/dedupe/test_review.py
    stage = DedupeStage(resolver, judge=None, sink=sink, phones=MemoryPhoneDirectory())
    outputs = [await stage.handle(lead, Envelope(payload=b"")) for lead in leads]
    await stage.complete_batch()
    await stage.after_batch()
    return review, outputs[-1]


async def test_a_gray_lead_whose_twin_is_in_another_state_ends_and_leaves_no_review_item():
    """The claim comes after the judge (here none: the gray pair goes to review); when the claim then finds the
    lead's twin in another state, the lead ends as its duplicate and nobody is asked about it."""
    phone = "415-555-0188"
    nevada = Lead(lead_id="nv", geo_key="NV", source="test", name="Golden Dragon", state="NV", phone=phone)
    restaurant = Lead(lead_id="a", geo_key="CA", source="test", name="Golden Dragon Restaurant", street="88 Grant Ave")
    restaurant = restaurant.model_copy(update={"zip": "94108"})
    gray = Lead(lead_id="b", geo_key="CA", source="test", name="Golden Dragon", zip="94108", phone=phone)
    alone, [asked] = await _review_after(restaurant, gray)
    assert [item["lead_id"] for item in alone] == ["b"] and asked.terminal is None  # the guard: gray, asked about
    review, [ended] = await _review_after(nevada, restaurant, gray)
    assert review == [] and ended.terminal is TerminalState.duplicate
    assert ended.lead.dedupe is not None and ended.lead.dedupe.duplicate_of == "nv"


def test_twins_in_two_states_with_no_phone_in_common_meet_by_name_and_street_line():
    records = [DedupeInput.from_row(row) for row in rows(CLUB_NJ, CLUB_CELL)]
    assert records[0].geo_key == "NJ" and records[1].geo_key == "NY"
    ids, counts = resolve_rows(rows(CLUB_NJ, CLUB_CELL))
    assert ids[0] == ids[1] and counts["duplicate"] == 1 and counts["entities"] == 1
    ids, counts = resolve_rows(rows(CLUB_NJ, CLUB_CELL), phone_directory=False)  # the guard: the engine splits them
    assert ids[0] != ids[1] and counts["duplicate"] == 0


def test_with_the_name_keys_off_only_the_phone_is_claimed():
    """``LEADSTREAM_DEDUPE_NAME_STREET_KEYS=false``: the club's twins stay two, the shop's phone twins still meet,
    and the stage claims each lead's phone alone."""
    ids, counts = resolve_rows(rows(CLUB_NJ, CLUB_CELL), kinds=PHONE_ONLY)
    assert ids[0] != ids[1] and counts["duplicate"] == 0
    ids, counts = resolve_rows(rows(SHOP_NJ, SHOP_PHONE_ONLY), kinds=PHONE_ONLY)
    assert ids[0] == ids[1] and counts["duplicate"] == 1
    club = profile(CLUB_NJ)
    assert directory_keys(club, PHONE_ONLY) == ["+12015550177"]
    assert len(directory_keys(club)) > 1  # the guard: on, the name keys are claimed too


async def test_the_stage_claims_the_keys_its_directory_asks_for():
    nj = Lead(lead_id="nj", geo_key="NJ", source="test", name=CLUB_NJ["name"], street=CLUB_NJ["address"])
    nj = nj.model_copy(update={"city": "Weehawken", "state": "NJ", "zip": "07086", "phone": CLUB_NJ["phone"]})
    ny = Lead(lead_id="ny", geo_key="NY", source="test", name=CLUB_CELL["name"], street=CLUB_CELL["address"])
    leads = [nj, ny.model_copy(update={"city": "Weehawken", "phone": CLUB_CELL["phone"]})]
    for name_street, terminal in ((True, TerminalState.duplicate), (False, None)):
        directory = MemoryPhoneDirectory(key_kinds(name_street=name_street, name_city=False))
        stage = DedupeStage(EntityResolver({}), judge=None, sink=None, phones=directory)
        outputs = [await stage.handle(lead, Envelope(payload=b"")) for lead in leads]
        await stage.complete_batch()
        assert outputs[1][0].terminal is terminal
        assert all(key.startswith("+") for key in directory.listings) is not name_street


def test_the_name_and_street_answer_says_how_it_was_found():
    resolver = EntityResolver({})
    directory = MemoryPhoneDirectory()
    answers = []
    for row in rows(CLUB_NJ, CLUB_CELL):
        record = DedupeInput.from_row(row)
        resolution = resolver.resolve(record)
        answers.append(across(resolution, *directory.claim_now(listings_for(record, resolution, 0.0), 7 * DAY_S)))
    assert answers[0].decision == "new" and answers[1].decision == "duplicate"
    assert answers[1].matched_on == [MATCHED_ON_NAME_STREET] and answers[1].duplicate_of == "r0"
    assert [a["decided_by"] for a in answers[1].audit] == ["name_street"]


def profile(listing: dict) -> Profile:
    return Profile.of(DedupeInput.from_row({"id": "p", **listing}))


def test_one_site_needs_the_name_the_street_line_and_the_city():
    assert one_site(profile(CLUB_NJ), profile(CLUB_CELL))
    assert not one_site(profile(CLUB_NJ), profile({**CLUB_CELL, "name": "Hudson Kayak Tours"}))
    assert not one_site(profile(CLUB_NJ), profile({**CLUB_CELL, "address": "510 Port Imperial Blvd"}))
    assert not one_site(profile(CLUB_NJ), profile({**CLUB_CELL, "city": "West New York"}))
    assert not one_site(profile(CLUB_NJ), profile({**CLUB_CELL, "city": ""}))


def test_one_name_and_street_line_in_two_named_states_is_two_businesses():
    """Springfield, Illinois and Springfield, Missouri: when both listings name their state, the state is no
    guess and the pair stays apart; the same listing naming no state is taken for the twin (the guard)."""
    illinois = {"name": "Route 66 Diner", "address": "100 Main St", "city": "Springfield", "state": "IL"}
    missouri = {**illinois, "state": "MO", "zip": "65806", "phone": "417-555-0101"}
    assert not one_site(profile(illinois), profile(missouri))
    assert one_site(profile(illinois), profile({**missouri, "state": "", "zip": ""}))
    ids, _ = resolve_rows(rows({**illinois, "zip": "62701", "phone": "217-555-0100"}, missouri))
    assert ids[0] != ids[1]


def test_a_lead_found_by_its_phone_stores_one_listing_and_a_redelivery_reads_it():
    """Only the listing that found the twin is stored (enough to answer the lead again); a lead that found none is
    listed at each of its keys."""
    directory = MemoryPhoneDirectory()
    resolver = EntityResolver({})
    claims = []
    for row in rows(SHOP_NJ, {**SHOP_NJ, "state": "", "zip": "", "city": "Weehawken"}):
        record = DedupeInput.from_row(row)
        claims.append(listings_for(record, resolver.resolve(record), 0.0))
    assert [len(c) for c in claims] == [5, 5]  # a phone, two name words with the street number, two with the city
    assert directory.claim_now(claims[0], 7 * DAY_S)[1] and sum(map(len, directory.listings.values())) == 5
    twin, fresh = directory.claim_now(claims[1], 7 * DAY_S)
    assert fresh and twin.key == "+12125550142" and twin.twin_first == "r0"
    assert sum(map(len, directory.listings.values())) == 6
    assert directory.claim_now(claims[1], 7 * DAY_S) == (twin, False)


def _counted() -> tuple[float, float, float, float]:
    """The directory's twins by phone, by name and street key and by name and city key, and its calls, as
    /metrics serves them."""
    twins = "leadstream_dedupe_directory_twins_total"
    return (
        REGISTRY.get_sample_value(twins, {"key": "phone"}) or 0.0,
        REGISTRY.get_sample_value(twins, {"key": "name_street"}) or 0.0,
        REGISTRY.get_sample_value(twins, {"key": "name_city"}) or 0.0,
        REGISTRY.get_sample_value("leadstream_dedupe_directory_call_seconds_count") or 0.0,
    )


async def test_the_stage_counts_each_twin_once_by_the_key_that_found_it():
    """A batch with a twin found by each kind of key counts one of each and one call; the batch redelivered (a new
    stage over the same directory, as after a crash) gets the same answers and counts no twin again."""
    shop = Lead(lead_id="shop", geo_key="NJ", source="test", name=SHOP_NJ["name"], street=SHOP_NJ["address"])
    shop = shop.model_copy(update={"city": "Hoboken", "state": "NJ", "zip": "07030", "phone": SHOP_NJ["phone"]})
    shop_ny = Lead(lead_id="shop-ny", geo_key="NY", source="test", name=SHOP_NJ["name"], phone=SHOP_NJ["phone"])
    club = Lead(lead_id="club", geo_key="NJ", source="test", name=CLUB_NJ["name"], street=CLUB_NJ["address"])
    club = club.model_copy(update={"city": "Weehawken", "state": "NJ", "zip": "07086", "phone": CLUB_NJ["phone"]})
    club_ny = Lead(lead_id="club-ny", geo_key="NY", source="test", name=CLUB_CELL["name"], street=CLUB_CELL["address"])
    club_ny = club_ny.model_copy(update={"city": "Weehawken", "phone": CLUB_CELL["phone"]})
    bare = Lead(lead_id="bare", geo_key="NJ", source="test", name=BAKERY_BARE["name"], city="Weehawken", state="NJ")
    bakery_ny = Lead(lead_id="bakery-ny", geo_key="NY", source="test", name=BAKERY_NJ["name"], phone="917-555-0120")
    bakery_ny = bakery_ny.model_copy(update={"city": "Weehawken", "street": BAKERY_NJ["address"]})
    directory = MemoryPhoneDirectory()
    before = _counted()
    batch = (shop, club, bare, shop_ny, club_ny, bakery_ny)
    for _ in range(2):  # the second time: the batch redelivered
        stage = DedupeStage(EntityResolver({}), judge=None, sink=None, phones=directory)
        outputs = [await stage.handle(lead, Envelope(payload=b"")) for lead in batch]
        await stage.complete_batch()
        assert [out.terminal for [out] in outputs[3:]] == [TerminalState.duplicate] * 3
        after = _counted()
        assert tuple(a - b for a, b in zip(after[:3], before[:3])) == (1.0, 1.0, 1.0)
    assert after[3] - before[3] == 2.0  # one call per batch


# A bakery of Weehawken (no city of `schemas.geo.CITY_STATES`): a guide's bare entry (a name and a city) is keyed
# by nothing but "unknown", its full listing by its ZIP; two branches of the name at two street lines.
BAKERY_NJ = {"name": "Blue Door Bakery", "address": "10 Gregory Ave", "city": "Weehawken", "state": "NJ"}
BAKERY_NJ |= {"zip": "07086", "phone": "201-555-0110"}
BAKERY_BARE = {"name": "Blue Door Bakery", "city": "Weehawken"}
BAKERY_BRANCH = {**BAKERY_NJ, "address": "400 Park Ave", "phone": "201-555-0188"}
NO_NAME_CITY = key_kinds(name_street=True, name_city=False)


def test_a_bare_listing_keyed_unknown_meets_its_twin_by_name_and_city_in_either_order():
    records = [DedupeInput.from_row(row) for row in rows(BAKERY_NJ, BAKERY_BARE)]
    assert records[0].geo_key == "NJ" and records[1].geo_key == "unknown"
    for listings in ((BAKERY_NJ, BAKERY_BARE), (BAKERY_BARE, BAKERY_NJ)):
        ids, counts = resolve_rows(rows(*listings))
        assert ids[0] == ids[1] and counts["duplicate"] == 1 and counts["entities"] == 1
        ids, counts = resolve_rows(rows(*listings), kinds=NO_NAME_CITY)  # the guard: without the key, two
        assert ids[0] != ids[1] and counts["duplicate"] == 0


def test_the_name_and_city_answer_says_how_it_was_found():
    resolver, directory, answers = EntityResolver({}), MemoryPhoneDirectory(), []
    for row in rows(BAKERY_NJ, BAKERY_BARE):
        record = DedupeInput.from_row(row)
        resolution = resolver.resolve(record)
        answers.append(across(resolution, *directory.claim_now(listings_for(record, resolution, 0.0), 7 * DAY_S)))
    assert answers[1].matched_on == [MATCHED_ON_NAME_CITY] and answers[1].duplicate_of == "r0"
    assert [a["decided_by"] for a in answers[1].audit] == ["name_city"]


def test_a_bare_listing_beside_two_branches_of_its_name_joins_one_only_if_it_came_first():
    """The bare entry does not say which branch it is. Whatever the order, the two branches stay two businesses;
    the bare entry is the first branch's when it came before the second (then it was the one business of its name
    in the city), and no one's when it came after both."""
    for order in ((0, 1, 2), (1, 0, 2), (2, 0, 1), (2, 1, 0), (0, 2, 1), (1, 2, 0)):
        ids, _ = resolve_rows(rows(*[(BAKERY_NJ, BAKERY_BRANCH, BAKERY_BARE)[i] for i in order]))
        entity = {listing: ids[n] for n, listing in enumerate(order)}
        assert entity[0] != entity[1], order
        first_branch, second_branch = [i for i in order if i != 2]
        assert (entity[2] == entity[first_branch]) is (order[2] != 2), order  # came before the second branch
        assert entity[2] != entity[second_branch], order


def test_a_bare_listing_beside_two_branches_stays_apart_when_one_branch_is_listed_again():
    """A branch listed again (joined in its own state) finds the bare entry alone agreeing with it at the name and
    city keys, but the bare entry agrees with the other branch too: it stays apart."""
    ids, _ = resolve_rows(rows(BAKERY_NJ, BAKERY_BRANCH, BAKERY_BARE, {**BAKERY_NJ, "phone": ""}))
    assert ids[0] == ids[3] and len({ids[0], ids[1], ids[2]}) == 3


def test_one_town_needs_a_bare_side_one_name_and_one_city():
    assert one_town(profile(BAKERY_BARE), profile(BAKERY_NJ))
    assert not one_town(profile(BAKERY_BRANCH), profile(BAKERY_NJ))  # two full listings: the street keys' case
    assert not one_town(profile(BAKERY_BARE), profile({**BAKERY_NJ, "name": "Red Door Bakery"}))
    assert not one_town(profile(BAKERY_BARE), profile({**BAKERY_NJ, "city": "Hoboken"}))
    assert not one_town(profile({**BAKERY_BARE, "state": "NY"}), profile(BAKERY_NJ))  # two named states


def test_a_crowded_name_and_city_key_lists_no_more_businesses():
    """A word that `NAME_CITY_CAP` businesses of a city hold already (a chain's) takes no more listings: each lead
    reads every listing of its keys under their locks."""
    directory, resolver = MemoryPhoneDirectory(key_kinds(name_street=False)), EntityResolver({})
    branches = [
        {**BAKERY_NJ, "address": f"{10 + n} Gregory Ave", "phone": f"201-555-{100 + n:04d}"}
        for n in range(NAME_CITY_CAP + 2)
    ]
    for row in rows(*branches):
        record = DedupeInput.from_row(row)
        directory.claim_now(listings_for(record, resolver.resolve(record), 0.0, directory.kinds), 7 * DAY_S)
    town = [key for key in directory.listings if key.startswith("nc:")]
    assert town and all(len(directory.listings[key]) == NAME_CITY_CAP for key in town)
    assert sum(key.startswith("+") for key in directory.listings) == NAME_CITY_CAP + 2  # phones are not capped


def test_the_name_and_city_keys_leave_a_business_of_the_leads_own_state_to_the_engine():
    """A full listing of the bare entry's own partition that agrees is the engine's to join or not (it compared
    them); the same listing in another partition is the twin."""

    def town_listings(lead_id: str, row: dict, geo: str) -> list[Listing]:
        record = dataclasses.replace(DedupeInput.from_row({"id": lead_id, **row}), geo_key=geo)
        made = listings_for(record, EntityResolver({}).resolve(record), 0.0, key_kinds(False, True))
        return [dataclasses.replace(x, geo=geo) for x in made]

    bare = town_listings("bare", BAKERY_BARE, "unknown")
    for geo, twin in (("unknown", None), ("NJ", "full")):
        full = town_listings("full", BAKERY_NJ, geo)
        claimed, fresh, _ = settle(bare, {x.key: [x] for x in full}, 7 * DAY_S)
        assert fresh and claimed.twin_first == twin, geo


def test_a_numberless_listing_with_another_phone_shares_a_name_and_city_key_and_stays_apart():
    """No street number, but a New York cell: not bare, so the pair the engine would send to the gray zone within a
    state is compared at the name and city keys (it shares one) and kept apart across partitions."""
    cell = {**BAKERY_BARE, "phone": "917-555-0120"}
    assert set(directory_keys(profile(cell))) & set(directory_keys(profile(BAKERY_NJ)))
    ids, counts = resolve_rows(rows(BAKERY_NJ, cell))
    assert ids[0] != ids[1] and counts["duplicate"] == 0
    ids, _ = resolve_rows(rows(BAKERY_NJ, BAKERY_BARE))  # the guard: bare, the same pair is one business
    assert ids[0] == ids[1]


def test_a_landline_of_the_listings_own_city_places_it_in_that_citys_state():
    """417-831 is a Springfield, Missouri exchange: on a Springfield listing that names no state it says which
    Springfield, so the Illinois one's twin it is not, by street line or as a bare entry's. A number that names only
    a state (417-555: "Missouri") or another city places nothing, and the pair is one business (the guards)."""
    illinois = {"name": "Route 66 Diner", "address": "100 Main St", "city": "Springfield", "state": "IL"}
    landline = {"name": "Route 66 Diner", "address": "100 Main St", "city": "Springfield", "phone": "417-831-2200"}
    assert placed_states(profile(landline)) == {"MO"} and stated_states(profile(landline)) == set()
    assert placed_states(profile({**landline, "city": "Branson"})) == set()  # the exchange is another city's
    assert not one_site(profile(illinois), profile(landline))
    assert one_site(profile(illinois), profile({**landline, "phone": "417-555-0101"}))
    bare = {"name": "Route 66 Diner", "city": "Springfield", "state": "IL"}
    assert not one_town(profile(bare), profile(landline))
    assert one_town(profile(bare), profile({**landline, "phone": "917-555-0120"}))
