"""Outlets: two listings of one venue or brand that are two places to sell to, not one.

The issue's precision class: a hotel's café and its dining room, a store and its
pharmacy, a hospital and its emergency room, a practice and one of its doctors, a
casino and its ballroom share an address and often a phone, and their names share
the brand. `outlet_conflict` is the one test the engine asks (its veto at one
site); the helpers name each habit it knows, with the listings that taught it.
Names here are normalized (`normalize.normalize_name`) and split into words.
"""

from __future__ import annotations

from functools import lru_cache

from schemas.geo import CITY_STATES, STATE_NAMES
from stages.dedupe.features import NAME_NOISE, is_kind_word, name_cover, same_token
from stages.dedupe.vocabulary import (
    CAMPUS_UNIT_WORDS,
    CAMPUS_WORDS,
    DEPARTMENT_WORDS,
    GENERIC_WORDS,
    INSTITUTION_WORDS,
    KIND_FAMILIES,
    KIND_WORDS,
    LOCATION_WORDS,
    ORGANISATION_WORDS,
    PART_VENUE_WORDS,
    PART_WORDS,
    PLACE_WORDS,
    PRACTITIONER_WORDS,
    SERVICE_WORDS,
)

# Words a department's listing may carry besides its department words ("Walmart Fuel Station",
# "Walmart Money Center", "... - Emergency Room").
_DEPARTMENT_FILLERS = KIND_WORDS | {"station", "centre", "counter", "department", "dept", "desk", "room", "glasse"}
# Round 14: words that qualify a store's department without being one ("Walmart Grocery Pickup and Delivery
# Service"): fillers only, so "Sal's Deli & Grocery" / "Sal's Deli" stays one bodega.
_DEPARTMENT_FILLERS = _DEPARTMENT_FILLERS | {"grocery", "groceries", "delivery", "online", "curbside"}


def _department_of(x: list[str], y: list[str], y_category: str = "") -> bool:
    """Name x is name y plus department words ("Walmart Pharmacy" / "Walmart"), y adding nothing.

    Not when y's own category is what the words name ("Bitcoin Depot ATM" / "Bitcoin Depot", an ATM
    operator): the venue is itself that kind of business, and x is its listing, not a counter inside it."""
    extra = [t for t in x if t not in NAME_NOISE and not same_token(t, y)]
    if not extra or not any(t in DEPARTMENT_WORDS for t in extra):
        return False
    if not all(t in DEPARTMENT_WORDS or t in _DEPARTMENT_FILLERS for t in extra):
        return False
    if y_category and all(t in _category_words(y_category) for t in extra if t in DEPARTMENT_WORDS):
        return False
    return all(t in NAME_NOISE or same_token(t, x) for t in y)


@lru_cache(maxsize=5_000)
def _category_words(category: str) -> frozenset[str]:
    return frozenset(w[:-1] if len(w) > 3 and w.endswith("s") else w for w in category.split())


def practitioner_conflict(ta: list[str], tb: list[str]) -> bool:
    """A person's own listing (a credential or role in the name: `PRACTITIONER_WORDS`) against another
    person's at the same practice, or against the practice itself ("Arkansas Children's - A. Jefferson,
    M.D." / "... - S. Mehta, M.D."; "U.S. Bank - J. Burns - Mortgage Lending Officer" / "U.S. Bank"). A
    name that only adds the person's role ("Zach Fox - Financial Advisor" / "Zach Fox - Financial
    Representative") is one person; a bare person's name ("Jinwoo Jang") is not a practice."""
    pa, pb = any(t in PRACTITIONER_WORDS for t in ta), any(t in PRACTITIONER_WORDS for t in tb)
    if not (pa or pb):
        return False
    rest_a = [t for t in ta if t not in PRACTITIONER_WORDS and t not in NAME_NOISE]
    rest_b = [t for t in tb if t not in PRACTITIONER_WORDS and t not in NAME_NOISE]
    own_a = [t for t in rest_a if not t.isdigit() and not same_token(t, rest_b)]
    own_b = [t for t in rest_b if not t.isdigit() and not same_token(t, rest_a)]
    if pa and pb:
        return bool(own_a and own_b)  # two people
    person_own, practice_own, practice = (own_a, own_b, rest_b) if pa else (own_b, own_a, rest_a)
    return bool(person_own) and not practice_own and any(is_kind_word(t) or t in DEPARTMENT_WORDS for t in practice)


def institution_units(ta: list[str], tb: list[str], where: tuple[str, ...] = ()) -> bool:
    """Two listings of an institution (`INSTITUTION_WORDS`: a university, a hospital or health system, a
    school district) that begin with the institution's name, where either adds a unit's own words: the
    institution and one of its units, or two units ("High Point University Chapel and Religious Life" /
    "High Point University", "Kettering Health Medical Group General Surgery - Piqua Campus" / "... Vascular
    Surgery - Piqua Campus", "San Jose Unified School District Culinary Center" / "... School District").

    A unit's own word is one of four letters or more that is not a kind-of-business, place or location
    word, nor a word of either listing's city or street (``where``: "Mercy Health Perrysburg" is the
    system in its town), nor an institution word. A listing whose added words are mostly kind words says
    what the site is, not which unit ("Kennedy-King College Child Development Lab Center" / "Kennedy-King
    College", a college's lab school, is one site); short words and abbreviations ("Settlement Hse",
    "Truman CDC") are the name written shorter."""
    a = [t for t in ta if t not in NAME_NOISE]
    b = [t for t in tb if t not in NAME_NOISE]
    p = 0
    while p < min(len(a), len(b)) and same_token(a[p], [b[p]]):
        p += 1
    if p < 2 or not any(t in INSTITUTION_WORDS for t in a[:p]):
        return False
    extra = [t for t in a[p:] if not same_token(t, b)] + [t for t in b[p:] if not same_token(t, a)]
    if not extra:
        return False
    own = [
        t
        for t in extra
        if len(t) >= 4
        and not t.isdigit()
        and t not in GENERIC_WORDS
        and t not in INSTITUTION_WORDS
        and t not in LOCATION_WORDS
        and not any(t in text for text in where)
        and not is_kind_word(t)
    ]
    kinds = [t for t in extra if is_kind_word(t)]
    return bool(own) and len(own) >= len(kinds)


def _extras(ta: list[str], tb: list[str]) -> tuple[list[str], list[str]]:
    a = [t for t in ta if t not in NAME_NOISE and not same_token(t, tb)]
    b = [t for t in tb if t not in NAME_NOISE and not same_token(t, ta)]
    return a, b


def campus_units(ta: list[str], tb: list[str]) -> bool:
    """A college or university and one of its units, or two units, each listed under the school's name
    plus the unit's (`CAMPUS_UNIT_WORDS`: "Santiago Canyon College - Gym" / "Santiago Canyon College",
    "High Point University Chapel and Religious Life" / "High Point University", "… Library" / "…
    Bookstore"). Both names carry the school word (`CAMPUS_WORDS`, or a typo of it); every name that
    adds words adds a unit word among them, and the two add different units. A name that adds other words
    only ("Loyola University Chicago - Preschool/Day Care", "Chicago State University - Gingerbread House":
    a site a college runs) is left to the other tests."""
    school = next((t for t in ta + tb if t in CAMPUS_WORDS), "")
    if not (school and same_token(school, ta) and same_token(school, tb)):  # both, or a typo of it ("Universtiy")
        return False
    extra_a, extra_b = _extras(ta, tb)
    units_a = {t for t in extra_a if t in CAMPUS_UNIT_WORDS}
    units_b = {t for t in extra_b if t in CAMPUS_UNIT_WORDS}
    if (extra_a and not units_a) or (extra_b and not units_b):
        return False
    return units_a != units_b


def two_services(ta: list[str], tb: list[str]) -> bool:
    """Two services of one practice or store, each listed under its name plus its own service
    (`SERVICE_WORDS`: "Fort Worth Physical Therapy" / "Fort Worth Speech Therapy", "Petco Grooming" / "Petco
    Dog Training"): both names add words, each a service of its own, and nothing but services, department
    fillers and kind words. One name without a service ("Acme Physical Therapy" / "Acme Therapy") is not
    parted here: small practices are named by their one service."""
    extra_a, extra_b = _extras(ta, tb)
    if not (extra_a and extra_b):
        return False
    if not (SERVICE_WORDS.intersection(extra_a) and SERVICE_WORDS.intersection(extra_b)):
        return False
    return all(
        t in SERVICE_WORDS or t in DEPARTMENT_WORDS or t in _DEPARTMENT_FILLERS or is_kind_word(t)
        for t in extra_a + extra_b
    )


def venue_part(
    ta: list[str], tb: list[str], where: tuple[str, ...] = (), categories: tuple[str, str] = ("", "")
) -> bool:
    """A venue and a room or facility in it listed as a place of its own (round 18): one name is the other
    plus facility words (`PART_WORDS`; kind words may come with them: "Philip Murray Elementary School
    Library" / "Phillip Murray Elementary"), and the other names a venue that holds such parts
    (`PART_VENUE_WORDS`: "Rivers Casino" / "... Ballroom", "Bellefield Hall" / "... Gym", "Courtyard ...
    Shadyside" / "... Pool"); or both add facilities, different ones, to one venue's name. Words of the
    listings' city or street (``where``) are not counted ("Residence Inn Pittsburgh North Shore" / "Residence
    Inn North Shore Gym"). A shop named by its kind ("Gold's" / "Gold's Gym") names no venue, and stays one.

    A listing whose source gives its category says what it is (``categories``): one that adds a facility to the
    venue's name but is categorised as something else than the facility (a hotel's listing "... Hotel & Pool"
    under "hotel") is the venue's own, as a venue that is itself a department's kind is in `_department_of`."""
    places = {w for text in where if text for w in (text, *text.split())}
    a = [t for t in ta if t not in NAME_NOISE and t not in places]
    b = [t for t in tb if t not in NAME_NOISE and t not in places]
    extra_a = [t for t in a if not same_token(t, b)]
    extra_b = [t for t in b if not same_token(t, a)]
    if not (extra_a or extra_b):
        return False
    if not any(t in PART_VENUE_WORDS and same_token(t, tb) for t in ta):
        return False

    def part(extra: list[str], category: str) -> bool:
        if not extra:
            return True
        parts = [t for t in extra if t in PART_WORDS]
        if not parts or not all(t in PART_WORDS or t in _DEPARTMENT_FILLERS or is_kind_word(t) for t in extra):
            return False
        return not category or any(t in _category_words(category) for t in parts)

    if not (part(extra_a, categories[0]) and part(extra_b, categories[1])):
        return False
    return set(extra_a) != set(extra_b)


# Words that name a place (a state, a known city, borough or neighbourhood): on a locator's page they say
# where the listing is, not which unit ("…/locations/morrow", "…/nashville-results-physiotherapy-west").
_PLACE_NAMES = (
    frozenset(w for text in (*STATE_NAMES, *CITY_STATES) for w in text.split() if len(w) >= 4)
    | PLACE_WORDS
    | LOCATION_WORDS
)


def unit_page(a: str, b: str, pages: tuple[str, str], where: tuple[str, ...] = ()) -> bool:
    """The two listings link to two pages of one site, and one page is about words its listing's name adds
    to the other's: a department or a service and its store, or two services ("Walmart Tech" at
    "…/walmart-tech-services" / "Walmart" at its store page, "PetSmart Dog Training" at "…/dog-training" /
    "PetSmart" at ".../scottsdale-store0147.html", "Petco Grooming" at "…/full-service-grooming-…" / "Petco
    Dog Training" at "…/dog-training-…"). Store locators give each unit its page and sources link each
    listing to its own, so the page says which unit the listing is, whatever the words (a word list would
    not know "tech" or "grooming" as departments).

    The added words counted are of four letters or more and name no place (a locator's branch page names
    the town: "…/locations/morrow"; nor the listings' cities or streets, ``where``). One page for both, a
    home page on either side ("Coinstar" / "Coinstar Kiosk" at ".../kiosk-info" is one place, "High Point
    University" / its chapel at ".../religiouslife" two), or two sites say nothing; names with a
    practitioner's credential or role are left to `practitioner_conflict`."""
    site_a, _, page_a = pages[0].partition("/")
    site_b, _, page_b = pages[1].partition("/")
    if site_a != site_b or page_a == page_b or not (page_a and page_b):
        return False
    ta, tb = a.split(), b.split()
    if PRACTITIONER_WORDS & set(ta) or PRACTITIONER_WORDS & set(tb):
        return False
    for x, y, page in ((ta, tb, page_a), (tb, ta, page_b)):
        for t in x:
            if (
                len(t) >= 4
                and t.isalpha()
                and t not in NAME_NOISE
                and t in page
                and t not in _PLACE_NAMES
                and not any(t in text for text in where)
                and not same_token(t, y)
            ):
                return True
    return False


def outlet_conflict(
    a: str,
    b: str,
    category_a: str = "",
    category_b: str = "",
    where: tuple[str, ...] = (),
    pages: tuple[str, str] = ("", ""),
) -> bool:
    """Two outlets of one venue or brand: the names differ only in kind-of-business words, on both sides
    ("Ritz-Carlton Cafe" / "Ritz-Carlton Dining Room"), or one is "X at Y" and the other is Y, or one is
    a department of the other ("Walmart Pharmacy" / "Walmart", "Chase Mortgage" / "Chase Bank"), or one
    is a practitioner's own listing at the other (`practitioner_conflict`), or they are two units of an
    institution or the institution and a unit (`institution_units`; ``where``: the listings' cities and
    street names), or a college and one of its units (`campus_units`), or two services of one practice
    (`two_services`). The categories, where known, tell a venue that is itself the department's kind
    ("Bitcoin Depot", an ATM operator). ``pages``: the listings' own web pages (`unit_page`)."""
    if a == b or a.replace(" ", "") == b.replace(" ", ""):
        return False
    if (pages[0] or pages[1]) and unit_page(a, b, pages, where):
        return True
    if " at " in a or " at " in b:
        for x, y in ((a, b), (b, a)):
            outlet, at, venue = x.partition(" at ")
            if at and name_cover(venue, y) == 1.0 and name_cover(outlet, y) < 1.0:
                return True
    ta, tb = a.split(), b.split()
    set_a, set_b = set(ta), set(tb)
    if (PRACTITIONER_WORDS & set_a or PRACTITIONER_WORDS & set_b) and practitioner_conflict(ta, tb):
        return True
    if INSTITUTION_WORDS & set_a & set_b and institution_units(ta, tb, where):
        return True
    if (
        CAMPUS_UNIT_WORDS & set_a != CAMPUS_UNIT_WORDS & set_b
        and CAMPUS_WORDS & (set_a | set_b)
        and campus_units(ta, tb)
    ):
        return True
    if PART_WORDS & (set_a ^ set_b) and venue_part(ta, tb, where, (category_a, category_b)):
        return True
    serv_a, serv_b = SERVICE_WORDS & set_a, SERVICE_WORDS & set_b
    if serv_a and serv_b and serv_a != serv_b and two_services(ta, tb):
        return True
    dept_a, dept_b = DEPARTMENT_WORDS & set_a, DEPARTMENT_WORDS & set_b
    if dept_a != dept_b:  # rare: most names carry no department word
        if (dept_a and _department_of(ta, tb, category_b)) or (dept_b and _department_of(tb, ta, category_a)):
            return True
        extra_a = [t for t in ta if t not in NAME_NOISE and not same_token(t, tb)]
        extra_b = [t for t in tb if t not in NAME_NOISE and not same_token(t, ta)]
        own_a = [t for t in extra_a if t in DEPARTMENT_WORDS or (is_kind_word(t) and t not in ORGANISATION_WORDS)]
        own_b = [t for t in extra_b if t in DEPARTMENT_WORDS or (is_kind_word(t) and t not in ORGANISATION_WORDS)]
        if (
            own_a
            and own_b
            and all(t in DEPARTMENT_WORDS or t in _DEPARTMENT_FILLERS or is_kind_word(t) for t in extra_a + extra_b)
            and DEPARTMENT_WORDS & set(extra_a + extra_b)
        ):
            return (
                True  # two departments, or the venue's own kind against a department ("Chase Bank" / "Chase Mortgage")
            )
    if not (
        any(t in KIND_WORDS and t not in set_b for t in ta) and any(t in KIND_WORDS and t not in set_a for t in tb)
    ):
        return False  # the common case, without fuzzy token comparisons
    extra_a = [t for t in ta if t not in NAME_NOISE and not same_token(t, tb)]
    extra_b = [t for t in tb if t not in NAME_NOISE and not same_token(t, ta)]
    # Only kind words differ on both sides: one brand, two outlets. A side that adds its own words
    # ("Henry Booth House - New Pisgah" / "New Pisgah Day Care Center") names an operator instead;
    # organisation words and words of one kind family ("child care" / "preschool") are one business.
    if not (extra_a and extra_b) or not all(is_kind_word(t) for t in extra_a + extra_b):
        return False
    kinds_a = {t for t in extra_a if t not in ORGANISATION_WORDS}
    kinds_b = {t for t in extra_b if t not in ORGANISATION_WORDS}
    if not (kinds_a and kinds_b):
        return False
    return not any(kinds_a | kinds_b <= family for family in KIND_FAMILIES)
