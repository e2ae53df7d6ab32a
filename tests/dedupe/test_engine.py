from schemas.lead import Lead, RawLead
from stages.dedupe.engine import EntityResolver, to_decision
from stages.dedupe.model import Thresholds
from stages.dedupe.record import DedupeInput
from stages.dedupe.state import entity_id_for


def lead(lead_id, name, source="csv", **fields):
    return DedupeInput(lead_id=lead_id, name=name, source=source, **fields)


def test_duplicate_joins_with_stable_entity_id():
    resolver = EntityResolver({})
    first = resolver.resolve(lead("a", "Joe's Plumbing", street="12 Main St", zip="90210", phone="310-555-0101"))
    again = resolver.resolve(
        lead("b", "JOES PLUMBING LLC", street="12 Main Street", zip="90210", phone="(310) 555-0101")
    )
    assert first.decision == "new" and first.entity_id == entity_id_for("a")
    assert again.decision == "duplicate" and again.entity_id == first.entity_id and again.duplicate_of == "a"
    assert "phone" in again.matched_on and again.probability >= resolver.thresholds.match
    decision = to_decision(again)
    assert decision.decision == "duplicate" and decision.entity_id == first.entity_id


def test_redelivered_lead_changes_nothing():
    store = {}
    resolver = EntityResolver(store)
    resolver.resolve(lead("a", "Joe's Plumbing", street="12 Main St", phone="310-555-0101"))
    dup = resolver.resolve(lead("b", "Joes Plumbing", street="12 Main St", phone="310-555-0101"))
    snapshot = dict(store)
    replay = resolver.resolve(lead("b", "Joes Plumbing", street="12 Main St", phone="310-555-0101"))
    assert store == snapshot
    assert (replay.decision, replay.entity_id, replay.duplicate_of) == (dup.decision, dup.entity_id, "a")


def test_a_lead_whose_outcome_was_lost_is_not_its_own_duplicate():
    # A crash can keep a lead's entity while losing its outcome (``l:``): the table's writes reach the
    # changelog one record at a time. The redelivered lead must find itself new again, not a duplicate of itself.
    store = {}
    resolver = EntityResolver(store)
    first = resolver.resolve(lead("a", "Joe's Plumbing", street="12 Main St", phone="310-555-0101"))
    del store["l:a"]
    again = resolver.resolve(lead("a", "Joe's Plumbing", street="12 Main St", phone="310-555-0101"))
    assert (again.decision, again.entity_id, again.duplicate_of) == ("new", first.entity_id, None)
    later = resolver.resolve(lead("b", "Joes Plumbing", street="12 Main St", phone="310-555-0101"))
    assert (later.decision, later.duplicate_of) == ("duplicate", "a")


def test_chains_never_merge():
    resolver = EntityResolver({})
    a = resolver.resolve(
        lead(
            "a",
            "Roto-Rooter Plumbing",
            street="1550 S Sepulveda Blvd",
            zip="90025",
            phone="800-768-6911",
            website="rotorooter.com",
        )
    )
    b = resolver.resolve(
        lead(
            "b",
            "Roto-Rooter Plumbing",
            street="2340 Colorado Ave",
            zip="90025",
            phone="800-768-6911",
            website="rotorooter.com",
        )
    )
    assert b.decision == "new" and b.entity_id != a.entity_id


def test_transitive_match_merges_entities_and_the_older_survives():
    resolver = EntityResolver({})
    a = resolver.resolve(lead("a", "Harbor Auto Repair", phone="614-555-0199", zip="43215"))
    # Only the city places it (Ohio, like "a"); a name alone is not enough to join "a".
    b = resolver.resolve(
        lead("b", "Harbor Auto Repair", street="3151 W Hill St", city="Columbus", website="harborauto.com")
    )
    assert b.decision in ("new", "gray") and b.entity_id != a.entity_id
    c = resolver.resolve(
        lead(
            "c",
            "Harbor Auto Repair",
            street="3151 West Hill Street",
            phone="(614) 555-0199",
            website="https://www.harborauto.com/",
            zip="43215",
        )
    )
    assert c.decision == "duplicate" and c.entity_id == a.entity_id
    assert [e["kind"] for e in c.audit] == ["join", "merge"]
    assert c.audit[1]["merged_entity_id"] == b.entity_id and c.audit[1]["entity_id"] == a.entity_id
    assert resolver.entity_of("b") == a.entity_id
    assert resolver.entity(b.entity_id)["id"] == a.entity_id and resolver.entity(a.entity_id)["size"] == 3


def test_a_lead_without_address_does_not_bridge_two_branches():
    resolver = EntityResolver({})
    a = resolver.resolve(lead("a", "Tacos El Gordo", street="1201 E Broadway", zip="90802", phone="562-555-0101"))
    b = resolver.resolve(
        lead(
            "b",
            "Tacos El Gordo",
            street="3400 Atlantic Ave",
            zip="90807",
            phone="562-555-0102",
            email="hola@tacoselgordo.com",
        )
    )
    c = resolver.resolve(lead("c", "Tacos El Gordo", zip="90802", phone="562-555-0101", email="hola@tacoselgordo.com"))
    assert a.entity_id != b.entity_id
    assert resolver.entity_of("a") != resolver.entity_of("b")
    assert c.entity_id in (a.entity_id, b.entity_id)


def test_merge_keeps_best_value_per_field_with_provenance():
    resolver = EntityResolver({})
    resolver.resolve(
        lead("c1", "Smith Electric", source="csv", street="450 N Main St", phone="831-555-0123", zip="93901")
    )
    resolver.resolve(
        lead(
            "y1",
            "Smith & Sons Electric",
            source="yelp",
            street="450 North Main Street",
            phone="831-555-0123",
            zip="93901",
            website="smithelectric.com",
        )
    )
    res = resolver.resolve(lead("g1", "Smith Electric", source="google", phone="(831) 555-0123", zip="93901"))
    entity = resolver.entity(res.entity_id)
    fields = entity["fields"]
    assert fields["name"] == ["Smith Electric", "google", "g1"]  # highest-priority source wins
    assert fields["street"][2] == "y1"  # yelp outranks csv; google had no street
    assert fields["website"] == ["smithelectric.com", "yelp", "y1"]
    assert res.audit[0]["fields"]["name"] == "g1"


def test_gray_zone_pairs_are_returned_not_merged():
    resolver = EntityResolver({}, thresholds=Thresholds(match=0.999, review=0.2))
    a = resolver.resolve(lead("a", "Golden Dragon Restaurant", street="88 Grant Ave", zip="94108"))
    b = resolver.resolve(lead("b", "Golden Dragon", zip="94108"))  # no street: the contact rule cannot decide
    assert b.decision == "gray" and b.entity_id != a.entity_id
    assert [(p.lead_id, p.candidate_entity_id) for p in b.gray_pairs] == [("b", a.entity_id)]
    assert to_decision(b).decision == "new"


def test_from_lead_uses_the_kafka_geo_key():
    raw = RawLead(
        source="yelp",
        source_ids={"yelp": "x1"},
        name="Blue Door Cafe",
        street="8305 Beverly Blvd",
        zip="90048",
        phone="323-555-0195",
    )
    record = DedupeInput.from_lead(Lead.from_raw(raw))
    assert record.geo_key == "CA" and record.lead_id == raw.derived_lead_id() and record.source == "yelp"
    # A CSV row gets the key the stream would give the same lead.
    row = DedupeInput.from_row({"id": "r", "name": "Blue Door Cafe", "zip": "90048", "phone": "323-555-0195"})
    assert row.geo_key == Lead.from_raw(raw).geo_key


def test_state_values_are_json_text_and_records_replace_cleanly():
    import dataclasses

    store = {}
    resolver = EntityResolver(store)
    record = lead("a", "Joe's Plumbing", street="12 Main St", zip="90210")
    resolver.resolve(dataclasses.replace(record, email="joe@joesplumbing.com"))
    assert store and all(isinstance(v, str) for v in store.values())
    assert "m:CA:joe@joesplumbing.com" in store and "d:CA:joesplumbing.com" in store


def test_listings_without_zip_or_state_meet_through_city_or_phone():
    resolver = EntityResolver({})
    a = resolver.resolve(
        lead("a", "Art's Delicatessen", street="12224 Ventura Blvd.", zip="91604", phone="818/762-1221")
    )
    # A guide listing: no ZIP or state, a neighbourhood as the city, the other phone line.
    b = resolver.resolve(
        lead("b", "Arts Deli", street="12224 ventura boulevard", city="Studio City", phone="818-762-1299")
    )
    assert b.decision == "duplicate" and b.entity_id == a.entity_id


def test_businesses_sharing_an_address_and_switchboard_stay_apart():
    resolver = EntityResolver({})
    venue = {"street": "3131 Las Vegas Blvd S", "phone": "702-770-7000", "city": "Las Vegas"}
    steak = resolver.resolve(lead("s", "SW Steakhouse", **venue))
    noodle = resolver.resolve(lead("n", "Wing Lei Noodle Bar", **venue))
    cafe = resolver.resolve(lead("c", "Wynn Cafe", **venue))
    dining = resolver.resolve(lead("d", "Wynn Dining Room", **venue))
    assert len({steak.entity_id, noodle.entity_id, cafe.entity_id, dining.entity_id}) == 4
    again = resolver.resolve(
        lead("s2", "SW Steak House", street="3131 Las Vegas Boulevard South", city="Las Vegas", phone="(702) 770-7000")
    )
    # The same name again at the venue: joined, or (the shared address and phone weigh little) sent to
    # review with the steakhouse as its only candidate, never matched to another tenant.
    assert (again.decision == "duplicate" and again.entity_id == steak.entity_id) or (
        again.decision == "gray" and [p.candidate_entity_id for p in again.gray_pairs] == [steak.entity_id]
    )
    names = resolver.state.names("p:NV:+17027707000")
    assert len(names) == 4  # the switchboard carries four distinct names


def test_entity_state_expires_after_its_retention():
    from stages.dedupe.retention import DAY_S, RetentionPolicy

    now = [1_700_000_000.0]
    store: dict = {}
    resolver = EntityResolver(store, retention_policy=RetentionPolicy(ttl_s=7 * DAY_S), clock=lambda: now[0])
    old = resolver.resolve(lead("a", "Joe's Plumbing", street="12 Main St", zip="90210", phone="310-555-0101"))
    kept = resolver.resolve(lead("k", "Acme Roofing", street="99 Oak Ave", zip="90210", phone="310-555-0199"))
    now[0] += 5 * DAY_S
    resolver.resolve(lead("k2", "ACME ROOFING LLC", street="99 Oak Avenue", zip="90210", phone="(310) 555-0199"))
    assert resolver.entity(old.entity_id) is not None
    now[0] += 3 * DAY_S  # "a" last seen 8 days ago, "Acme" 3 days ago
    resolver.sweep("CA", budget=10_000)
    assert resolver.entity(old.entity_id) is None and resolver.state.lead("a") is None
    assert not [k for k, v in store.items() if old.entity_id in v]  # gone from every blocking key
    assert resolver.entity(kept.entity_id)["size"] == 2
    # The expired business is new again; the kept one still matches.
    assert (
        resolver.resolve(lead("a2", "Joe's Plumbing", street="12 Main St", zip="90210", phone="310-555-0101")).decision
        == "new"
    )
    assert resolver.resolve(lead("k3", "Acme Roofing", street="99 Oak Ave", zip="90210")).decision == "duplicate"
    now[0] += 30 * DAY_S  # everything expires; the store keeps only the sweep cursor and the counter
    resolver.sweep("CA", budget=10_000)
    resolver.sweep("CA", budget=10_000)
    assert sorted(store) == ["seq", "xc:CA"]


def test_the_sweep_runs_with_each_lead_and_is_bounded():
    from stages.dedupe.retention import DAY_S, RetentionPolicy

    now = [1_700_000_000.0]
    store: dict = {}
    resolver = EntityResolver(store, retention_policy=RetentionPolicy(ttl_s=DAY_S, budget=4), clock=lambda: now[0])
    for i in range(40):
        resolver.resolve(lead(f"o{i}", f"Business {i} Plumbing", street=f"{100 + i} Elm St", zip="60601"))
    now[0] += 2 * DAY_S
    entities = lambda: sum(1 for k, v in store.items() if k.startswith("e:"))
    assert entities() == 40
    resolver.resolve(lead("n0", "Fresh Bakery", street="1 Oak St", zip="60601"))
    assert 40 - 4 <= entities() - 1 < 40  # one lead sweeps at most its budget
    for i in range(1, 40):
        resolver.resolve(lead(f"n{i}", f"Fresh Bakery {i}", street=f"{100 + i} Oak St", zip="60601"))
    assert entities() == 40  # the old forty are gone, the new forty remain


def test_acronyms_and_glued_words_are_one_word():
    from stages.dedupe.features import name_cover, same_token

    assert same_token("kkp", ["kiddy", "kare", "preschool", "little", "tyke"])
    assert same_token("bg", ["boy", "girl", "club"])
    assert same_token("depriest", ["de", "priest"])
    assert not same_token("kt", ["kiddy", "kare", "little", "tyke"])  # initials of words not adjacent
    assert name_cover("de priest", "chicago public school depriest oscar") == 1.0
