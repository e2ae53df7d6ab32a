"""Search adapters against the simulator over HTTP: paging, mapping, errors."""

from __future__ import annotations

import math

import httpx
import pytest

from providers.http import PermanentProviderError, TransientProviderError
from providers.search import GooglePlacesSearch, YelpSearch
from simulator.world import world_for
from simulator.world_places import KNOWN_ZIPS


def _cell_with(sim, source: str, minimum: int) -> tuple[str, str, list]:
    """A ZIP x vertical of the world with at least `minimum` businesses listed on `source`."""
    world = world_for(sim)
    for zip_code in KNOWN_ZIPS:
        for vertical in ("hvac", "plumber", "vet", "dentist"):
            listed = [b for b in world.businesses(zip_code, vertical) if getattr(b, f"on_{source}")]
            if len(listed) >= minimum:
                return zip_code, vertical, listed
    raise AssertionError(f"no cell with {minimum} {source} businesses")


async def test_yelp_pages_through_every_business(fresh_sim):
    base_url, sim = fresh_sim
    zip_code, vertical, listed = _cell_with(sim, "yelp", 51)
    yelp = YelpSearch(base_url, "test-key", timeout_s=5)
    try:
        leads = await yelp.search(zip_code, vertical, max_results=500)
    finally:
        await yelp.aclose()
    assert [lead.source_ids["yelp"] for lead in leads] == [b.yelp_id for b in listed]
    pages = sim.records["search.yelp"]
    assert [(p["offset"], p["limit"]) for p in pages] == [(i * 50, 50) for i in range(math.ceil(len(listed) / 50))]
    first, business = leads[0], listed[0]
    assert (first.name, first.phone, first.zip, first.city, first.state) == (
        business.name,
        business.phone,
        business.zip,
        business.city,
        business.state,
    )
    assert first.street == business.street_line and first.website is None
    assert (first.latitude, first.longitude) == (business.lat, business.lng)  # Yelp's `coordinates`
    assert first.source == "yelp" and first.vertical == vertical and first.category


async def test_google_pages_with_tokens_and_maps_websites(fresh_sim):
    base_url, sim = fresh_sim
    zip_code, vertical, listed = _cell_with(sim, "google", 41)
    google = GooglePlacesSearch(base_url, "test-key", timeout_s=5)
    try:
        leads = await google.search(zip_code, vertical, max_results=500)
        capped = await google.search(zip_code, vertical, max_results=25)
    finally:
        await google.aclose()
    expected = {b.google_place_id: b for b in listed}
    assert len(leads) == min(len(listed), 60)
    assert {lead.source_ids["google"] for lead in leads} <= set(expected)
    for lead in leads:
        business = expected[lead.source_ids["google"]]
        assert lead.website == business.website and lead.phone == business.phone
        assert lead.name == business.google_name and lead.zip == zip_code and lead.state == business.state
        assert lead.street.startswith(business.street)
        assert (lead.latitude, lead.longitude) == (business.lat, business.lng)  # `location`, asked for in the mask
    offsets = [p["offset"] for p in sim.records["search.google"]]
    assert offsets[:3] == [0, 20, 40]
    assert len(capped) == 25 and [p["page_size"] for p in sim.records["search.google"][-2:]] == [20, 5]


async def test_unknown_vertical_is_searched_by_text(fresh_sim):
    base_url, sim = fresh_sim
    yelp, google = YelpSearch(base_url, "k"), GooglePlacesSearch(base_url, "k")
    try:
        from_yelp = await yelp.search("46032", "landscaper", 100)
        from_google = await google.search("46032", "landscaper", 100)
    finally:
        await yelp.aclose()
        await google.aclose()
    world = world_for(sim).businesses("46032", "landscaper")
    assert len(from_yelp) == sum(b.on_yelp for b in world) and len(from_google) == sum(b.on_google for b in world)
    assert {r["vertical"] for r in sim.records["search.yelp"] + sim.records["search.google"]} == {"landscaper"}


async def test_rate_limit_surfaces_as_transient_with_retry_after(fresh_sim):
    base_url, sim = fresh_sim
    sim.config.update({"search": {"rate_limit_per_s": 1}})
    yelp = YelpSearch(base_url, "k")
    try:
        await yelp.search("98908", "vet", 10)
        with pytest.raises(TransientProviderError) as caught:
            await yelp.search("98908", "vet", 10)
    finally:
        await yelp.aclose()
    assert caught.value.retry_after_s == 1.0 and "429" in str(caught.value)
    assert sim.counters["search.429"] == 1


async def test_down_is_transient_and_bad_keys_are_permanent(fresh_sim):
    base_url, sim = fresh_sim
    for adapter in (
        YelpSearch(base_url, "invalid-key"),
        GooglePlacesSearch(base_url, "invalid-key"),
        GooglePlacesSearch(base_url, ""),
    ):
        with pytest.raises(PermanentProviderError):
            await adapter.search("98908", "hvac", 5)
        await adapter.aclose()
    sim.config.update({"search": {"down": True}})
    google = GooglePlacesSearch(base_url, "k")
    with pytest.raises(TransientProviderError, match="503"):
        await google.search("98908", "hvac", 5)
    await google.aclose()


async def test_api_limits_and_details_match_the_real_apis(fresh_sim):
    base_url, sim = fresh_sim
    async with httpx.AsyncClient(base_url=base_url, trust_env=False) as client:
        auth = {"Authorization": "Bearer k"}
        too_deep = await client.get(
            "/v3/businesses/search", params={"location": "98908", "limit": 50, "offset": 200}, headers=auth
        )
        assert too_deep.status_code == 400 and too_deep.json()["error"]["code"] == "VALIDATION_ERROR"
        assert (
            await client.get("/v3/businesses/search", params={"location": "98908", "limit": 51}, headers=auth)
        ).status_code == 400
        assert (await client.get("/v3/businesses/search", params={"location": "98908"})).status_code == 401
        nowhere = await client.get("/v3/businesses/search", params={"location": "00001"}, headers=auth)
        assert nowhere.json()["error"]["code"] == "LOCATION_NOT_FOUND"
        found = (
            await client.get(
                "/v3/businesses/search",
                params={"location": "Yakima, WA", "categories": "plumbing", "limit": 1},
                headers=auth,
            )
        ).json()["businesses"][0]
        details = (await client.get(f"/v3/businesses/{found['id']}", headers=auth)).json()
        assert (
            details["name"] == found["name"] and "website" not in details and details["location"]["zip_code"] == "98908"
        )
        assert (await client.get("/v3/businesses/nope", headers=auth)).status_code == 404

        google = {"X-Goog-Api-Key": "k", "X-Goog-FieldMask": "places.id,places.websiteUri,nextPageToken"}
        page = (
            await client.post(
                "/v1/places:searchText", json={"textQuery": "plumber in 10002", "pageSize": 3}, headers=google
            )
        ).json()
        assert len(page["places"]) == 3 and all(set(p) <= {"id", "websiteUri"} for p in page["places"])
        other_query = await client.post(
            "/v1/places:searchText",
            headers=google,
            json={"textQuery": "vet in 10002", "pageToken": page["nextPageToken"]},
        )
        assert other_query.status_code == 400
        no_mask = await client.post(
            "/v1/places:searchText", json={"textQuery": "plumber in 10002"}, headers={"X-Goog-Api-Key": "k"}
        )
        assert no_mask.status_code == 400
        place = (
            await client.get(
                f"/v1/places/{page['places'][0]['id']}",
                headers={"X-Goog-Api-Key": "k", "X-Goog-FieldMask": "displayName,formattedAddress"},
            )
        ).json()
        assert set(place) == {"displayName", "formattedAddress"} and place["formattedAddress"].endswith("NY 10002, USA")


def test_a_point_is_both_coordinates_or_none():
    from providers.search import _coordinates

    assert _coordinates({"latitude": 40.44, "longitude": -79.94}) == {"latitude": 40.44, "longitude": -79.94}
    none = {"latitude": None, "longitude": None}
    assert _coordinates({"latitude": None, "longitude": None}) == none  # Yelp: a business it has not placed
    assert _coordinates({"latitude": 40.44}) == none and _coordinates(None) == none
    assert _coordinates({"latitude": 0, "longitude": 0}) == none  # a placeholder, not a place
    assert _coordinates({"latitude": 140.0, "longitude": -79.94}) == none
