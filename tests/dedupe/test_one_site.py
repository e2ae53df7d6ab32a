"""Round 21: one name at two street lines of one building (docs/dedupe-rounds.md). Each pair is written for the test
from the habit (a corner building listed on each of its streets, a guide's user typing or guessing the number), not
taken from any data set, and resolved in both orders by a fresh engine."""

from __future__ import annotations

import pytest

from stages.dedupe.engine import EntityResolver
from stages.dedupe.features import ONE_SITE_M, one_site_two_lines
from stages.dedupe.record import DedupeInput, Profile

LAT, LNG = 40.4406, -79.9959
M_LAT = 1 / 111_195  # degrees of latitude per metre


def rec(lead_id: str, name: str, street: str, metres: float | None = None, phone: str = "") -> DedupeInput:
    point = {"latitude": LAT + metres * M_LAT, "longitude": LNG} if metres is not None else {}
    return DedupeInput(lead_id=lead_id, name=name, street=street, city="Pittsburgh", state="PA", phone=phone, **point)


def one_entity(a: DedupeInput, b: DedupeInput) -> bool:
    for first, second in ((a, b), (b, a)):
        resolver = EntityResolver({})
        if resolver.resolve(first).entity_id != resolver.resolve(second).entity_id:
            return False
    return True


@pytest.mark.parametrize(
    "a, b",
    [
        # a corner building on each of its streets, one number
        (("Corner Bakery", "5932 Penn Circle South", 0), ("Corner Bakery", "5932 Center Ave", 25)),
        # another number on one street, far beyond a typo or a range: a number typed or guessed in a guide
        (("Corner Bakery", "7750 Peebles St", 0), ("Corner Bakery", "116 Peebles St", 20)),
        # the name spelt with a space more or less
        (("Eat 'N Park", "1250 Banksville Rd", 0), ("Eat'n Park", "1300 Banksville Rd", 10)),
    ],
)
def test_one_name_at_two_street_lines_of_one_building_is_one_place(a, b):
    assert one_entity(rec("a", *a), rec("b", *b))


def test_without_points_or_further_apart_two_street_lines_are_two_places():
    corner = rec("a", "Corner Bakery", "5932 Penn Circle South", 0)
    assert not one_entity(rec("a", "Corner Bakery", "5932 Penn Circle South"), rec("b", "Corner Bakery", "116 Oak St"))
    assert not one_entity(corner, rec("b", "Corner Bakery", "116 Oak St", ONE_SITE_M + 30))  # a branch a block away
    assert not one_entity(corner, rec("b", "Corner Bakery", "116 Oak St"))  # one point only: no evidence


def test_other_names_or_two_phone_lines_at_one_building_stay_apart():
    assert not one_entity(rec("a", "Corner Bakery", "500 Main St", 0), rec("b", "Corner Books", "12 Oak Ave", 10))
    assert not one_entity(
        rec("a", "Corner Bakery", "500 Main St", 0, "412-555-0101"),
        rec("b", "Corner Bakery", "12 Oak Ave", 10, "412-821-7788"),
    )
    # the next line of one block is one business's second line
    assert one_entity(
        rec("a", "Corner Bakery", "500 Main St", 0, "412-555-0101"),
        rec("b", "Corner Bakery", "12 Oak Ave", 10, "412-555-0102"),
    )


def test_one_site_two_lines_reads_the_name_the_points_and_the_phones():
    a = Profile.of(rec("a", "Corner Bakery", "500 Main St", 0))
    assert one_site_two_lines(a, Profile.of(rec("b", "Corner Bakery", "12 Oak Ave", ONE_SITE_M - 1)))
    assert not one_site_two_lines(a, Profile.of(rec("b", "Corner Bakery", "12 Oak Ave", ONE_SITE_M + 1)))
    assert not one_site_two_lines(a, Profile.of(rec("b", "Corner Bakery", "12 Oak Ave")))
    assert not one_site_two_lines(a, Profile.of(rec("b", "Corner Bakery Cafe", "12 Oak Ave", 5)))


def test_a_spelling_of_one_building_does_not_veto_its_entity():
    # The entity holds the corner's two lines; a third listing at either joins, and a branch down the road does not.
    resolver = EntityResolver({})
    first = resolver.resolve(rec("a", "Corner Bakery", "5932 Penn Circle South", 0)).entity_id
    assert resolver.resolve(rec("b", "Corner Bakery", "5932 Center Ave", 25)).entity_id == first
    assert resolver.resolve(rec("c", "Corner Bakery", "5932 Center Ave", 30)).entity_id == first
    assert resolver.resolve(rec("d", "Corner Bakery", "6400 Penn Ave", 900)).entity_id != first
