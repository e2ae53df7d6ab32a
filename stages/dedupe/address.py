"""US street-address standardization on top of usaddress.

Two spellings of one address must give the same parts: "435 S. La Cienega Blv."
and "435 South La Cienega Boulevard" both become number ``435``, street
``la cienega``, type ``blvd``, directional ``s``. usaddress labels the tokens
(a CRF parser); this module only canonicalizes the labelled words. When
usaddress cannot label an address (it raises on repeated labels), a simple
"number then words" reading is used instead so a lead is never dropped.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
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
NAME_WORDS = {"mt": "mount", "ft": "fort", "st": "saint", "mlk": "martin luther king"}
_PUNCT = re.compile(r"[^\w#\s-]")
_SPACES = re.compile(r"\s+")
_NUMBER = re.compile(r"^(\d+)([a-z]?)$")


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
    out = []
    for word in " ".join(words).replace("-", " ").split():
        word = word.strip(".")
        if not word:
            continue
        if word in ORDINAL_WORDS:
            word = ORDINAL_WORDS[word]
        elif word.isdigit():
            word = _ordinal(word)
        elif word in NAME_WORDS:
            word = NAME_WORDS[word]
        out.append(word)
    return " ".join(out)


def _unit(text: str) -> str:
    return re.sub(r"[^a-z0-9]", "", text.lower().replace("suite", "").replace("ste", "").replace("unit", ""))


def _clean(text: str) -> str:
    return _SPACES.sub(" ", _PUNCT.sub(" ", text.lower().replace(".", " "))).strip()


def _from_tags(tags: dict[str, str]) -> Address:
    number = tags.get("AddressNumber", "").lower().replace(" ", "")
    street_words = _clean(tags.get("StreetName", "")).split()
    street_type = _clean(tags.get("StreetNamePostType", "") or tags.get("StreetNamePreType", ""))
    street_type = STREET_TYPES.get(street_type.replace(" ", ""), street_type)
    if not street_words and street_type:  # "100 Broadway Ave" tagged oddly: keep the word
        street_words, street_type = [street_type], ""
    unit = _unit(tags.get("OccupancyIdentifier", "") or tags.get("SubaddressIdentifier", ""))
    predir = DIRECTIONS.get(_clean(tags.get("StreetNamePreDirectional", "")).replace(" ", ""), "")
    postdir = DIRECTIONS.get(_clean(tags.get("StreetNamePostDirectional", "")).replace(" ", ""), "")
    return Address(number, predir, _street_name(street_words), street_type, postdir, unit)


def _fallback(text: str) -> Address:
    """Number, optional directional, words, optional type and unit: no parser needed."""
    unit = ""
    match = re.search(r"(?:#|\b(?:suite|ste|unit|apt|rm|room)\b)\s*([a-z0-9-]+)\s*$", text)
    if match:
        unit, text = _unit(match.group(1)), text[: match.start()]
    words = _clean(text).split()
    number = words.pop(0) if words and _NUMBER.match(words[0]) else ""
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
    match = _SIMPLE_UNIT.search(lowered)
    unit = match.group(1) or "" if match else ""
    body = lowered[: match.start()] if match else lowered
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


@lru_cache(maxsize=200_000)
def parse_address(street: str | None) -> Address:
    """Standardize one street line; an empty or unreadable line gives an unknown Address."""
    if not street or not street.strip():
        return Address()
    text = street.strip()
    simple = _simple(text)
    if simple is not None:
        return simple
    return parse_with_usaddress(text)


def parse_with_usaddress(text: str) -> Address:
    """The full parser: usaddress labels the tokens, `_from_tags` canonicalizes them."""
    try:
        tags, kind = usaddress.tag(text)
    except usaddress.RepeatedLabelError:
        return _fallback(text.lower())
    if kind != "Street Address" or "AddressNumber" not in tags or "StreetName" not in tags:
        return _fallback(text.lower())
    return _from_tags(tags)
