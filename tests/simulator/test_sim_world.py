"""The business world: deterministic, plausible, consistent with its places."""

from __future__ import annotations

from collections import Counter

import phonenumbers
import pytest
import tldextract

from simulator.world import UnknownLocation, World
from simulator.world_places import KNOWN_ZIPS

_NO_DOWNLOAD = tldextract.TLDExtract(suffix_list_urls=())


def test_same_seed_same_world_other_seed_other_world():
    a, b, c = World(5), World(5), World(6)
    assert a.businesses("98908", "hvac") == b.businesses("98908", "hvac")
    assert [x.name for x in a.businesses("98908", "hvac")] != [x.name for x in c.businesses("98908", "hvac")]


@pytest.mark.parametrize(
    "zip_code, city, state, area_codes",
    [
        ("10002", "New York", "NY", {"212", "646", "917"}),
        ("98908", "Yakima", "WA", {"509"}),
        ("46032", "Carmel", "IN", {"317"}),
        ("98901", "Yakima", "WA", {"509"}),  # not known in detail: shares 989 with Yakima
        ("73102", "Oklahoma City", "OK", {"405"}),  # fallback to the state's largest city
    ],
)
def test_businesses_are_placed_where_their_zip_is(zip_code, city, state, area_codes):
    world = World(7)
    for vertical in ("hvac", "plumber", "vet", "pool_cleaning"):
        found = world.businesses(zip_code, vertical)
        assert 20 <= len(found) <= 60
        for business in found:
            assert (business.zip, business.city, business.state) == (zip_code, city, state)
            number = phonenumbers.parse(business.phone)
            assert phonenumbers.is_valid_number(number) and business.phone[2:5] in area_codes


def test_world_shape_websites_sources_and_unique_domains():
    world = World(7)
    everyone = [b for z in KNOWN_ZIPS for v in ("hvac", "plumber", "vet") for b in world.businesses(z, v)]
    share = lambda pred: sum(map(pred, everyone)) / len(everyone)
    assert 0.05 < share(lambda b: b.website is None) < 0.16
    assert 0.6 < share(lambda b: b.on_yelp and b.on_google) < 0.8
    assert share(lambda b: not (b.on_yelp or b.on_google)) == 0
    assert 0.2 < share(lambda b: b.email is not None) < 0.5
    domains = Counter(b.domain for b in everyone if b.domain and not b.chain)
    assert domains and max(domains.values()) == 1
    for business in everyone:
        if business.domain:
            assert _NO_DOWNLOAD(business.domain).top_domain_under_public_suffix == business.domain
            assert business.website.startswith("http://")  # reachable through the plain-HTTP proxy
            assert business.domain in business.website and world.by_domain("www." + business.domain) is not None
    vets = [b.name for b in world.businesses("46032", "vet")]
    assert all(any(w in n for w in ("Vet", "Animal", "Pet", "Paws", "Banfield")) for n in vets)


def test_ids_resolve_back_to_their_business():
    world = World(7)
    for business in world.businesses("10002", "plumber"):
        assert world.by_yelp_id(business.yelp_id) == (business if business.on_yelp else None)
        assert world.by_place_id(business.google_place_id) == (business if business.on_google else None)
    assert world.by_yelp_id("garbage!") is None and world.by_place_id("ChIJbm9wZQ") is None


def test_unplaceable_zips_are_unknown_locations():
    with pytest.raises(UnknownLocation):
        World(7).businesses("00001", "hvac")
    with pytest.raises(UnknownLocation):
        World(7).businesses("9890", "hvac")
