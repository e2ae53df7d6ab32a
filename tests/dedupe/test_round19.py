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


@pytest.mark.parametrize(
    "a, b",
    [
        # two letters swapped, the listing without a phone
        (
            ("Omar's Deli", "1529-A West Harbor Dr, Suite 373", "1 310 427 1764"),
            ("Oamr's Deli", "1529-A W. Harbor Drive, Suite 373", ""),
        ),
        # a letter mistyped in a short word (`same_token` forgives typos in words of five letters or more only)
        (("Twin Deli", "8994 N Third St", "(312) 328-6477"), ("Twin Dqli", "8994 N 3rd Street", "")),
    ],
)
def test_one_name_with_a_letter_mistyped_at_one_street_line(a, b):
    assert one_entity(a, b)


def test_a_mistyped_name_at_one_street_line_and_two_phone_lines():
    assert one_entity(
        ("Green Olive Pet Care", "16573 W. Sepulveda Boulevard", "213/604-4732"),
        ("Gren Olive Pet Care", "16573 W Sepulveda Blvd", "(213) 568-1688"),
    )


def test_typo_apart():
    from stages.dedupe.features import typo_apart
    from stages.dedupe.normalize import normalize_name as n

    assert typo_apart(n("Oamr's Deli"), n("Omar's Deli")) and typo_apart(n("Twin Dqli"), n("Twin Deli"))
    assert typo_apart(n("Wnig Lei"), n("Wing Lei")) and typo_apart(n("Omar's Electric"), n("Omaar's Electric"))
    assert not typo_apart(n("Joe's"), n("Moe's"))  # too short to tell a typo from another name
    assert not typo_apart(n("Le Salonce 2"), n("Le Salonce 3"))  # numbered branches
    assert not typo_apart(n("Twin Deli"), n("Twin Deli"))  # the same name: nothing for this rule
    assert not typo_apart(n("Rosa Cafe"), n("Rosewood Cafe"))
    assert not typo_apart(n("Hall B Cafe"), n("Hall C Cafe"))  # a unit's letter
    assert not typo_apart(n("Terminal A Coffee Bar"), n("Terminal B Coffee Bar"))  # "a" is dropped as a stopword
