"""Round 18: a venue and a room or facility in it, listed as a place of its own (docs/dedupe-rounds.md).

A map lists a casino's ballroom, a hall's gym, a school's library, a hotel's pool under the venue's name plus
the facility's. The issue's rule (different outlets of one brand at one address stay apart) holds for them
as for a store's departments; a shop named by its kind ("Gold's" / "Gold's Gym") names no venue and stays one.
"""

from __future__ import annotations

import pytest

from stages.dedupe.engine import EntityResolver
from stages.dedupe.normalize import normalize_name as n
from stages.dedupe.outlets import outlet_conflict
from stages.dedupe.record import DedupeInput


def rec(lead_id: str, name: str, street: str = "", **fields) -> DedupeInput:
    return DedupeInput(lead_id=lead_id, name=name, street=street, city="Pittsburgh", state="PA", **fields)


def same(*records: DedupeInput) -> bool:
    resolver = EntityResolver({})
    return len({resolver.resolve(r).entity_id for r in records}) == 1


@pytest.mark.parametrize(
    ("venue", "part"),
    [
        ("Rivers Casino", "Rivers Casino Ballroom"),
        ("Bellefield Hall", "Bellefield Hall Gym"),
        ("Bellefield Hall Gym", "Bellefield Hall Auditorium"),  # two facilities of one hall
        ("Grandview Elementary School", "Grandview Elementary School Library"),
        ("Phillip Murray Elementary", "Philip Murray Elementary School Library"),  # with the kind word it drops
        ("Courtyard by Marriott Shadyside", "Courtyard by Marriott Shadyside Pool"),
        ("Tree Hall", "Tree Hall Fitness Center"),
    ],
)
def test_a_venue_and_its_facility_are_two_listings(venue, part):
    assert outlet_conflict(n(venue), n(part))
    assert outlet_conflict(n(part), n(venue))


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("Gold's", "Gold's Gym"),  # a gym named by its short name: no venue word
        ("Millvale Library", "Millvale Community Library"),  # one library, written two ways
        ("Bellefield Hall", "Bellefield Hall"),
        ("Corner Pocket", "Corner Pocket Pool Hall"),  # the hall is the business, not a venue that holds it
    ],
)
def test_one_name_or_a_shop_named_by_its_kind_is_not_a_part(a, b):
    assert not outlet_conflict(n(a), n(b))


def test_the_city_or_street_written_into_one_name_is_not_the_part():
    # "Pittsburgh" is the listings' city: the gym is the hotel's own name plus "Gym", a part of it.
    where = ("pittsburgh", "", "pittsburgh", "")
    assert outlet_conflict(n("Residence Inn Pittsburgh North Shore"), n("Residence Inn North Shore Gym"), where=where)


def test_a_facility_at_its_venues_street_line_stays_apart_in_the_engine():
    casino = rec("a", "Rivers Casino", "777 Casino Dr")
    ballroom = rec("b", "Rivers Casino Ballroom", "777 Casino Dr")
    assert not same(casino, ballroom)
    assert not same(ballroom, casino)
    assert same(casino, rec("c", "Rivers Casino", "777 Casino Drive"))  # the venue's own listings still join


def test_a_listing_categorised_as_the_venue_is_the_venues_own():
    # The source says what the listing is: "... Hotel Ballroom" under "hotel" is the hotel's listing; under
    # "ballroom" or "event space ballroom" (or with no category, a map's object) it is the ballroom.
    hotel, ballroom = n("Grand Harbor Hotel"), n("Grand Harbor Hotel Ballroom")
    assert not outlet_conflict(hotel, ballroom, "hotel", "hotel")
    assert outlet_conflict(hotel, ballroom, "hotel", "event space ballroom")
    assert outlet_conflict(hotel, ballroom)
