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

from stages.dedupe.address import ORDINAL_WORDS
from stages.dedupe.normalize import VENUE_WORDS
from stages.dedupe.record import Profile
from stages.dedupe.vocabulary import (
    GENERIC_WORDS,
    KIND_WORDS,
    LARGE_PLACE_WORDS,
    ORGANISATION_WORDS,
    PLACE_WORDS,
    TRANSIT_WORDS,
)

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
    # The street lines first, the points after: a test of two strings is cheaper than a distance, and most pairs that
    # conflict conflict on their lines (the result is the same in either order).
    if x.known and y.known:
        if x.number != y.number:
            return True
        if x.street != y.street and fuzz.ratio(x.street, y.street) < 70:
            return True
        # Two suites differ; a suite letter glued to the number and a suite number are not comparable.
        if x.unit and y.unit and x.unit != y.unit and x.unit.isdigit() == y.unit.isdigit():
            return True
    return a.lat is not None and b.lat is not None and points_apart(a, b)


def far_line_stored(a: Profile, stored: list) -> bool:
    """Whether a stored spelling (`Profile.to_list`'s list) is at another street line than ``a``: another number on
    a street that is no typo of ``a``'s, and not the same name at the same phone. That is `addresses_conflict` and
    neither `near_addresses` nor `one_site_readdressed`, read on the list without building its `Profile`: the
    engine's first test of every candidate spelling, and most of a lead's candidates' spellings are at other lines
    (`EntityResolver._score`). False where the list does not settle it: the caller builds the Profile and asks."""
    x = a.address
    number, street = stored[4], stored[6]  # `Profile.from_list`'s order: 0 name, 1 phone, 4 number, 6 street
    if not (x.number and x.street and number and street) or number == x.number:
        return False
    if street == x.street or fuzz.ratio(x.street, street) >= 70:
        return False  # `near_addresses` reads the numbers next
    return not (a.phone and stored[1] and a.name and a.name == stored[0])  # else `one_site_readdressed` may hold


@lru_cache(maxsize=50_000)
def _typo_of(t: str, o: str) -> bool:
    """Two words of five letters or more, one a typo of the other (Jaro–Winkler ≥ 0.92). Memoized, bounded like the
    normalizers' caches (speed round 4): `same_token` asks it of word pairs that recur across names and candidates,
    and the Rust call splits both words into graphemes first (~5,000 instructions a call)."""
    return jaro_winkler_similarity(t, o) >= 0.92


def same_token(t: str, others: list[str]) -> bool:
    for o in others:
        if t == o or (min(len(t), len(o)) >= 3 and (t.startswith(o) or o.startswith(t))):
            return True  # "deli" / "delicatessen", "acad" / "academy"
        if min(len(t), len(o)) >= 5 and _typo_of(t, o):
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


def bare_stored(stored: list) -> bool:
    """`bare_listing` of a stored spelling (`Profile.to_list`: index 1 is the phone, 4 the street number), without
    building its Profile: most spellings are not bare, and callers test many."""
    return not (stored[1] or stored[4])


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


def _name_features(features: list[float], a: str, b: str) -> None:
    """The name features of two non-empty names (``features[0:9]``, in `FEATURES` order)."""
    name_a, name_b = _unabbreviate(a, b), _unabbreviate(b, a)
    tset = fuzz.token_set_ratio(name_a, name_b) / 100.0
    compact_a, compact_b = name_a.replace(" ", ""), name_b.replace(" ", "")
    conflict = names_conflict(a, b)
    cover = name_cover(a, b)
    if compact_a == compact_b:
        features[0] = 1.0
    elif tset >= 0.92 or (not conflict and _abbreviates(a, b)):
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


def _one_name_features(features: list[float]) -> None:
    """`_name_features` of one name (with a word) and itself, without computing any of them: the glued names are
    equal (``name_exact``), every similarity of a non-empty string with itself is at its top (1.0 once scaled),
    the names do not conflict and each covers the other (`name_cover` 1.0). tests/dedupe checks the two agree."""
    features[0] = features[4] = features[5] = features[6] = features[8] = 1.0


def compare(a: Profile, b: Profile, shared_phone: bool = False, shared_address: bool = False) -> list[float]:
    """The feature vector of one pair, in `FEATURES` order.

    ``shared_phone`` / ``shared_address``: the phone or street address carries
    several distinct names in the state (a switchboard, a mall); their agreement
    then counts as the weaker ``phone_shared`` / ``address_shared``.
    """
    features = [0.0] * len(FEATURES)
    if a.name and b.name:
        if a.name == b.name and a.name.strip():
            _one_name_features(features)  # most compared pairs: a re-spelling of the same name
        else:
            _name_features(features, a.name, b.name)
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
