"""The dedupe partition key: the Kafka message key of every lead topic.

Two listings that could be one business must land on the same partition, or
dedupe (whose state is partition-local) cannot see both. Any single field can
be missing or spelled differently (no ZIP, "NYC" vs "Brooklyn", a second phone
line), so the key is the coarsest place every listing of a business agrees on:
its **US state** (``"CA"``). Each of these fields the listing has that names a
state casts one vote, the state with most votes wins, and a tie goes to the
earlier field in this order of trust (so one wrong field, a mistyped ZIP, is
outvoted by the others, and fields that agree give the ZIP's state):

1. the ZIP (its 3-digit prefix → state, USPS ranges);
2. the state field (a two-letter code or a full name);
3. the city, when it is a known city, borough or neighbourhood (`CITY_STATES`), or when it carries
   its state ("New York, NY", "Los Angeles CA 90036", "Berkeley, Calif.": `split_city_state`);
4. the phone's area code (NANP area code → state, from `phonenumbers`' geocoding
   data; toll-free and non-geographic numbers say nothing);
5. else ``"unknown"``: a listing with no place at all only meets other such listings.

Known limits: a business whose phone area code belongs to another state than its
address (a New Jersey shop with a 212 number), listed once with and once without
ZIP/state/city, gets two keys, and the engine of one partition never sees both;
the dedupe stage's shared directory (`stages.dedupe.phone_look`: phone, name and
street, name and city keys) brings such twins together. Keys are few (one
per state), which is affordable because dedupe is cheap (thousands of leads/s per
core); the costly stateless stages are spread by lead id instead (scale-out issue).
"""

from __future__ import annotations

import re
from functools import lru_cache

_DIGITS = re.compile(r"\D+")
_WORDS = re.compile(r"[^a-z ]+")

STATE_NAMES = {
    "alabama": "AL",
    "alaska": "AK",
    "arizona": "AZ",
    "arkansas": "AR",
    "california": "CA",
    "colorado": "CO",
    "connecticut": "CT",
    "delaware": "DE",
    "district of columbia": "DC",
    "washington dc": "DC",
    "washington d c": "DC",
    "florida": "FL",
    "georgia": "GA",
    "hawaii": "HI",
    "idaho": "ID",
    "illinois": "IL",
    "indiana": "IN",
    "iowa": "IA",
    "kansas": "KS",
    "kentucky": "KY",
    "louisiana": "LA",
    "maine": "ME",
    "maryland": "MD",
    "massachusetts": "MA",
    "michigan": "MI",
    "minnesota": "MN",
    "mississippi": "MS",
    "missouri": "MO",
    "montana": "MT",
    "nebraska": "NE",
    "nevada": "NV",
    "new hampshire": "NH",
    "new jersey": "NJ",
    "new mexico": "NM",
    "new york": "NY",
    "north carolina": "NC",
    "north dakota": "ND",
    "ohio": "OH",
    "oklahoma": "OK",
    "oregon": "OR",
    "pennsylvania": "PA",
    "rhode island": "RI",
    "south carolina": "SC",
    "south dakota": "SD",
    "tennessee": "TN",
    "texas": "TX",
    "utah": "UT",
    "vermont": "VT",
    "virginia": "VA",
    "washington": "WA",
    "washington state": "WA",
    "west virginia": "WV",
    "wisconsin": "WI",
    "wyoming": "WY",
    "puerto rico": "PR",
    "guam": "GU",
    "us virgin islands": "VI",
}
STATE_CODES = frozenset(STATE_NAMES.values()) | {"AA", "AE", "AP"}

# USPS ZIP3 ranges (first three digits, inclusive) → state.
_ZIP3_RANGES = (
    (5, 5, "NY"),
    (6, 7, "PR"),
    (8, 8, "VI"),
    (9, 9, "PR"),
    (10, 27, "MA"),
    (28, 29, "RI"),
    (30, 38, "NH"),
    (39, 49, "ME"),
    (50, 59, "VT"),
    (60, 69, "CT"),
    (70, 89, "NJ"),
    (90, 99, "AE"),
    (100, 149, "NY"),
    (150, 196, "PA"),
    (197, 199, "DE"),
    (200, 200, "DC"),
    (201, 201, "VA"),
    (202, 205, "DC"),
    (206, 219, "MD"),
    (220, 246, "VA"),
    (247, 268, "WV"),
    (270, 289, "NC"),
    (290, 299, "SC"),
    (300, 319, "GA"),
    (320, 339, "FL"),
    (340, 340, "AA"),
    (341, 349, "FL"),
    (350, 369, "AL"),
    (370, 385, "TN"),
    (386, 397, "MS"),
    (398, 399, "GA"),
    (400, 427, "KY"),
    (430, 459, "OH"),
    (460, 479, "IN"),
    (480, 499, "MI"),
    (500, 528, "IA"),
    (530, 549, "WI"),
    (550, 567, "MN"),
    (569, 569, "DC"),
    (570, 577, "SD"),
    (580, 588, "ND"),
    (590, 599, "MT"),
    (600, 629, "IL"),
    (630, 658, "MO"),
    (660, 679, "KS"),
    (680, 693, "NE"),
    (700, 714, "LA"),
    (716, 729, "AR"),
    (730, 732, "OK"),
    (733, 733, "TX"),
    (734, 749, "OK"),
    (750, 799, "TX"),
    (800, 816, "CO"),
    (820, 831, "WY"),
    (832, 838, "ID"),
    (840, 847, "UT"),
    (850, 865, "AZ"),
    (870, 884, "NM"),
    (885, 885, "TX"),
    (889, 898, "NV"),
    (900, 961, "CA"),
    (962, 966, "AP"),
    (967, 968, "HI"),
    (969, 969, "GU"),
    (970, 979, "OR"),
    (980, 994, "WA"),
    (995, 999, "AK"),
)
_ZIP3_STATE = {n: state for low, high, state in _ZIP3_RANGES for n in range(low, high + 1)}

# Cities, boroughs and neighbourhoods that listings use instead of (or as) the city: enough
# to place a listing without ZIP or state. A name shared by several states is left out.
CITY_STATES = {
    "new york": "NY",
    "new york city": "NY",
    "nyc": "NY",
    "manhattan": "NY",
    "brooklyn": "NY",
    "queens": "NY",
    "bronx": "NY",
    "the bronx": "NY",
    "staten island": "NY",
    "harlem": "NY",
    "long island city": "NY",
    "flushing": "NY",
    "astoria": "NY",
    "greenwich village": "NY",
    "upper east side": "NY",
    "upper west side": "NY",
    "lower east side": "NY",
    "tribeca": "NY",
    "soho": "NY",
    "noho": "NY",
    "nolita": "NY",
    "los angeles": "CA",
    "la": "CA",
    "hollywood": "CA",
    "west hollywood": "CA",
    "beverly hills": "CA",
    "santa monica": "CA",
    "venice": "CA",
    "studio city": "CA",
    "sherman oaks": "CA",
    "encino": "CA",
    "van nuys": "CA",
    "north hollywood": "CA",
    "pasadena": "CA",
    "burbank": "CA",
    "glendale": "CA",
    "culver city": "CA",
    "malibu": "CA",
    "long beach": "CA",
    "westwood": "CA",
    "brentwood": "CA",
    "bel air": "CA",
    "silver lake": "CA",
    "los feliz": "CA",
    "echo park": "CA",
    "downtown los angeles": "CA",
    "century city": "CA",
    "pacific palisades": "CA",
    "toluca lake": "CA",
    "marina del rey": "CA",
    "redondo beach": "CA",
    "manhattan beach": "CA",
    "hermosa beach": "CA",
    "san francisco": "CA",
    "sf": "CA",
    "oakland": "CA",
    "san jose": "CA",
    "san diego": "CA",
    "sacramento": "CA",
    "chicago": "IL",
    "evanston": "IL",
    "oak park": "IL",
    "houston": "TX",
    "dallas": "TX",
    "austin": "TX",
    "san antonio": "TX",
    "fort worth": "TX",
    "el paso": "TX",
    "phoenix": "AZ",
    "scottsdale": "AZ",
    "tempe": "AZ",
    "tucson": "AZ",
    "philadelphia": "PA",
    "pittsburgh": "PA",
    "seattle": "WA",
    "bellevue": "WA",
    "tacoma": "WA",
    "denver": "CO",
    "boulder": "CO",
    "boston": "MA",
    "cambridge": "MA",
    "atlanta": "GA",
    "buckhead": "GA",
    "decatur": "GA",
    "marietta": "GA",
    "miami": "FL",
    "miami beach": "FL",
    "coral gables": "FL",
    "coconut grove": "FL",
    "fort lauderdale": "FL",
    "orlando": "FL",
    "tampa": "FL",
    "jacksonville": "FL",
    "las vegas": "NV",
    "henderson": "NV",
    "north las vegas": "NV",
    "reno": "NV",
    "detroit": "MI",
    "minneapolis": "MN",
    "saint paul": "MN",
    "new orleans": "LA",
    "nashville": "TN",
    "memphis": "TN",
    "baltimore": "MD",
    "washington dc": "DC",
    "district of columbia": "DC",
    "honolulu": "HI",
    "salt lake city": "UT",
    "albuquerque": "NM",
    "oklahoma city": "OK",
    "indianapolis": "IN",
    "columbus": "OH",
    "cleveland": "OH",
    "cincinnati": "OH",
    "milwaukee": "WI",
    "charlotte": "NC",
    "raleigh": "NC",
    "louisville": "KY",
    "omaha": "NE",
    "saint louis": "MO",
    "st louis": "MO",
    "anchorage": "AK",
    "boise": "ID",
    "providence": "RI",
    "hartford": "CT",
    "newark": "NJ",
    "jersey city": "NJ",
    "hoboken": "NJ",
    "buffalo": "NY",
}


# A ZIP (or ZIP+4) as written, a ZIP that lost its leading zero in a spreadsheet ("2134"), or one a spreadsheet
# read as a number ("15219.0"); nothing else, so "9890A", "123456" and other countries' codes are no ZIP.
_US_ZIP = re.compile(r"^(?:(\d{5})(?:[-\s]?\d{4})?|(\d{4,5})(?:\.0+)?)$", re.ASCII)


def us_zip(zip_code: str | None) -> str | None:
    """The five-digit US ZIP of a postal code as sources write it, or None when it is not one.

    Read: "15219", ZIP+4 ("15219-1234", "15219 1234", "152191234"), a ZIP that lost its leading zero in a
    spreadsheet ("2134") or became a number there ("15219.0", "2134.0"). Not read: letters ("9890A"), any other count
    of digits, such as Singapore's six ("238801", whose first three digits would otherwise place it in Virginia), or a
    Canadian or British code; those say nothing about a US state."""
    written = _US_ZIP.match(zip_code.strip()) if zip_code else None
    if written is None:
        return None
    return (written.group(1) or written.group(2)).zfill(5)


def zip_state(zip_code: str | None) -> str | None:
    digits = us_zip(zip_code)
    return _ZIP3_STATE.get(int(digits[:3])) if digits else None


def state_code(state: str | None) -> str | None:
    if not state:
        return None
    text = state.strip()
    if len(text) == 2 and text.upper() in STATE_CODES:
        return text.upper()
    return STATE_NAMES.get(_WORDS.sub(" ", text.lower().replace(".", " ")).strip().replace("  ", " "))


# Abbreviated words of city names ("W. Hollywood", "Ft. Lauderdale", "St. Louis"), as the dedupe normalizer reads them.
_CITY_WORDS = {"w": "west", "e": "east", "n": "north", "s": "south", "ft": "fort", "st": "saint", "mt": "mount"}


# The abbreviations of state names that newspapers and guides write after a city ("Berkeley, Calif.",
# "Miami, Fla."), read as `state_code` reads a name (lower case, periods as spaces).
_STYLE_STATES = {
    "ala": "AL", "ariz": "AZ", "ark": "AR", "calif": "CA", "cal": "CA", "colo": "CO", "conn": "CT",
    "del": "DE", "d c": "DC", "fla": "FL", "ill": "IL", "ind": "IN", "kan": "KS", "kans": "KS",
    "mass": "MA", "mich": "MI", "minn": "MN", "miss": "MS", "mont": "MT", "neb": "NE", "nebr": "NE",
    "nev": "NV", "n h": "NH", "n j": "NJ", "n m": "NM", "n y": "NY", "n c": "NC", "n d": "ND",
    "okla": "OK", "ore": "OR", "penn": "PA", "r i": "RI", "s c": "SC", "s d": "SD", "tenn": "TN",
    "tex": "TX", "wash": "WA", "w va": "WV", "wis": "WI", "wisc": "WI", "wyo": "WY",
}  # fmt: skip
_GLUED_ZIP = re.compile(r"[\s,]+\d{5}(?:-\d{4})?$")
_GLUED_CODE = re.compile(r"^(.*[^\s,])\s+([A-Z]{2})$")


@lru_cache(maxsize=4096)
def split_city_state(city: str) -> tuple[str, str | None]:
    """A city field that carries its state, and a ZIP after it, as guides and forms write it: ("New York", "NY")
    for "New York, NY", "New York NY 10022", "New York, New York" or "New York, N.Y."; ("Berkeley", "CA") for
    "Berkeley, Calif.". After a comma the state may be a code, a name or a newspaper's abbreviation; without one,
    only a two-letter code in capitals ("Los Angeles CA"), so that a city's own last word ("Marina del Rey", "La
    Grange") is never taken for a state. A field without a state is returned as it is, with no state."""
    text = city.strip()
    bare = _GLUED_ZIP.sub("", text).strip()
    if "," in bare:
        head, _, tail = bare.rpartition(",")
        tail_words = " ".join(_WORDS.sub(" ", tail.lower().replace(".", " ")).split())
        code = state_code(tail.replace(".", "").strip()) or _STYLE_STATES.get(tail_words)  # "Ga.", "N.Y."
        if code and head.strip(" ,"):
            return head.strip(" ,"), code
        return text, None
    match = _GLUED_CODE.match(bare)
    if match and match.group(2) in STATE_CODES:
        return match.group(1), match.group(2)
    return text, None


def city_state(city: str | None) -> str | None:
    if not city:
        return None
    text = " ".join(_WORDS.sub(" ", city.lower().replace(".", "")).split())
    found = CITY_STATES.get(text) or CITY_STATES.get(text.removesuffix(" city"))
    if found:
        return found
    if "," in city or city.rstrip()[-2:].isupper() or city.rstrip()[-1:].isdigit():
        code = split_city_state(city)[1]
        if code:
            return code
    if " " not in text:
        return None
    text = " ".join(_CITY_WORDS.get(w, w) for w in text.split())
    return CITY_STATES.get(text) or CITY_STATES.get(text.removesuffix(" city"))


@lru_cache(maxsize=2048)
def _area_code_state(area_code: str) -> str | None:
    """The state an NANP area code serves, from phonenumbers' geocoding data ("Chicago, IL", "California")."""
    import phonenumbers
    from phonenumbers import geocoder

    try:
        number = phonenumbers.parse(f"+1{area_code}5550123")
    except phonenumbers.NumberParseException:
        return None
    region = phonenumbers.region_code_for_number(number)
    if region != "US":
        return {"PR": "PR", "VI": "VI", "GU": "GU"}.get(region or "")
    text = geocoder.description_for_number(number, "en")
    if not text:
        return None
    tail = text.rsplit(",", 1)[-1].strip()
    if len(tail) == 2 and tail in STATE_CODES:
        return tail
    return state_code(text.replace("D.C.", "DC"))


@lru_cache(maxsize=4096)
def _exchange_place(number: str) -> tuple[str, str] | None:
    """The city and state of a ten-digit NANP number's exchange, where `phonenumbers`' geocoding data names one."""
    import phonenumbers
    from phonenumbers import geocoder

    try:
        parsed = phonenumbers.parse(f"+1{number}")
    except phonenumbers.NumberParseException:
        return None
    city, state = split_city_state(geocoder.description_for_number(parsed, "en") or "")
    return (city, state) if city and state else None


def phone_place(phone: str | None) -> tuple[str, str] | None:
    """The city and state a number's exchange is in, when `phonenumbers`' data names a city for the exchange or for
    its whole area code ("Springfield", "MO" for 417-831-…; "Chicago", "IL" for 312-…); None where it names only a
    state or a region (417-555-…: "Missouri"; 917-…, a cell's: "New York")."""
    digits = _DIGITS.sub("", phone or "")
    if len(digits) == 11 and digits.startswith("1"):
        digits = digits[1:]
    if len(digits) != 10 or digits[0] in "01":
        return None
    return _exchange_place(digits)


def phone_state(phone: str | None) -> str | None:
    digits = _DIGITS.sub("", phone or "")
    if len(digits) == 11 and digits.startswith("1"):
        digits = digits[1:]
    if len(digits) != 10 or digits[0] in "01":
        return None
    return _area_code_state(digits[:3])


def dedupe_key(
    zip_code: str | None = None, state: str | None = None, phone: str | None = None, city: str | None = None
) -> str:
    """The partition key: the US state most of the listing's ZIP, state, city and phone name; else ``"unknown"``.

    Each field that names a state casts one vote, and a tie goes to the first in that order, so a listing whose
    fields agree (nearly all) is keyed as by its ZIP alone. The vote is for one field that is wrong: a mistyped
    ZIP ("14233" for 15233, a New York prefix, beside "Pittsburgh, PA") or a neighbouring state's ZIP under the
    right state and phone no longer sends a listing to another partition than its twins.
    """
    first = zip_state(zip_code)
    second = state_code(state)
    if first is not None and first == second:  # two votes: the others can at most tie, and a tie keeps the ZIP's
        return first
    votes = [vote for vote in (first, second, city_state(city), phone_state(phone)) if vote is not None]
    if not votes:
        return "unknown"
    # At most four votes: a plain count beats a Counter here. Strictly more votes to win, so a tie keeps the earlier.
    winner, most = votes[0], votes.count(votes[0])
    for vote in votes[1:]:
        if (count := votes.count(vote)) > most:
            winner, most = vote, count
    return winner


def geo_key(zip_code: str | None, state: str | None = None, phone: str | None = None, city: str | None = None) -> str:
    """The Kafka key of the stateful stages' inputs (dedupe, score): the dedupe partition key (see `dedupe_key`).

    The other topics are keyed by lead id (`streams.topology.message_key`)."""
    return dedupe_key(zip_code, state, phone, city)
