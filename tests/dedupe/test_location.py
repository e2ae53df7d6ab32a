"""Round 17: a listing's point (latitude, longitude) as match evidence (docs/dedupe-rounds.md).

A point is optional: without one on either side nothing changes. With points on both sides, two listings
within `NEAR_M` whose names agree on their rare words are one place though one has no street line; one name
at two points more than `FAR_M` apart is two places (a chain's branches); different names or two outlets at
one point (a hotel, a mall) stay apart.
"""

from __future__ import annotations

import math
import random

import pytest

from schemas.lead import Lead, RawLead
from stages.dedupe.blocking import CELL_DEG, blocking_keys, cell, cell_keys, cells_around, keys_of, lookup_keys
from stages.dedupe.engine import EntityResolver
from stages.dedupe.features import distance_m
from stages.dedupe.record import DedupeInput, Profile

LAT, LNG = 40.4406, -79.9959  # downtown Pittsburgh
M_LAT = 1 / 111_195  # degrees of latitude per metre


def north(metres: float) -> float:
    return LAT + metres * M_LAT


def rec(lead_id: str, name: str, street: str = "", lat: float | None = None, lng: float | None = LNG, **fields):
    point = {"latitude": lat, "longitude": lng} if lat is not None else {}
    fields = {"city": "Pittsburgh", **fields}
    return DedupeInput(lead_id=lead_id, name=name, street=street, state="PA", **point, **fields)


def mapped(lead_id: str, name: str, lat: float | None = None, **fields) -> DedupeInput:
    """A map's object: a name and a point, no street line, phone or city (round 10's bare-listing rule, which
    needs a city, does not apply)."""
    return rec(lead_id, name, lat=lat, city=None, **fields)


# Other businesses of the region, kilometres away: the name-word counts (`frequency`) then know "community",
# "library", "fitness" as the common words they are, as a stream's state does.
TOWN = [
    ("Carnegie Library of Homestead", "510 E 10th Ave"),
    ("Brentwood Library", "3501 Brownsville Rd"),
    ("Northside Community Center", "1000 Brighton Rd"),
    ("Hill District Community Center", "2100 Wylie Ave"),
    ("Anytime Fitness", "4100 Butler St"),
    ("Planet Fitness", "2100 Greentree Rd"),
]


def same(*records: DedupeInput) -> bool:
    resolver = EntityResolver({})
    for i, (name, street) in enumerate(TOWN):
        resolver.resolve(rec(f"town{i}", name, street, lat=north(5_000 + 2_000 * i)))
    return len({resolver.resolve(r).entity_id for r in records}) == 1


def test_a_profile_stores_its_point_at_the_end_and_one_without_a_point_as_before():
    plain = Profile.of(rec("a", "Millvale Library", "213 Grant Ave"))
    assert len(plain.to_list()) == 16 and plain.point is None  # the stored form of round 16, unchanged
    placed = Profile.of(rec("a", "Millvale Library", "213 Grant Ave", lat=40.48012345678))
    stored = placed.to_list()
    assert stored[:16] == plain.to_list() and stored[16:] == [40.480123, LNG]
    assert Profile.from_list(stored) == placed and Profile.from_list(plain.to_list()) == plain
    assert Profile.from_list(stored[:15]).point is None  # stored before round 11 still reads


@pytest.mark.parametrize(
    ("row", "point"),
    [
        ({"latitude": "40.44", "longitude": "-79.99"}, (40.44, -79.99)),
        ({"lat": "40.44", "lng": "-79.99"}, (40.44, -79.99)),
        ({"lat": "40.44", "lon": "-79.99"}, (40.44, -79.99)),
        ({"latitude": "40.44"}, None),  # half a point is none
        ({"latitude": "north", "longitude": "-79.99"}, None),
        ({"latitude": "95", "longitude": "-79.99"}, None),
        ({"latitude": "nan", "longitude": "-79.99"}, None),
        ({"latitude": "0", "longitude": "0"}, None),  # a placeholder
        ({"latitude": "", "longitude": ""}, None),
    ],
)
def test_a_csv_row_gives_its_point_in_either_column_pair(row, point):
    record = DedupeInput.from_row({"id": "r1", "name": "X", **row})
    got = (record.latitude, record.longitude) if record.latitude is not None else None
    assert got == point


def test_a_lead_brings_its_point_to_the_engine():
    raw = RawLead(source="yelp", name="Crunch", zip="15212", latitude=40.4471, longitude=-80.0152)
    record = DedupeInput.from_lead(Lead.from_raw(raw))
    assert (record.latitude, record.longitude) == (40.4471, -80.0152)
    assert Profile.of(record).point == (40.4471, -80.0152)


def test_a_point_less_than_half_a_cell_away_on_each_axis_is_in_a_cell_looked_up():
    rng = random.Random(17)
    for _ in range(20_000):
        lat, lng = rng.uniform(-60, 70), rng.uniform(-170, 170)
        dlat, dlng = (rng.uniform(-0.499, 0.499) * CELL_DEG for _ in range(2))
        assert cell(lat + dlat, lng + dlng) in cells_around(lat, lng)
        assert cell(lat, lng) in cells_around(lat + dlat, lng + dlng)  # whichever comes first
    assert cell(LAT + 1.01 * CELL_DEG, LNG) not in cells_around(LAT, LNG)


def test_a_name_token_in_the_cell_of_the_point_is_indexed_and_the_cells_around_it_looked_up():
    bare = Profile.of(mapped("a", "Millvale Community Library", lat=north(0)))
    full = Profile.of(rec("b", "Millvale Library", "213 Grant Ave", lat=north(150)))
    assert len(cell_keys(bare)) == 1 and set(cell_keys(bare)) <= set(blocking_keys(bare))  # one index entry
    assert len(set(lookup_keys(bare)) - set(blocking_keys(bare))) == 3  # three more cells looked up
    assert set(lookup_keys(bare)) & set(blocking_keys(full)) and set(lookup_keys(full)) & set(blocking_keys(bare))
    away = Profile.of(rec("c", "Millvale Library", "213 Grant Ave", lat=north(5_000)))
    assert not set(lookup_keys(bare)) & set(blocking_keys(away))
    placeless = Profile.of(rec("d", "Millvale Library", "213 Grant Ave"))  # no point: no key, nothing more looked up
    assert cell_keys(placeless) == [] and lookup_keys(placeless) == blocking_keys(placeless)


def test_distance_is_in_metres_and_none_without_a_point():
    a, b = Profile.of(rec("a", "X", lat=north(0))), Profile.of(rec("b", "X", lat=north(250)))
    assert distance_m(a, b) == pytest.approx(250, abs=1)
    assert distance_m(a, Profile.of(rec("c", "X"))) is None


def test_a_bare_map_name_at_the_point_of_a_full_listing_is_that_place():
    # One library, a map's bare name and a guide's listing; the names share their rare words but not as a
    # name plus kind words, so round 10's bare-listing rule does not join them, and main never did.
    bare = mapped("a", "Millvale Community Library", lat=north(0))
    full = rec("b", "Millvale Library", "213 Grant Ave", lat=north(40))
    assert same(bare, full)
    assert same(full, bare)  # in either order
    crunch = mapped("a", "Crunch Fitness", lat=north(0)), rec("b", "Crunch", "340 E Waterfront Dr", lat=north(60))
    assert same(*crunch) and same(*reversed(crunch))


def test_without_points_nothing_changes():
    bare, full = mapped("a", "Millvale Community Library"), rec("b", "Millvale Library", "213 Grant Ave")
    assert not same(bare, full)
    # one side with a point and the other without: no evidence either way
    assert not same(mapped("a", "Millvale Community Library", lat=north(0)), full)


def test_names_that_agree_a_block_away_are_not_one_point():
    # A map's object 400 m from the listing: beyond NEAR_M, so the names alone do not join them (they meet in
    # blocking: the cells are 330 m on a side and a point lists the four around it).
    assert not same(
        mapped("a", "Millvale Community Library", lat=north(0)),
        rec("b", "Millvale Library", "213 Grant Ave", lat=north(400)),
    )


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("Joe's Steakhouse", "Wing Lei Noodle Bar"),  # two restaurants of one casino
        ("Ritz-Carlton Cafe", "Ritz-Carlton Dining Room"),  # two outlets of one hotel
        ("Walmart", "Walmart Fuel Station"),  # a store and its department
        ("Potomac", "Potomac Bakery"),  # a street's name and a shop on it
    ],
)
def test_different_names_or_outlets_at_one_point_stay_apart(a, b):
    assert not same(mapped("a", a, lat=north(0)), rec("b", b, "1419 Potomac Ave", lat=north(10)))
    assert not same(mapped("a", b, lat=north(0)), rec("b", a, "1419 Potomac Ave", lat=north(10)))


def test_two_phones_that_are_two_lines_are_two_businesses_even_at_one_point():
    a = mapped("a", "Millvale Community Library", lat=north(0), phone="412-555-0101")
    b = rec("b", "Millvale Library", "213 Grant Ave", lat=north(20), phone="412-821-7788")
    assert not same(a, b)


def test_one_name_blocks_apart_is_a_chain_even_for_a_bare_listing():
    # Round 10 joins a bare listing to the one business of its name in the city; with points more than FAR_M
    # (200 m) apart they are two branches. Without points the rule is as before.
    bare, branch = rec("a", "PNC Bank", lat=north(0)), rec("b", "PNC Bank", "421 Chartiers Ave", lat=north(3_000))
    assert not same(bare, branch)
    assert same(rec("a", "PNC Bank"), rec("b", "PNC Bank", "421 Chartiers Ave"))
    assert same(bare, rec("b", "PNC Bank", "421 Chartiers Ave", lat=north(150)))  # within FAR_M: the rule as before
    assert not same(bare, rec("b", "PNC Bank", "421 Chartiers Ave", lat=north(300)))  # a few blocks: a branch


def test_a_csv_with_points_runs_through_leadstream_dedupe(tmp_path):
    from stages.dedupe.csvtool import resolve_rows

    rows = [
        {"id": "1", "name": "Millvale Community Library", "state": "PA", "lat": str(north(0)), "lng": str(LNG)},
        {
            "id": "2",
            "name": "Millvale Library",
            "address": "213 Grant Ave",
            "city": "Pittsburgh",
            "state": "PA",
            "lat": str(north(30)),
            "lng": str(LNG),
        },
    ]
    ids, _ = resolve_rows(rows)
    assert ids[0] == ids[1]
    assert math.isclose(north(111_195), LAT + 1)


def test_a_place_that_covers_ground_may_have_its_points_further_apart():
    # Round 18: a cemetery's, a park's or a school's two sources put their points hundreds of metres apart (two
    # gates, the middle and an entrance); a shop's name at such a distance is still a branch.
    from stages.dedupe.features import FAR_M, LARGE_FAR_M, far_m

    for name, street in (("Homewood Cemetery", "1599 S Dallas Ave"), ("Tunnel Park", "100 Tunnel St")):
        assert same(rec("a", name, lat=north(0)), rec("b", name, street, lat=north(300)))
        assert not same(rec("a", name, lat=north(0)), rec("b", name, street, lat=north(700)))  # beyond LARGE_FAR_M
    assert not same(rec("a", "PNC Bank", lat=north(0)), rec("b", "PNC Bank", "421 Chartiers Ave", lat=north(300)))
    assert far_m("homewood cemetery", "homewood cemetery") == LARGE_FAR_M
    assert far_m("homewood cemetery", "homewood florist") == FAR_M  # both names must say so


def test_a_stop_labelled_by_its_place_alone_is_that_stop():
    # Round 18: a map labels a stop or a station by its place ("Pennant"); a guide adds the stop's words.
    assert same(mapped("a", "Pennant", lat=north(0)), rec("b", "Pennant T Stop", lat=north(10)))
    assert same(mapped("a", "Carnegie Station", lat=north(0)), mapped("b", "Carnegie", lat=north(80)))
    # only at one point: 400 m away it is another stop of the line, or the place
    assert not same(mapped("a", "Pennant", lat=north(0)), mapped("b", "Pennant T Stop", lat=north(400)))


def test_points_far_apart_are_two_places_unless_a_street_line_or_phone_is_one():
    # Round 18: a map and a guide put 99 % of one place's two points within 500 m (APART_M). The model reads no
    # distance and joined one name and ZIP 1.7 km apart; now nothing joins across such a distance but one street
    # line (a point misplaced) or one phone.
    from stages.dedupe.features import points_apart

    exxon = (
        rec("a", "Exxon", lat=north(0), zip="15221"),
        rec("b", "Exxon", "7530 Penn Ave", lat=north(1_700), zip="15221"),
    )
    assert not same(*exxon)
    dees = (
        rec("a", "Dee's Cafe", "1316 E Carson St", lat=north(0), zip="15203"),
        rec("b", "Dee's Cafe", "E Carson St", lat=north(1_250), zip="15203"),
    )
    assert not same(*dees)
    assert same(
        rec("a", "Logan Pub", "301 Craig St", lat=north(0)), rec("b", "Logan Pub", "301 Craig St", lat=north(800))
    )
    phone = "412-555-0142"
    assert same(
        rec("a", "Dee's Cafe", "1316 E Carson St", lat=north(0), phone=phone),
        rec("b", "Dee's Cafe", lat=north(1_250), phone=phone),
    )
    # without a point on either side nothing changes
    assert same(rec("a", "Exxon", zip="15221"), rec("b", "Exxon", "7530 Penn Ave", zip="15221"))
    near = Profile.of(rec("a", "Exxon", lat=north(0))), Profile.of(rec("b", "Exxon", "7530 Penn Ave", lat=north(400)))
    assert not points_apart(*near)


def test_a_near_miss_street_number_at_one_point_is_one_place():
    # Round 18: "415" / "413 Wood St" a few metres apart, one name: a typo or a range, as at one phone (round 3);
    # two names at near numbers are neighbours, and one name at near numbers 300 m apart is not one point.
    assert same(rec("a", "Weldin's", "415 Wood St", lat=north(0)), rec("b", "Weldin's", "413 Wood St", lat=north(8)))
    assert same(
        rec("a", "Noodles", "4805 Forbes Ave", lat=north(0)), rec("b", "Noodles", "3805 Forbes Ave", lat=north(30))
    )
    assert not same(
        rec("a", "Weldin's", "415 Wood St", lat=north(0)), rec("b", "Sud's Subs", "413 Wood St", lat=north(8))
    )
    assert not same(
        rec("a", "Weldin's", "415 Wood St", lat=north(0)), rec("b", "Weldin's", "413 Wood St", lat=north(300))
    )
    assert not same(rec("a", "Weldin's", "415 Wood St"), rec("b", "Weldin's", "413 Wood St"))  # no points: as before


@pytest.mark.parametrize("point", [(40.0021, -75.0013), (40.0039, -75.0001), None])
def test_keys_of_gives_the_blocking_and_the_lookup_keys_together(point):
    row = {"id": "k", "name": "Delmonico Bakery", "address": "12 Main St", "city": "Philadelphia", "state": "PA"}
    if point:
        row = {**row, "latitude": point[0], "longitude": point[1]}
    profile = Profile.of(DedupeInput.from_row(row))
    keys, looked = keys_of(profile)
    assert keys == blocking_keys(profile) and looked == lookup_keys(profile)
    assert looked[: len(keys)] == keys and len(looked) == len(keys) + (3 if point else 0)
