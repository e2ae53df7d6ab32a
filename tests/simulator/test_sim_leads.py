"""The demo lead generator: deterministic, with realistic duplicates and malformed records."""

from __future__ import annotations

import re
from collections import Counter
from urllib.parse import urlsplit

from pydantic import ValidationError

from schemas.lead import RawLead
from simulator.leads import generate_leads
from simulator.world import World
from simulator.world_places import DEFAULT_ZIPS


def _valid(payload: bytes) -> RawLead | None:
    try:
        return RawLead.model_validate_json(payload)
    except ValidationError:
        return None


def _digits(phone: str) -> str:
    return re.sub(r"\D", "", phone)[-10:]


def test_deterministic_under_the_seed():
    assert generate_leads(300, seed=4) == generate_leads(300, seed=4)
    assert [g.payload for g in generate_leads(300, seed=4)] != [g.payload for g in generate_leads(300, seed=5)]


def test_proportions_validity_and_duplicates():
    leads = generate_leads(2000, seed=7)
    kinds = Counter(g.kind for g in leads)
    assert 0.12 < kinds["duplicate"] / 2000 < 0.18 and 0.015 < kinds["malformed"] / 2000 < 0.05
    assert len({g.lead_id for g in leads}) == 2000
    seen: dict[str, RawLead] = {}
    for generated in leads:
        raw = _valid(generated.payload)
        assert (raw is not None) == generated.expected_valid, generated
        if raw is None:
            assert generated.kind == "malformed"
            continue
        assert raw.derived_lead_id() == generated.lead_id
        if generated.kind == "duplicate":
            original = seen[generated.duplicate_of]  # an earlier lead
            assert _digits(raw.phone) == _digits(original.phone) and raw.zip == original.zip
            assert raw.model_dump(exclude={"email"}) != original.model_dump(exclude={"email"})
        else:
            seen[generated.lead_id] = raw
    originals = [r for r in seen.values()]
    assert len({r.zip for r in originals}) >= 15 and len({r.vertical for r in originals}) >= 6
    assert set(DEFAULT_ZIPS) <= {r.zip for r in originals}
    assert {r.source for r in originals} >= {"yelp", "google"}


def test_websites_are_world_domains():
    world = World.for_seed(9)
    leads = [_valid(g.payload) for g in generate_leads(400, seed=9) if g.expected_valid]
    with_site = [lead for lead in leads if lead.website]
    assert len(with_site) > 0.8 * len(leads)
    for lead in with_site:
        host = urlsplit(lead.website if "://" in lead.website else "http://" + lead.website).hostname
        business = world.by_domain(host)
        assert business is not None
        assert business.chain or business.zip == lead.zip  # chains: one brand site for every location


def test_restricting_zips_and_verticals():
    leads = [
        _valid(g.payload) for g in generate_leads(200, seed=1, zips=["98908"], verticals=["vet"]) if g.expected_valid
    ]
    assert {lead.vertical for lead in leads} == {"vet"}
    assert {lead.city for lead in leads} == {"Yakima"}  # 98908 has < 200 vets: neighbours (989xx) fill in
    assert len({lead.zip for lead in leads}) > 1
