"""Round 19: a listing without a street number at one local phone under a name written another way. Each pair is
written for the test from the habit, not taken from any data set, and resolved in both orders by a fresh engine."""

import pytest

from stages.dedupe.engine import EntityResolver
from stages.dedupe.record import DedupeInput


def rec(lead_id, name, street, phone, city="Los Angeles"):
    return DedupeInput(lead_id=lead_id, name=name, source="csv", street=street, city=city, phone=phone)


def one_entity(a, b):
    for first, second in ((a, b), (b, a)):
        resolver = EntityResolver({})
        x = resolver.resolve(rec("x", *first))
        y = resolver.resolve(rec("y", *second))
        if x.entity_id != y.entity_id:
            return False
    return True


@pytest.mark.parametrize(
    "numbered, placed",
    [
        # a landmark instead of a street number, and the kind word left out
        (
            ("Bluefin Sushi", "7996 W Pico Blvd", "310-662-0383"),
            ("Bluefin", "Santa Monica Place, Level 3", "(310) 662-0383"),
        ),
        # no street line, and the kind word added
        (("Crunch", "2240 Westwood Blvd", "310-474-2240"), ("Crunch Fitness", "", "(310) 474-2240")),
    ],
)
def test_a_place_for_a_street_number_at_one_local_phone_and_a_name_written_another_way(numbered, placed):
    assert one_entity(numbered, placed)


@pytest.mark.parametrize(
    "numbered, placed",
    [
        # a toll-free line is a chain's central number: it places no one
        (
            ("Bluefin Sushi", "7996 W Pico Blvd", "800-662-0383"),
            ("Bluefin", "Santa Monica Place, Level 3", "(800) 662-0383"),
        ),
        # another business behind the same switchboard (a hotel's, a food hall's): the names share no rare word
        (("Harbor Plaza Steakhouse", "16817 Pico Blvd", "212-926-7190"), ("Bluefin Sushi", "", "212-926-7190")),
        # two outlets of one venue, one of them listed without a street number
        (
            ("Galleria Commons Steakhouse", "16817 Pico Blvd", "212-926-7190"),
            ("Galleria Commons Cafe", "", "212-926-7190"),
        ),
    ],
)
def test_apart_without_a_local_line_or_an_agreeing_name(numbered, placed):
    assert not one_entity(numbered, placed)
