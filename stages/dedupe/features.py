"""Pair comparison: per-field similarities turned into model features.

Each feature is 0 when a side lacks the field, so a missing value neither helps
nor hurts; agreement is positive, disagreement negative. Fuzzy similarities are
binned (Fellegi–Sunter style levels) because "0.85 alike" means very different
things for a name and for a street.

Agreement on a phone or an address that carries several distinct names (a hotel
switchboard, a food hall, an office tower) is its own, weaker feature: the
Fellegi–Sunter term-frequency idea, with the frequency counted in the stream's
own state. ``name_conflict`` fires when each name has a distinctive word the
other lacks ("Ritz-Carlton Cafe" / "Ritz-Carlton Dining Room"), which separates
outlets of one brand from a name written longer or shorter.
"""

from __future__ import annotations

import math
from functools import lru_cache
from itertools import pairwise

from jellyfish import jaro_winkler_similarity
from rapidfuzz import fuzz
from rapidfuzz.distance import OSA

from schemas.geo import CITY_STATES, STATE_NAMES
from stages.dedupe.address import ORDINAL_WORDS
from stages.dedupe.normalize import (
    CAMPUS_UNIT_WORDS,
    CAMPUS_WORDS,
    DEPARTMENT_WORDS,
    GENERIC_WORDS,
    INSTITUTION_WORDS,
    KIND_FAMILIES,
    KIND_WORDS,
    LARGE_PLACE_WORDS,
    LOCATION_WORDS,
    ORGANISATION_WORDS,
    PART_VENUE_WORDS,
    PART_WORDS,
    PLACE_WORDS,
    PRACTITIONER_WORDS,
    SERVICE_WORDS,
    TRANSIT_WORDS,
    VENUE_WORDS,
)
from stages.dedupe.record import Profile

FEATURES = (
    "name_exact",
    "name_high",
    "name_mid",
    "name_low",
    "name_jw",
    "name_partial",
    "name_sort",
    "name_conflict",
    "name_cover",
    "phone",
    "phone_shared",
    "phone_differ",
    "domain",
    "email",
    "street_number",
    "street_name",
    "address_shared",
    "unit",
    "zip",
    "city",
    "category",
)
_INDEX = {name: i for i, name in enumerate(FEATURES)}
NAME_NOISE = frozenset({"and", "the", "of", "at", "inc", "llc", "co", "corp", "company", "restaurant", "a"})


def _sign(a: object, b: object) -> float:
    if not a or not b:
        return 0.0
    return 1.0 if a == b else -1.0


def addresses_conflict(a: Profile, b: Profile) -> bool:
    """Both street lines known and different: never the same business (chains, neighbours). Round 18: nor
    two points more than ``APART_M`` apart, unless the street lines or the phones are one (`points_apart`)."""
    x, y = a.address, b.address
    if a.lat is not None and b.lat is not None and points_apart(a, b):
        return True
    if not (x.known and y.known):
        return False
    if x.number != y.number:
        return True
    if x.street != y.street and fuzz.ratio(x.street, y.street) < 70:
        return True
    # Two suites differ; a suite letter glued to the number and a suite number are not comparable.
    return bool(x.unit and y.unit and x.unit != y.unit and x.unit.isdigit() == y.unit.isdigit())


def same_token(t: str, others: list[str]) -> bool:
    for o in others:
        if t == o or (min(len(t), len(o)) >= 3 and (t.startswith(o) or o.startswith(t))):
            return True  # "deli" / "delicatessen", "acad" / "academy"
        if min(len(t), len(o)) >= 5 and jaro_winkler_similarity(t, o) >= 0.92:
            return True  # a typo
    if len(others) < 2:
        return False
    n = len(t)
    if n <= 5 and n <= len(others) and _acronym_of(t, others):
        return True
    return n >= 5 and _glued_of(t, others)


def _acronym_of(t: str, others: list[str]) -> bool:
    """``t`` is the initials of consecutive words of the other name ("KKP" / "Kiddy Kare Preschools")."""
    n = len(t)
    if not (2 <= n <= 5 and t.isalpha()) or n > len(others):
        return False
    initials = "".join(o[0] for o in others)
    return t in initials and any(
        initials[i : i + n] == t and all(len(o) > 1 for o in others[i : i + n]) for i in range(len(others) - n + 1)
    )


def _glued_of(t: str, others: list[str]) -> bool:
    """``t`` is two adjacent words of the other name written as one ("DePriest" / "De Priest")."""
    return len(t) >= 5 and any(a + b == t for a, b in pairwise(others))


def acronym_spans(tokens: list[str], others: list[str]) -> set[int]:
    """Indices of the words of ``tokens`` that an acronym in ``others`` abbreviates ("kiddy kare
    preschool" under "kkp"): the other direction of `same_token`'s acronym test."""
    covered: set[int] = set()
    initials = "".join(t[0] for t in tokens)
    for o in others:
        n = len(o)
        if not (2 <= n <= 5 and o.isalpha()) or o not in initials:
            continue
        for i in range(len(tokens) - n + 1):
            if initials[i : i + n] == o and all(len(t) > 1 for t in tokens[i : i + n]):
                covered.update(range(i, i + n))
    return covered


def glue_split_words(tokens: list[str], others: list[str]) -> list[str]:
    """``tokens`` with each adjacent pair that the other name writes as one word joined ("de priest" →
    "depriest" when the other has "depriest"), so covers count the word once on both sides."""
    if len(tokens) < 2:
        return tokens
    joined = set(others)
    out: list[str] = []
    i = 0
    while i < len(tokens):
        if i + 1 < len(tokens) and tokens[i] + tokens[i + 1] in joined:
            out.append(tokens[i] + tokens[i + 1])
            i += 2
        else:
            out.append(tokens[i])
            i += 1
    return out


@lru_cache(maxsize=20_000)
def is_kind_word(token: str) -> bool:
    """A kind-of-business word, or a typo of one ("noodlh")."""
    if token in KIND_WORDS:
        return True
    return len(token) >= 5 and any(
        abs(len(k) - len(token)) <= 1 and jaro_winkler_similarity(token, k) >= 0.92 for k in KIND_WORDS
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


def near_addresses(a: Profile, b: Profile) -> bool:
    """One street, numbers a few doors apart or one digit mistyped ("1633" / "1653", "7954-58" / "7956")."""
    x, y = a.address, b.address
    if not (x.known and y.known) or x.number == y.number:
        return False
    if x.street != y.street and fuzz.ratio(x.street, y.street) < 70:
        return False
    nx, ny = x.number.split("-")[0], y.number.split("-")[0]
    if not (nx.isdigit() and ny.isdigit()):
        return False
    if abs(int(nx) - int(ny)) <= 10:
        return True
    return len(nx) == len(ny) and sum(c != d for c, d in zip(nx, ny)) == 1


TOLL_FREE = frozenset({"800", "833", "844", "855", "866", "877", "888"})


def one_site_readdressed(a: Profile, b: Profile) -> bool:
    """One building on a corner, listed on each of its streets ("3411 W. Fifth Ave." / "3411 W. Jackson"):
    the same number on another street, the same name and the same local phone (or a line of its block,
    see `phone_block`). Another number on the same street is not enough: a chain's two branches on one
    long street may share a central line. A toll-free line says nothing about the site.

    Likewise one business under two suites of one building, the same name and local phone ("800 Tanger
    Blvd Ste 100" / "Ste 1001"): a suite goes stale when the business moves along the corridor, and is
    mistyped; two tenants of one building have their own names and lines. There a toll-free line counts
    too ("Constable Court Services", 4200 Wisconsin Ave NW Ste 106 / Ste 250, one 888 number): a chain's
    central line joins branches across a town, not two suites of one building.

    And one business whose one listing gives a place instead of a street number (round 14: "Grand Central
    Terminal, Lower Level" / "89 E. 42nd St.", a guide's landmark or a dropped street line) at the same local
    phone and name: nothing on that side contradicts the other's line."""
    if not (a.phone and b.phone and a.name and a.name == b.name):
        return False
    x, y = a.address, b.address
    if bool(x.number) != bool(y.number) and a.phone == b.phone and a.phone[2:5] not in TOLL_FREE:
        return True  # a place written instead of a street number ("Grand Central Terminal, Lower Level")
    if not (x.known and y.known and x.number == y.number):
        return False
    suites = x.street == y.street and bool(x.unit and y.unit and x.unit != y.unit)
    if a.phone[2:5] in TOLL_FREE:
        return suites and a.phone == b.phone
    if a.phone != b.phone and not phone_block(a.phone, b.phone):
        return False
    return x.street != y.street or suites


EARTH_RADIUS_M = 6_371_000.0
# Round 17, measured on the Geo-ER `dev` half: of one place's two points (a map's and a guide's), 84 % lie
# within 100 m, 92 % within 200 m, 99 % within 500 m; one name at two places lies 545 m apart at the tenth
# percentile, but a chain's branches can be a block apart. For the bare-listing rule 200 m scored best on
# `dev` (two-token cell keys: cross-source precision 0.900 against 0.867 at 500 m, recall 0.758 against 0.788).
NEAR_M = 100.0  # one place, when the names agree (`EntityResolver._contact_match`)
FAR_M = 200.0  # beyond it, two places for a name with nothing else to go on (`bare_listing_agrees`)
APART_M = 500.0  # beyond it, two places unless a street line or a phone is one (`points_apart`; round 18)
LARGE_FAR_M = 500.0  # the same for a place that covers ground (`far_m`; round 18)


def far_m(a: str, b: str) -> float:
    """How far apart two points of one name may lie and still be one place (round 18): ``FAR_M``, or
    ``LARGE_FAR_M`` where both names say the place covers ground or stands in grounds of its own
    (`LARGE_PLACE_WORDS`: "Homewood Cemetery" 286 m apart in a map and a guide, "Tunnel Park" 327 m, "Ficke
    Hall" 376 m): its sources put their points at two gates, or at the middle and an entrance. A chain's
    branches are shops and restaurants, not parks or schools."""
    if LARGE_PLACE_WORDS.intersection(a.split()) and LARGE_PLACE_WORDS.intersection(b.split()):
        return LARGE_FAR_M
    return FAR_M


def points_apart(a: Profile, b: Profile) -> bool:
    """Two listings whose points lie more than ``APART_M`` apart, without one street line (the same number on
    one street) or one phone to say they are one place (round 18): a map and a guide put 99 % of one place's
    two points within 500 m, and one name further apart is a chain's two branches ("Exxon" 1.7 km apart,
    "Family Dollar" 7.7 km) or two places of one name, which the model, reading no distance, joined."""
    apart = distance_m(a, b)
    if apart is None or apart <= APART_M:
        return False
    if a.phone and a.phone == b.phone:
        return False
    x, y = a.address, b.address
    one_line = (
        x.known and y.known and x.number == y.number and (x.street == y.street or fuzz.ratio(x.street, y.street) >= 85)
    )
    return not one_line


def distance_m(a: Profile, b: Profile) -> float | None:
    """Metres between two listings' points (round 17; equirectangular, exact enough within a few km), or
    None when a side has no point: absence is no evidence either way."""
    if a.lat is None or a.lng is None or b.lat is None or b.lng is None:
        return None
    x = math.radians(b.lng - a.lng) * math.cos(math.radians((a.lat + b.lat) / 2))
    return EARTH_RADIUS_M * math.hypot(x, math.radians(b.lat - a.lat))


def same_street(a: Profile, b: Profile) -> bool:
    """One street line: the same number and street, the street perhaps misspelt ("Berkley" / "Berkeley")."""
    x, y = a.address, b.address
    if not (x.known and y.known) or x.number != y.number or addresses_conflict(a, b):
        return False
    return x.street == y.street or fuzz.ratio(x.street, y.street) >= 85


def phone_block(a: str | None, b: str | None) -> bool:
    """Two lines of one block: the same area code and exchange, and line numbers that differ in one or two
    digits ("773-907-4740" / "-4741": a main line and the next one, or a typo). Not the same number."""
    if not (a and b) or a == b or len(a) != len(b) or len(a) != 12 or not a.startswith("+1"):
        return False
    return a[:8] == b[:8] and sum(c != d for c, d in zip(a[8:], b[8:])) <= 2


def typo_apart(a: str, b: str) -> bool:
    """Round 19: two names (normalized) one keystroke apart once glued: a letter mistyped, dropped, added or two
    swapped ("Oamr's Deli" / "Omar's Deli", "Wing Eei" / "Wing Lei", "Twin Dqli" / "Twin Deli"). `same_token`
    forgives a typo only in words of five letters or more; at one street line and phone a short word's typo is the
    same name too, whatever the phones (a second line is common). Names of fewer than six letters, with a digit ("Le
    Salonce #2" / "#3") or differing in a word of one or two letters (a unit's letter) are left out."""
    x, y = a.replace(" ", ""), b.replace(" ", "")
    if x == y or min(len(x), len(y)) < 6 or any(c.isdigit() for c in x + y):
        return False
    ta, tb = a.split(), b.split()
    if any(len(t) <= 2 for t in [t for t in ta if t not in tb] + [t for t in tb if t not in ta]):
        return False  # a letter or two that name a unit: "Hall B" / "Hall C", "Terminal C Cafe" / "Terminal D Cafe"
    return OSA.distance(x, y) <= 1


def bare_listing(a: Profile) -> bool:
    """A listing with neither a street number nor a phone: a name and a place, nothing to contradict."""
    return not a.phone and not a.address.number


def bare_listing_agrees(a: Profile, b: Profile) -> bool:
    """One listing is bare (`bare_listing`: a guide's entry with a name and a city only), both are in one
    city, and the names are one name: the same once glued, or one is the other plus kind-of-business words
    or a number ("Wing Sing" / "Wing Sing Bar", "Le Salonce" / "Le Salonce #2", "Pickleball 406" /
    "Pickleball406"). The shorter name must hold a word of its own (not only kind or place words), and
    the caller joins only where one candidate of the region agrees so (a chain's name alone in a city
    with two of its branches says nothing)."""
    if not (a.name and b.name and a.city and a.city == b.city and (bare_listing(a) or bare_listing(b))):
        return False
    apart = distance_m(a, b)
    if apart is not None and apart > FAR_M and apart > far_m(a.name, b.name):
        # round 17: one name at two points a few blocks apart is two places (a chain's branches); round 18: a
        # park, a cemetery or a school spreads further (`far_m`)
        return False
    x, y = a.address.street, b.address.street
    if x and y and x != y and fuzz.ratio(x, y) < 85:
        return False  # a street named without its number is still a street ("C Canyon Rd." / "5371-C Juniper Ln")
    return name_plus_kind(a.name, b.name)


def name_plus_kind(a: str, b: str, transit: bool = False) -> bool:
    """One name (normalized): the same once glued, or one is the other plus kind-of-business words or a number
    ("Wing Sing" / "Wing Sing Bar", "Le Salonce" / "Le Salonce #2"); the shorter holds a word of its own.
    With ``transit`` (two listings at one point, round 18) a stop's words count as kind words too ("Pennant" /
    "Pennant T Stop")."""
    if a.replace(" ", "") == b.replace(" ", ""):
        return any(t not in GENERIC_WORDS and len(t) > 2 for t in a.split())
    ta, tb = a.split(), b.split()
    short, long_ = (ta, tb) if len(ta) <= len(tb) else (tb, ta)
    if not all(same_token(t, long_) for t in short) or not any(t not in GENERIC_WORDS and len(t) > 2 for t in short):
        return False
    extra = [t for t in long_ if t not in NAME_NOISE and not same_token(t, short)]
    return bool(extra) and all(
        t.isdigit() or is_kind_word(t) or _kind_level(t, extra) or (transit and t in TRANSIT_WORDS) for t in extra
    )


# A level that is part of a kind phrase ("High School", "Middle School"), not a word of a name.
KIND_LEVELS = frozenset({"high", "middle", "elementary", "junior", "primary", "secondary"})


def _kind_level(token: str, words: list[str]) -> bool:
    """``token`` is a level directly followed by a kind word in ``words`` ("Waterbury Career Academy High
    School" / "Waterbury Career Academy": a school named with and without its level)."""
    i = words.index(token)
    return token in KIND_LEVELS and i + 1 < len(words) and is_kind_word(words[i + 1])


def names_conflict(a: str, b: str) -> bool:
    """Both names add a word of the same kind that the other lacks: two businesses, not one name written two ways.

    Both add a distinctive word ("Joe's Steakhouse" / "Wing Lei Noodle Bar"), or both add a
    kind-of-business word ("Ritz-Carlton Cafe" / "Ritz-Carlton Dining Room": two outlets). An
    operator's name on one side and a kind word on the other ("Easter Seals - It Takes a Village" /
    "It Takes a Village Child Care") is one business written two ways.
    """
    if a.replace(" ", "") == b.replace(" ", ""):
        return False
    for x, y in ((a, b), (b, a)):  # "The Terrace at Hotel X" is an outlet of "Hotel X", not the hotel
        outlet, at, venue = x.partition(" at ")
        if at and name_cover(venue, y) == 1.0 and name_cover(outlet, y) < 1.0:
            return True
    ta = [t for t in a.split() if t not in NAME_NOISE and t not in PLACE_WORDS]
    tb = [t for t in b.split() if t not in NAME_NOISE and t not in PLACE_WORDS]
    extra_a = [t for t in ta if not same_token(t, tb)]
    extra_b = [t for t in tb if not same_token(t, ta)]
    if not (extra_a and extra_b):
        return False
    kind_a, kind_b = any(t in KIND_WORDS for t in extra_a), any(t in KIND_WORDS for t in extra_b)
    own_a, own_b = any(t not in KIND_WORDS for t in extra_a), any(t not in KIND_WORDS for t in extra_b)
    if not ((kind_a and kind_b) or (own_a and own_b)):
        return False
    # Glued or split words ("roto rooter" / "rotorooter") are not a conflict.
    return fuzz.partial_ratio(a.replace(" ", ""), b.replace(" ", "")) < 95


def _unabbreviate(name: str, other: str) -> str:
    """``name`` with each word that shortens a word of ``other`` written out ("deli" → "delicatessen")."""
    longer = other.split()
    out = []
    for t in name.split():
        full = next((o for o in longer if len(o) > len(t) >= 3 and o.startswith(t)), t)
        out.append(full)
    return " ".join(out)


def _abbreviates(a: str, b: str) -> bool:
    """Same words, some shortened: "Art's Delicatessen" / "Arts Deli", "West Side Animal Hosp." / "Westside Animal Hospital"."""
    ta, tb = a.split(), b.split()
    return len(ta) == len(tb) and all(same_token(t, tb) for t in ta) and all(same_token(t, ta) for t in tb)


def name_cover(a: str, b: str) -> float:
    """Share of the distinctive words of the name with fewer of them that the other name has."""
    wa, wb = glue_split_words(a.split(), b.split()), glue_split_words(b.split(), a.split())
    da = [t for t in wa if t not in GENERIC_WORDS] or wa
    db = [t for t in wb if t not in GENERIC_WORDS] or wb
    short, long_ = (da, db) if len(da) <= len(db) else (db, da)
    return sum(1 for t in short if same_token(t, long_)) / len(short) if short else 0.0


def without_venue(a: str, b: str) -> tuple[str, str]:
    """Two names as the contact rule compares them: an "X at Y" name whose Y is a venue (`VENUE_WORDS`: an
    outlet named with the hotel, casino or mall it is in, "lespinasse at saint regi hotel") against a name that
    shares no word with the venue ("lespinasse") is compared by its own part, X: the venue says where the
    listing is, not what it is called. Against the venue, a name sharing its words ("Early Childhood Services
    at Bernard Horwich JCC" / "Bernard Horwich Jewish Community Center"), another "at" name or an "at" that names
    no venue ("DaVita Cornerstone At Home"), both stay as they are."""
    if " at " in a and " at " not in b:
        outlet, _, venue = a.partition(" at ")
        if outlet and VENUE_WORDS & set(venue.split()) and name_cover(venue, b) == 0.0:
            return outlet, b
    elif " at " in b and " at " not in a:
        outlet, _, venue = b.partition(" at ")
        if outlet and VENUE_WORDS & set(venue.split()) and name_cover(venue, a) == 0.0:
            return a, outlet
    return a, b


def _holds_own_word(tokens: list[str], name: list[str]) -> bool:
    """``tokens`` (a name, perhaps without its kind tail) hold a word that is not a kind or place word, or the
    name ``name`` leads with an ordinal and says more (round 13: "First Start Academy" is a name; "first" is a
    place word only inside a name, "First National Bank" / "Chicago First")."""
    if any(t not in GENERIC_WORDS and len(t) > 2 for t in tokens):
        return True
    return len(name) >= 2 and name[0] in ORDINAL_WORDS and name[0] in tokens


def operator_prefixed(a: str, b: str, kind_tail: bool = False) -> bool:
    """The shorter name is the end of the longer, which adds words in front: a site listed once under
    its own name and once behind its operator's ("Hearst" / "Hull House Association - LeClaire Hearst",
    "Jones Academy" / "Henry Booth House - Jones Academy"). The shorter name must hold a word of its own
    (not only kind or place words). A name that adds words after ("Ritz-Carlton" / "Ritz-Carlton
    Dining Room": an outlet of the venue) is not this.

    With ``kind_tail``, kind-of-business words at the end of either name are left out first ("It Takes
    a Village Child Care Services" / "Easter Seals - It Takes a Village"), and the words in front must
    name someone (not only kind or place words: "Hotel X" / "X Dining Room" is not an operator's site).
    """
    fa = [t for t in a.split() if len(t) >= 2 and t not in NAME_NOISE]
    fb = [t for t in b.split() if len(t) >= 2 and t not in NAME_NOISE]
    ta, tb = (_without_kind_tail(fa), _without_kind_tail(fb)) if kind_tail else (fa, fb)
    short, long_, full = (ta, tb, fa) if len(ta) <= len(tb) else (tb, ta, fb)
    if len(short) >= len(long_) or not _holds_own_word(short, full):
        return False
    front = long_[: len(long_) - len(short)]
    if kind_tail and all(t in GENERIC_WORDS for t in front):
        return False
    return all(same_token(x, [y]) for x, y in zip(short, long_[len(front) :]))


def site_of_two_agencies(a: str, b: str) -> bool:
    """Both names are an agency's name followed by one site's own name, and the two agencies differ: a
    site listed by two agencies, or handed from one to the other ("El Valor - Little Tykes I" / "Kiddy Kare
    Preschools Little Tykes I", "Albany Park Community Center - Lincoln Square" / "Hull House Association
    Lincoln Square", "... FCCH-Norma Jackson" under two agencies). Kind words ending either name are left
    out first.

    The site's part must hold two words of its own (not kind or place words), the two fronts share no word
    (two agencies, not one group's two units: "Kettering Health General Surgery - Piqua Campus" / "...
    Vascular Surgery - Piqua Campus"), and one front must name an organisation (a kind or organisation
    word: "center", "association", "preschools"). Two businesses that share only their trade behind their
    own names ("Westgate Lawn & Garden" / "Sycamore Lawn & Garden", "Old Mill Drain Services" / "Iron Horse
    Drain Services") fail the last test: their fronts are the names, not agencies."""
    ta = _without_kind_tail([t for t in a.split() if t not in NAME_NOISE])
    tb = _without_kind_tail([t for t in b.split() if t not in NAME_NOISE])
    n = 0
    while n < min(len(ta), len(tb)) and same_token(ta[-1 - n], [tb[-1 - n]]):
        n += 1
    if n == 0 or n == len(ta) or n == len(tb):
        return False
    site, front_a, front_b = ta[-n:], ta[:-n], tb[:-n]
    if sum(1 for t in site if t not in GENERIC_WORDS and len(t) > 2 and not t.isdigit()) < 2:
        return False
    if any(same_token(t, front_b) for t in front_a):
        return False
    return any(is_kind_word(t) or t in ORGANISATION_WORDS for t in front_a + front_b)


def _without_kind_tail(tokens: list[str]) -> list[str]:
    end = len(tokens)
    while end > 1 and is_kind_word(tokens[end - 1]):
        end -= 1
    return tokens[:end]


def compare(a: Profile, b: Profile, shared_phone: bool = False, shared_address: bool = False) -> list[float]:
    """The feature vector of one pair, in `FEATURES` order.

    ``shared_phone`` / ``shared_address``: the phone or street address carries
    several distinct names in the state (a switchboard, a mall); their agreement
    then counts as the weaker ``phone_shared`` / ``address_shared``.
    """
    features = [0.0] * len(FEATURES)
    if a.name and b.name:
        name_a, name_b = _unabbreviate(a.name, b.name), _unabbreviate(b.name, a.name)
        tset = fuzz.token_set_ratio(name_a, name_b) / 100.0
        compact_a, compact_b = name_a.replace(" ", ""), name_b.replace(" ", "")
        conflict = names_conflict(a.name, b.name)
        cover = name_cover(a.name, b.name)
        if compact_a == compact_b:
            features[0] = 1.0
        elif tset >= 0.92 or (not conflict and _abbreviates(a.name, b.name)):
            features[1] = 1.0
        elif tset >= 0.75:
            features[2] = 1.0
        else:
            features[3] = 1.0
        features[4] = 2.0 * jaro_winkler_similarity(compact_a, compact_b) - 1.0
        features[5] = 2.0 * fuzz.partial_ratio(compact_a, compact_b) / 100.0 - 1.0
        sort = max(fuzz.token_sort_ratio(name_a, name_b), fuzz.ratio(compact_a, compact_b)) / 100.0
        features[6] = 2.0 * sort - 1.0
        features[7] = 1.0 if conflict else 0.0
        features[8] = 2.0 * cover - 1.0
    phone = _sign(a.phone, b.phone)
    if phone < 0:  # a second line (reservations, fax) is common: its own, smaller weight
        features[_INDEX["phone_differ"]] = 1.0
    elif phone > 0:
        features[_INDEX["phone_shared" if shared_phone else "phone"]] = 1.0
    if a.domains and b.domains:
        features[_INDEX["domain"]] = 1.0 if set(a.domains) & set(b.domains) else -1.0
    features[_INDEX["email"]] = _sign(a.email, b.email)
    x, y = a.address, b.address
    if shared_address and x.known and x.number == y.number and x.street == y.street:
        features[_INDEX["address_shared"]] = 1.0
    else:
        features[_INDEX["street_number"]] = _sign(x.number, y.number)
        if x.street and y.street:
            features[_INDEX["street_name"]] = 2.0 * fuzz.ratio(x.street, y.street) / 100.0 - 1.0
    features[_INDEX["unit"]] = _sign(x.unit, y.unit)
    features[_INDEX["zip"]] = _sign(a.zip, b.zip)
    if a.city and b.city:
        features[_INDEX["city"]] = 2.0 * fuzz.ratio(a.city, b.city) / 100.0 - 1.0
    if a.category and b.category:
        features[_INDEX["category"]] = 2.0 * fuzz.token_set_ratio(a.category, b.category) / 100.0 - 1.0
    return features


def matched_on(a: Profile, b: Profile) -> list[str]:
    """Which exact keys agree, for the decision's ``matched_on``."""
    hits = []
    if a.phone and a.phone == b.phone:
        hits.append("phone")
    if set(a.domains) & set(b.domains):
        hits.append("domain")
    if a.email and a.email == b.email:
        hits.append("email")
    if a.address.known and a.address.number == b.address.number and a.address.street == b.address.street:
        hits.append("address")
    if a.name and a.name.replace(" ", "") == b.name.replace(" ", ""):
        hits.append("name")
    return hits
