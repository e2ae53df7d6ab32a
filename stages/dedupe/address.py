"""US street-address standardization on top of usaddress.

Two spellings of one address must give the same parts: "435 S. La Cienega Blv."
and "435 South La Cienega Boulevard" both become number ``435``, street
``lacienega``, type ``blvd``, directional ``s``. usaddress labels the tokens
(a CRF parser); this module only canonicalizes the labelled words. When
usaddress cannot label an address (it raises on repeated labels), a simple
"number then words" reading is used instead so a lead is never dropped.

Forms that real listings mix, and what they become:

- cross-street and location notes are dropped: "12 W. 34th St. between 5th and
  6th Ave." and "12 W 34th St (at Fifth Ave)" are "12 W 34th St";
- spelled ordinals become numerals, compounds too ("Ninth", "Twenty-First");
- a suite letter glued to the number is the unit: "410-C Main St." and
  "410C Main" are number 410, unit c; a lone letter ("C Main St.") is a unit
  without a number (a partial address: it can agree, never conflict);
- street names are compared without spaces: "Lakeshore" == "Lake Shore".
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from functools import lru_cache

import usaddress

STREET_TYPES = {
    "street": "st",
    "st": "st",
    "str": "st",
    "avenue": "ave",
    "ave": "ave",
    "av": "ave",
    "aven": "ave",
    "boulevard": "blvd",
    "blvd": "blvd",
    "blv": "blvd",
    "boul": "blvd",
    "road": "rd",
    "rd": "rd",
    "drive": "dr",
    "dr": "dr",
    "drv": "dr",
    "lane": "ln",
    "ln": "ln",
    "court": "ct",
    "ct": "ct",
    "place": "pl",
    "pl": "pl",
    "parkway": "pkwy",
    "pkwy": "pkwy",
    "pky": "pkwy",
    "highway": "hwy",
    "hwy": "hwy",
    "circle": "cir",
    "cir": "cir",
    "terrace": "ter",
    "ter": "ter",
    "way": "way",
    "square": "sq",
    "sq": "sq",
    "trail": "trl",
    "trl": "trl",
    "plaza": "plz",
    "plz": "plz",
    "center": "ctr",
    "centre": "ctr",  # USPS lists "centre" among the suffix's spellings ("Centre Ave" == "Center Ave")
    "ctr": "ctr",
    "alley": "aly",
    "expressway": "expy",
    "expy": "expy",
    "freeway": "fwy",
    "fwy": "fwy",
    "pike": "pike",
    "turnpike": "tpke",
    "row": "row",
    "loop": "loop",
}
DIRECTIONS = {
    "n": "n",
    "north": "n",
    "s": "s",
    "south": "s",
    "e": "e",
    "east": "e",
    "w": "w",
    "west": "w",
    "ne": "ne",
    "northeast": "ne",
    "nw": "nw",
    "northwest": "nw",
    "se": "se",
    "southeast": "se",
    "sw": "sw",
    "southwest": "sw",
}
ORDINAL_WORDS = {
    "first": "1st",
    "second": "2nd",
    "third": "3rd",
    "fourth": "4th",
    "fifth": "5th",
    "sixth": "6th",
    "seventh": "7th",
    "eighth": "8th",
    "ninth": "9th",
    "tenth": "10th",
    "eleventh": "11th",
    "twelfth": "12th",
    "thirteenth": "13th",
    "fourteenth": "14th",
    "fifteenth": "15th",
    "sixteenth": "16th",
    "seventeenth": "17th",
    "eighteenth": "18th",
    "nineteenth": "19th",
    "twentieth": "20th",
}
_TENS = {"twenty": 20, "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60, "seventy": 70, "eighty": 80, "ninety": 90}
_UNITS = {
    "first": 1,
    "second": 2,
    "third": 3,
    "fourth": 4,
    "fifth": 5,
    "sixth": 6,
    "seventh": 7,
    "eighth": 8,
    "ninth": 9,
}
# Where a cross-street or location note starts ("between 5th and 6th", "at Main", "near the mall", "(...)").
_NOTE = re.compile(
    r"\s*(?:\(.*$|\b(?:between|betw|btwn|btw|bet|b/t|near|nr|off|at|across from|corner of|cor|inside|in the|"
    r"opposite|opp)\b.*$|\s(?:&|and)\s.*$)"
)
_SLASH_NOTE = re.compile(r"(?<=[a-z.])\s*/\s*(?=[a-z0-9]).*$")  # "12 W. 34th St. / Fifth Ave."; not "1/2"
_NUMBER_LETTER = re.compile(r"^\s*(\d+)(?:\s*-\s*)?([a-z])\b")
_LONE_LETTER = re.compile(r"^\s*([a-dfg-mo-rt-vx-z])\.?\s+(?=[a-z0-9])")
# A suite letter written apart from the number ("410 C Main St."); not a street named by a letter ("100 A St").
_SPACED_LETTER = re.compile(r"^\s*(\d+)\s+([a-dfg-mo-rt-vx-z])\.?\s+(?=([a-z]+))")
# A house number spelled out ("One Market Plaza", "Two Penn Plaza"); "Eight Mile Rd" is a street's name.
_SPELLED_NUMBER = re.compile(r"^\s*(one|two|three|four|five|six|seven|eight|nine|ten)\s+(?!mile\b|hundred)(?=[a-z])")
_CARDINALS = {
    w: str(i) for i, w in enumerate(["one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten"], 1)
}
# What may follow a street line's comma and still be part of it: a unit, a floor, a building, a directional.
_UNIT_TAIL = re.compile(
    r"^\s*(?:#|\d|(?:suite|ste|unit|apt|rm|room|fl|floor|flr|bldg|building|level|lvl|lobby|box|pier|"
    r"n|s|e|w|ne|nw|se|sw|north|south|east|west)\b)"
)
NAME_WORDS = {"mt": "mount", "ft": "fort", "st": "saint", "mlk": "martin luther king"}
_PUNCT = re.compile(r"[^\w#\s-]")
_SPACES = re.compile(r"\s+")
_NUMBER = re.compile(r"^(\d+)([a-z]?)$")
_MISSUFFIXED = re.compile(r"^\d+(?:st|nd|rd|th)$")


@dataclass(frozen=True, slots=True)
class Address:
    """Standardized street line. Empty strings mean "not known"."""

    number: str = ""
    predir: str = ""
    street: str = ""
    street_type: str = ""
    postdir: str = ""
    unit: str = ""

    @property
    def known(self) -> bool:
        return bool(self.number and self.street)

    @property
    def line(self) -> str:
        parts = (self.number, self.predir, self.street, self.street_type, self.postdir)
        text = " ".join(p for p in parts if p)
        return f"{text} #{self.unit}" if self.unit else text


def _ordinal(number: str) -> str:
    value = int(number)
    suffix = "th" if 10 <= value % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(value % 10, "th")
    return f"{value}{suffix}"


def _street_name(words: list[str]) -> str:
    """Canonical street name, spaces removed ("Lake Shore" == "Lakeshore")."""
    out: list[str] = []
    hundreds = 0  # "One Hundred Sixteenth" → 116th
    for word in " ".join(words).replace("-", " ").split():
        word = word.strip(".")
        if not word:
            continue
        if word in ("hundred", "hundredth") and out and out[-1] in _CARDINALS:
            hundreds = int(_CARDINALS[out.pop()]) * 100
            if word == "hundredth":
                out.append(_ordinal(str(hundreds)))
                hundreds = 0
            continue
        if hundreds and word == "and":
            continue
        if word in _UNITS and out and out[-1] in _TENS:  # "twenty first" → 21st
            out[-1] = _ordinal(str(_TENS[out[-1]] + _UNITS[word] + hundreds))
            hundreds = 0
            continue
        if hundreds and word in ORDINAL_WORDS:
            word = _ordinal(str(int(ORDINAL_WORDS[word][:-2]) + hundreds))
            hundreds = 0
        if word in ORDINAL_WORDS:
            word = ORDINAL_WORDS[word]
        elif word.isdigit():
            word = _ordinal(word)
        elif _MISSUFFIXED.match(word):  # "93th", "2th": a numbered street with the wrong suffix
            word = _ordinal(word[:-2])
        elif word in NAME_WORDS:
            word = NAME_WORDS[word]
        elif word in STREET_TYPES:  # a type word inside the name: "Lincoln Center Plaza" == "Lincoln Ctr Plz"
            word = STREET_TYPES[word]
        elif word == "bldg":
            word = "building"
        out.append(word)
    return "".join(out)


def _unit(text: str) -> str:
    return re.sub(r"[^a-z0-9]", "", text.lower().replace("suite", "").replace("ste", "").replace("unit", ""))


def _clean(text: str) -> str:
    return _SPACES.sub(" ", _PUNCT.sub(" ", text.lower().replace(".", " "))).strip()


# A hyphenated house number "A-BB" (A of 1-3 digits, BB of two) is a Queens-style number, the cross street's
# number and the house's ("61-03", "25-31 Steinway St", "136-20 38th Ave"), written with and without its
# hyphen ("61-03" == "6103"), unless BB is the next lot or the one after on the same side of the street: BB is
# A's last two digits plus 2 or 4 ("12-14 Main St", "516-18 E. 43rd St": a range, read as its first number).
# A zero-padded BB is always Queens ("37-02"); a longer A or BB is a range ("100-110", "7954-58").
_QUEENS_NUMBER = re.compile(r"(\d{1,3})-(\d{2})")


def house_number(raw: str) -> str:
    """The house number of a labelled number token: a Queens-style number joined, a range's first number."""
    queens = _QUEENS_NUMBER.fullmatch(raw)
    if queens and (queens.group(2).startswith("0") or int(queens.group(2)) - int(queens.group(1)) % 100 not in (2, 4)):
        return queens.group(1) + queens.group(2)  # "61-03 Springfield Blvd" (Queens) is house 6103
    digits = re.match(r"\d+", raw)
    return digits.group(0) if digits else ""  # "410-412" → 410


def _from_tags(tags: dict[str, str]) -> Address:
    number = house_number(tags.get("AddressNumber", "").strip())
    street_words = _clean(tags.get("StreetName", "")).split()
    if not number and tags.get("AddressNumber"):
        # a line without a number whose first word usaddress took for one ("Margaret Morrison St"): the street's
        street_words = _clean(tags["AddressNumber"]).split() + street_words
    street_type = _clean(tags.get("StreetNamePostType", "") or tags.get("StreetNamePreType", ""))
    street_type = STREET_TYPES.get(street_type.replace(" ", ""), street_type)
    if not street_words and street_type:  # "100 Broadway Ave" tagged oddly: keep the word
        street_words, street_type = [street_type], ""
    unit = _unit(tags.get("OccupancyIdentifier", "") or tags.get("SubaddressIdentifier", ""))
    predir = DIRECTIONS.get(_clean(tags.get("StreetNamePreDirectional", "")).replace(" ", ""), "")
    postdir = DIRECTIONS.get(_clean(tags.get("StreetNamePostDirectional", "")).replace(" ", ""), "")
    pre_type = _clean(tags.get("StreetNamePreType", ""))
    if pre_type and number and len(street_words) == 1:  # "1345 US Highway 93 N Stop 6": a highway, more after it
        highway = _highway(f"{number} {pre_type} {street_words[0]}")
        if highway is not None:
            return Address(number, predir, highway.street, "hwy", postdir, unit)
    return Address(number, predir, _street_name(street_words), street_type, postdir, unit)


def _fallback(text: str) -> Address:
    """Number, optional directional, words, optional type and unit: no parser needed."""
    unit = ""
    match = re.search(r"(?:#|\b(?:suite|ste|unit|apt|rm|room)\b)\s*([a-z0-9-]+)\s*$", text)
    if match:
        unit, text = _unit(match.group(1)), text[: match.start()]
    words = _clean(text).split()
    first = _NUMBER.match(words[0]) if words else None
    number = first.group(1) if first else ""
    if first:
        words.pop(0)
    predir = DIRECTIONS.get(words.pop(0), "") if len(words) > 1 and words[0] in DIRECTIONS else ""
    street_type = STREET_TYPES[words.pop()] if len(words) > 1 and words[-1] in STREET_TYPES else ""
    return Address(number, predir, _street_name(words), street_type, "", unit)


_UNIT_WORDS = frozenset(
    {"suite", "ste", "unit", "apt", "rm", "room", "fl", "floor", "bldg", "building", "po", "box", "pier"}
)
_SIMPLE_UNIT = re.compile(r"(?:,?\s*(?:#\s*|\b(?:suite|ste|unit)\.?\s+#?)([a-z0-9]+))?\s*$")


def _simple(text: str) -> Address | None:
    """Fast path for the plain shape "123 [N] Words Type [Ste 4]", which usaddress labels the same way.

    Anything else (no type word, type or direction words inside the name, PO boxes,
    highways, ranges) returns None and goes to usaddress. tests/dedupe checks that the
    two agree on the evaluation addresses.
    """
    lowered = text.lower()
    if "#" in lowered or "ste" in lowered or "suite" in lowered or "unit" in lowered:
        match = _SIMPLE_UNIT.search(lowered)
        unit = match.group(1) or "" if match else ""
        body = lowered[: match.start()] if match else lowered
    else:  # no unit to read: `_SIMPLE_UNIT` would match only the trailing whitespace
        unit, body = "", lowered.rstrip()
    words = body.replace(".", " ").replace(",", " ").split()
    if len(words) < 3 or not words[0].isdigit() or words[-1] not in STREET_TYPES:
        return None
    predir = ""
    if words[1] in DIRECTIONS and len(words) > 3:
        predir = DIRECTIONS[words[1]]
        middle = words[2:-1]
    else:
        middle = words[1:-1]
    for word in middle:
        if (
            word in STREET_TYPES
            or word in DIRECTIONS
            or word in _UNIT_WORDS
            or word in ORDINAL_WORDS
            or word in NAME_WORDS
            or not word.isalpha()
        ) and not _ORDINAL.match(word):
            return None
    return Address(words[0], predir, _street_name(middle), STREET_TYPES[words[-1]], "", unit)


_ORDINAL = re.compile(r"^\d+(st|nd|rd|th)$")
_GLUED_DIRECTION = re.compile(r"(?<=\d )([nsew]|n[ew]|s[ew])\.(?=[a-z]{3})")


# Numbered highways, written many ways by listing sources: "US Hwy 1", "U.S. Route 1", "Highway 1",
# "US-1", "NC 42", "N Carolina 42", "State Route 42", "SR-42", "M-115", "TX-1604-Loop", "Loop 1604".
# US, state and plain highway/route designations of one number are one road here (within a state, two
# different roads with one number and one house number are rare; sources swap the designations freely).
# Interstates, county roads and farm/ranch roads keep their own system: "County Road 12" is not "Route 12".
_STATES = (
    "alabama|alaska|arizona|arkansas|california|colorado|connecticut|delaware|florida|georgia|hawaii|idaho|"
    "illinois|indiana|iowa|kansas|kentucky|louisiana|maine|maryland|massachusetts|michigan|minnesota|"
    "mississippi|missouri|montana|nebraska|nevada|new hampshire|new jersey|new mexico|new york|"
    "(?:north|n) carolina|(?:north|n) dakota|ohio|oklahoma|oregon|pennsylvania|rhode island|"
    "(?:south|s) carolina|(?:south|s) dakota|tennessee|texas|utah|vermont|virginia|washington|"
    "(?:west|w) virginia|wisconsin|wyoming"
)
_STATE_CODES = (
    "al|ak|az|ar|ca|co|ct|de|fl|ga|hi|id|il|in|ia|ks|ky|la|md|ma|mi|mn|ms|mo|mt|nv|nh|nj|nm|ny|nc|nd|oh|ok|"
    "or|pa|ri|sc|sd|tn|tx|ut|vt|va|wa|wv|wi|wy"
)
_ROUTE_WORD = r"(?:highway|hwy|route|rte|rt)"
_HIGHWAY = re.compile(
    r"^(?P<number>\d+)\s+(?:(?P<predir>n|s|e|w|ne|nw|se|sw|north|south|east|west)\s+)?(?:historic\s+|old\s+)?"
    r"(?:(?P<i>interstate|i)|(?P<cr>county\s+(?:road|rd|route|rte|highway|hwy)|co\s+(?:road|rd)|cr)"
    r"|(?P<fm>fm|farm\s+to\s+market(?:\s+road|\s+rd)?|rm|ranch\s+to\s+market(?:\s+road|\s+rd)?|rr|ranch\s+road)"
    rf"|(?:u\s?s|united\s+states|state|{_STATES}|{_STATE_CODES}|sr|sh|[mk](?=-))(?:\s+{_ROUTE_WORD})?"
    rf"|{_ROUTE_WORD}|loop|spur)"
    r"[\s-]*(?P<route>\d{1,4}[a-z]?)(?:[\s-]+(?:business|bus|br|byp|bypass|alt|spur|loop|hwy|highway|frontage))*"
    r"(?:\s+(?P<postdir>n|s|e|w|north|south|east|west))?"
    r"(?:\s*,?\s*(?:#|ste|suite|unit)\s*(?P<unit>[a-z0-9-]+))?\s*$"
)
_TWO_NUMBERS = re.compile(r"\d\D+\d")
# A highway written with its own name and its route number ("1568 Simpson US 49", "Jefferson Davis Hwy 1",
# "Veterans Memorial Highway 12"): one road, which other listings write by its name alone ("1568 Simpson Hwy").
# Only where `_highway` did not read a route system (US, state, county, interstate: "100 State Route 7").
_NAMED_HIGHWAY = re.compile(
    r"^(?P<number>\d+[a-z]?)\s+(?:(?P<predir>n|s|e|w|north|south|east|west)\.?\s+)?(?P<name>[a-z][a-z' .-]*?)\s+"
    r"(?:u\.?\s?s\.?(?:\s+(?:hwy|highway|route|rte))?|hwy|highway|route|rte|rt)\.?\s+\d+\s*$"
)


def _highway(text: str) -> Address | None:
    """A numbered highway ("4084 NC 42 Hwy W" == "4084 N Carolina 42"), or None for any other line."""
    match = _HIGHWAY.match(_SPACES.sub(" ", text.replace(".", "").replace(",", " ,")).replace(" ,", ","))
    if match is None:
        return None
    system = "i" if match["i"] else "cr" if match["cr"] else "fm" if match["fm"] else "hwy"
    return Address(
        match["number"],
        DIRECTIONS.get(match["predir"] or "", ""),
        system + match["route"],
        "hwy",
        DIRECTIONS.get(match["postdir"] or "", ""),
        _unit(match["unit"] or ""),
    )


# Round 13: street words that guides shorten their own way. "Bway", "B'way", "Bdwy" are Broadway; "So." is a
# directional (South) after a street's name ("Central Park So.", "Park Ave So.") or right after the number.
_BROADWAY = re.compile(r"\b(?:b'?way|bdwy|bdway|brdwy|brdway|broadwy)\b\.?")
_SO_TAIL = re.compile(r"(?<=[a-z.])\s+so\b\.?(?=\s*(?:$|,|#|\b(?:suite|ste|unit|fl|floor)\b))")
_SO_HEAD = re.compile(r"^(\d+)\s+so\b\.?\s+(?=[a-z0-9])")
# A numbered pier is the place's street line ("Pier 39", "2 Pier 39", "Pier 39, Space A-5"): the pier's number
# is the house number, a suite or space after it the unit. A number in front (a building on the pier) is left
# out, as most listings of the pier's tenants leave it out; a street line after the pier ("Pier 17, 89 South
# St") is the address instead.
_PIER = re.compile(
    r"^(?:\d+[a-z]?\s+)?pier\s+(?P<pier>\d+[a-z]?)\b[\s,]*"
    r"(?:(?:#|space|spc|ste|suite|unit|shop)\s*(?P<unit>[a-z0-9-]+))?"
)
_STREET_AFTER = re.compile(r"\d+[a-z]?\s+[a-z]")


def _shorthand(text: str) -> str:
    """Broadway and South as guides shorten them ("1619 B'way", "40 Central Park So.")."""
    if "way" in text or "dw" in text:
        text = _BROADWAY.sub("broadway", text)
    if " so" in text:
        text = _SO_HEAD.sub(r"\1 south ", _SO_TAIL.sub(" south", text))
    return text


def _pier(text: str) -> Address | None:
    match = _PIER.match(text)
    if match is None:
        return None
    rest = text[match.end() :]
    if _STREET_AFTER.match(rest):
        return parse_address(rest)
    return Address(match["pier"], "", "pier", "", "", _unit(match["unit"] or ""))


@lru_cache(maxsize=200_000)
def parse_address(street: str | None) -> Address:
    """Standardize one street line; an empty or unreadable line gives an unknown Address."""
    if not street or not street.strip():
        return Address()
    # "2710 S.Dearborn": a directional glued to the street name by its period
    text = street.strip().lower()
    if "." in text:
        text = _GLUED_DIRECTION.sub(r"\1. ", text)
    text, unit = _strip_notes(_shorthand(text))
    if not text:
        return Address()
    if "pier" in text:
        pier = _pier(text)
        if pier is not None:
            return pier
    two_numbers = _TWO_NUMBERS.search(text) is not None
    address = _highway(text) if two_numbers else None
    if address is None and two_numbers:
        named = _NAMED_HIGHWAY.match(text)
        if named:  # "1568 Simpson US 49": the highway by its own name, as "1568 Simpson Hwy" writes it
            text = " ".join(x for x in (named["number"], named["predir"], named["name"], "hwy") if x)
    if address is None:
        address = _simple(text)
    if address is None:
        address = parse_with_usaddress(text)
    if unit and not address.unit:
        address = replace(address, unit=unit)
    return address


# A building's name ends a street line too: "1 Ferry Building, Marketplace" is "1 Ferry Building".
_BUILDING_WORDS = frozenset({"building", "bldg", "tower", "mall"})
# A floor after the comma ("107th Floor", "2nd fl.", "Floor 3"): the line's unit, as usaddress reads it after most
# lines, but not after every one ("1 World Trade Center, 107th Floor" was glued into the street's name).
_FLOOR_TAIL = re.compile(
    r"^\s*(?:(\d+(?:st|nd|rd|th)?)\s+(?:floor|fl|flr|level|lvl)|(?:floor|fl|flr|level|lvl)\.?\s+(\d+))\.?\s*$"
)
# The number alone after a comma: the house number of a line written street first (OpenStreetMap's order).
_HOUSE_NUMBER = re.compile(r"^\s*\d+[a-z]?\s*$")


def _cross_street(tail: str) -> bool:
    """What follows a street line's comma is a street of its own, the corner: "1931 E Carson St, 20th St",
    "2506 E Carson St, S 25th St", "820 Amity St, East 9th Ave" (a directional or an ordinal leads it, which
    alone would read as a unit or a directional). "..., 2nd Floor", "..., Suite 5", "..., N" stay."""
    words = tail.replace(".", " ").split()
    return len(words) >= 2 and words[-1] in STREET_TYPES and words[0].strip("#") not in _UNIT_WORDS


def _strip_notes(text: str) -> tuple[str, str]:
    """(street line without notes, a suite letter found at the number).

    Notes: cross streets and locations ("between 5th and 6th", "btw. 5th & 6th", "/ Fifth Ave."), and what
    follows a comma after a whole street line unless it is a unit or a directional ("720 Clairton Blvd, RTE
    51 PLZ": a plaza's name; "100 Main St., Suite 200" keeps its suite)."""
    for note in (_NOTE, _SLASH_NOTE):
        match = note.search(text) if note is _NOTE or "/" in text else None
        if match and len(text[: match.start()].split()) >= 2:
            text = text[: match.start()].rstrip(" ,;-")
    floor = ""
    if "," in text:
        head, _, tail = text.partition(",")
        words = head.replace(".", " ").split()
        ends_line = words[-1] in STREET_TYPES or words[-1] in _BUILDING_WORDS if words else False
        numbered = bool(words) and words[0].isdigit()
        floor_tail = _FLOOR_TAIL.match(tail)
        if len(words) >= 2 and not numbered and words[-1] in STREET_TYPES and _HOUSE_NUMBER.match(tail):
            text = tail.strip() + " " + head  # "Forbes Ave, 332", "27th Street, 15": the street, then its number
        elif len(words) >= 3 and numbered and ends_line and floor_tail:
            text, floor = head, floor_tail.group(1) or floor_tail.group(2)  # "1 World Trade Center, 107th Floor"
        elif len(words) >= (3 if numbered else 2) and ends_line and (_cross_street(tail) or not _UNIT_TAIL.match(tail)):
            text = head  # a line without its number too: "Penn Ave, Main St" is Penn Ave (at Main St)
    spelled = _SPELLED_NUMBER.match(text) if text[:1].isalpha() else None
    if spelled:
        text = _CARDINALS[spelled.group(1)] + " " + text[spelled.end() :]
    unit = ""
    glued = _NUMBER_LETTER.match(text)
    spaced = None if glued else _SPACED_LETTER.match(text)
    if glued:
        unit, text = glued.group(2), glued.group(1) + text[glued.end() :]
    elif spaced and spaced.group(3) not in STREET_TYPES and spaced.group(3) not in DIRECTIONS:
        unit, text = spaced.group(2), spaced.group(1) + " " + text[spaced.end() :]
    else:
        lone = _LONE_LETTER.match(text)
        if lone and len(text.split()) >= 3:
            unit, text = lone.group(1), text[lone.end() :]
    return text.strip(), unit or floor


def parse_with_usaddress(text: str) -> Address:
    """The full parser: usaddress labels the tokens, `_from_tags` canonicalizes them."""
    try:
        tags, kind = usaddress.tag(text)
    except usaddress.RepeatedLabelError:
        return _fallback(text.lower())
    if kind != "Street Address" or "AddressNumber" not in tags or "StreetName" not in tags:
        return _fallback(text.lower())
    return _from_tags(tags)
