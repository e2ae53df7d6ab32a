"""Field normalization: one canonical spelling per business attribute.

Every comparison and blocking key works on these forms, so two sources that
write the same phone, site, mailbox or name differently agree here. Results are
memoized because the same strings recur (a business is found by several
sources, and re-sent on retries).
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

import phonenumbers
import tldextract
from cleanco.clean import custom_basename, normalize_terms, strip_punct
from cleanco.termdata import terms_by_country

from schemas.geo import split_city_state, us_zip
from stages.dedupe.vocabulary import (
    CITY_ALIASES,
    CITY_PARTS,
    DEPARTMENT_WORDS,
    FREE_MAIL_DOMAINS,
    HOSTING_DOMAINS,
    KIND_WORDS,
    LISTING_DOMAINS,
    NAME_STOPWORDS,
    NAME_SYNONYMS,
)

# Bundled public-suffix snapshot only: there is no network, and lookups must not block.
_EXTRACT = tldextract.TLDExtract(suffix_list_urls=(), cache_dir=None, include_psl_private_domains=True)

# US legal forms only: cleanco's full list strips words like "spa" (Italian S.p.A.) from US names.
_LEGAL_TERMS = sorted(
    {
        tuple(t.split())
        for t in normalize_terms(terms_by_country["United States of America"] + ["l.l.c.", "p.c.", "pc", "pa", "p.a."])
    },
    key=lambda parts: (-len(parts), parts),
)
_LEGAL_TERMS = [(len(parts), list(parts)) for parts in _LEGAL_TERMS]
_NON_WORD = re.compile(r"[^a-z0-9 ]+")


# The last word of each legal form: a name whose last word is none of these has none to strip.
_LEGAL_ENDS = frozenset(term[-1] for _, term in _LEGAL_TERMS)
_TAIL = re.compile(r"[^\.\w]+$")  # cleanco's `strip_tail`: trailing symbols but the dot


def _strip_tail(text: str) -> str:
    match = _TAIL.search(text)
    return text[: match.start()] if match else text


def _without_legal_form(text: str) -> str:
    """The name without its trailing legal forms (``_LEGAL_TERMS``): cleanco's ``custom_basename(text, _LEGAL_TERMS,
    suffix=True)``. For ASCII text (most names, once `fold`ed) its caseless Unicode pass, one Python step per
    character and most of a name's normalizing time, is ``str.lower`` (ASCII has no accents, no combining marks and
    none of cleanco's special letters), so the same words are compared without it, and a name whose last word ends no
    legal form is not compared at all; other text goes to cleanco. tests/dedupe checks the two agree."""
    if not text.isascii():
        return custom_basename(text, _LEGAL_TERMS, suffix=True, prefix=False, middle=False)
    if text and not (text[-1].isalnum() or text[-1] in "._"):  # else no trailing symbol to strip (ASCII \w)
        text = _strip_tail(text)
    parts = text.split()
    if not parts or strip_punct(parts[-1].lower()) not in _LEGAL_ENDS:
        return " ".join(parts)  # its last word ends in a letter, a digit or a dot: nothing to strip
    compared = [strip_punct(w.lower()) for w in parts]
    for size, term in _LEGAL_TERMS:
        if compared[-size:] == term:
            del compared[-size:]
            del parts[-size:]
    return _strip_tail(" ".join(parts))


# "Keeper?s": a curly apostrophe lost to a wrong encoding is a possessive too.
_POSSESSIVE = re.compile(r"(\w)(?:['’`]|\?(?=s\b))s\b")
_APOSTROPHE = re.compile(r"['’`]")
_SPACES = re.compile(r"\s+")


def fold(text: str) -> str:
    """Lowercase ASCII: accents removed ("Café" → "cafe")."""
    if text.isascii():  # most names: nothing to decompose (the same result, without a pass per character)
        return text.lower()
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).lower()


_NANP_FORMATTING = str.maketrans("", "", " ()-./+")


@lru_cache(maxsize=200_000)
def normalize_phone(phone: str | None, region: str = "US") -> str | None:
    """E.164 ("+13102461501") or None when the text is not a possible number."""
    if not phone or not phone.strip():
        return None
    digits = phone.translate(_NANP_FORMATTING)
    if (
        region == "US"
        and digits.isdigit()
        and (len(digits) == 10 or (len(digits) == 11 and digits[0] == "1"))
        and (len(digits) == 10 or phone.lstrip()[:1] in "+1(")
    ):
        # Plain NANP digits: what phonenumbers returns for them, without its parse cost (tests check agreement).
        return "+1" + digits[-10:]
    try:
        parsed = phonenumbers.parse(phone, region)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_possible_number(parsed):
        return None
    if parsed.country_code == 1 and len(str(parsed.national_number)) != 10:  # a 7-digit local number is no key
        return None
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


@lru_cache(maxsize=200_000)
def normalize_domain(website: str | None) -> str | None:
    """The business's registrable domain, or None for listing/social pages and junk."""
    if not website or not website.strip():
        return None
    text = website.strip().lower()
    if "@" in text and "/" not in text:  # an email address typed into the website field
        text = text.split("@", 1)[1]
    if "://" not in text:
        text = "http://" + text
    host = text.split("://", 1)[1].split("/", 1)[0].split("?", 1)[0].split(":", 1)[0]
    parts = _EXTRACT(text)
    domain = parts.top_domain_under_public_suffix
    if not domain or not parts.suffix:
        return None
    if domain in LISTING_DOMAINS or f"{parts.domain}.{parts.suffix.split('.')[-1]}" in LISTING_DOMAINS:
        return None
    if domain in HOSTING_DOMAINS:
        return host.removeprefix("www.")
    return domain


@lru_cache(maxsize=50_000)
def website_page(website: str | None) -> str:
    """The site and the letters of the last segment of the website's path ("https://www.walmart.com/store/
    17-neosho-mo/walmart-tech-services" → "walmart.com/walmarttechservices"), or "" for a site's home page, a
    listing or social host, or junk.

    Brands' store locators give a department, a program or a person its own page, and listing sources link
    each listing to its page: the page names what the listing is (`outlets.unit_page`)."""
    if not website or "/" not in website.strip().rstrip("/").split("://")[-1]:
        return ""
    site = normalize_domain(website)
    if not site:
        return ""
    path = website.strip().split("://")[-1].split("?", 1)[0].split("#", 1)[0]
    segments = [x for x in path.split("/")[1:] if x]
    words = "".join(c for c in segments[-1].lower() if "a" <= c <= "z") if segments else ""
    return f"{site}/{words}" if words else ""


@lru_cache(maxsize=200_000)
def normalize_email(email: str | None) -> tuple[str | None, str | None]:
    """(lowercased address, its domain unless a free-mail provider)."""
    if not email or "@" not in email:
        return None, None
    address = email.strip().lower().removeprefix("mailto:")
    domain = address.rsplit("@", 1)[1]
    if domain in FREE_MAIL_DOMAINS:
        return address, None
    return address, normalize_domain(domain)


# A single-letter direction is one only where a name starts with it ("N. Clark St. Deli"); elsewhere
# a single letter is an initial ("Harry S. Truman", "R. E. Wood") and never a direction.
_LEADING_DIRECTIONS = {"n": "north", "s": "south", "e": "east", "w": "west"}


def _initials(words: list[str]) -> list[str]:
    """Runs of single letters glued ("R. E. Wood" == "R.E. Wood", "B & G Club" → "bg club"); a leading
    single-letter direction written out."""
    out: list[str] = []
    for i, w in enumerate(words):
        if len(w) == 1 and w.isalpha():
            if i == 0 and w in _LEADING_DIRECTIONS and (len(words) == 1 or len(words[1]) > 1):
                out.append(_LEADING_DIRECTIONS[w])
                continue
            if out and i > 0 and len(words[i - 1]) == 1 and words[i - 1].isalpha():
                out[-1] += w
                continue
        out.append(w)
    return out


_PARENTHESIS = re.compile(r"\(([^()]*)\)")


# Round 14: a restaurant, bar or shop inside a hotel, casino or mall is listed by guides with the venue named
# after its own name: "Lespinasse (St. Regis Hotel)", "Lespinasse in the St. Regis Hotel", "Aqua - Bellagio
# Casino Resort". Those are "X at Y" (the venue's outlet, `outlets.outlet_conflict`), not one name: against
# the venue's own listing at its switchboard they are two businesses, against "Lespinasse" one.
VENUE_WORDS = frozenset({"hotel", "inn", "resort", "casino", "mall", "motel"})
_VENUE = r"(?:" + "|".join(sorted(VENUE_WORDS)) + r")s?"
_VENUE_NOTE = re.compile(r"\(\s*(?:(?:in|at|inside)\s+)?(?:the\s+)?([^()]*\b" + _VENUE + r"\b[^()]*)\)")
_VENUE_IN = re.compile(r"\s+(?:in|inside)\s+(?:the\s+)?(?=[^,()]*\b" + _VENUE + r"\b)")
_VENUE_DASH = re.compile(r"\s+-\s+(?=(?:the\s+)?[^-()]*\b" + _VENUE + r"\s*$)")


def _venue_named(text: str) -> str:
    """A name with the venue it is in written after it, as "X at Y" (see `_VENUE_NOTE`). Only where X is not
    itself the venue ("Harbor Inn (formerly Harbor Motel)" keeps its note to `_drop_notes`)."""
    head = text.split("(", 1)[0].split(" - ", 1)[0]
    if re.search(r"\b" + _VENUE + r"\b", head) and not _VENUE_IN.search(head):
        return text
    text = _VENUE_NOTE.sub(lambda m: " at " + m.group(1) + " ", text)
    text = _VENUE_IN.sub(" at ", text, count=1)
    return _VENUE_DASH.sub(" at ", text, count=1)


def _drop_notes(text: str) -> str:
    """A name without its parenthesised notes ("Hamline (Yr Round)", "Henson (Olive)", a phone number): a
    schedule, a sub-site or a former name, not the business's name. A note with a kind-of-business word
    ("(National Teachers Academy)") names something and stays, as does a name that is nothing but a note."""

    def note(match: re.Match[str]) -> str:
        words = _NON_WORD.sub(" ", match.group(1)).split()
        return match.group(0) if any(w in KIND_WORDS for w in words) else " "

    dropped = _PARENTHESIS.sub(note, text)
    return dropped if _NON_WORD.sub("", dropped).strip() else text


# Compounds that listings write in one word or two ("Grocery Pick-up" / "Grocery Pickup"), read as one.
_COMPOUNDS = {("pick", "up"): "pickup"}


def _compounds(words: list[str]) -> list[str]:
    if "pick" not in words:
        return words
    out: list[str] = []
    for w in words:
        glued = _COMPOUNDS.get((out[-1], w)) if out else None
        if glued:
            out[-1] = glued
        else:
            out.append(w)
    return out


def _department_word(word: str) -> bool:
    return word in DEPARTMENT_WORDS or (word.endswith("s") and word[:-1] in DEPARTMENT_WORDS)


def _without_department_tail(words: list[str]) -> list[str]:
    """A name that joins the venue and its counter ("Fifth Third Bank & ATM", "Jewel-Osco & Pharmacy") is
    the venue's own listing: the "and ..." tail of department words is dropped, so it is not taken for a
    department of the venue (`outlets.outlet_conflict`)."""
    if "and" not in words[1:-1]:
        return words
    k = len(words) - 1 - words[::-1].index("and")
    if k >= 1 and all(_department_word(w) for w in words[k + 1 :]) and not all(_department_word(w) for w in words[:k]):
        return words[:k]
    return words


_NUMBER_WORDS = {
    w: i
    for i, w in enumerate(
        [
            "zero",
            "one",
            "two",
            "three",
            "four",
            "five",
            "six",
            "seven",
            "eight",
            "nine",
            "ten",
            "eleven",
            "twelve",
            "thirteen",
            "fourteen",
            "fifteen",
            "sixteen",
            "seventeen",
            "eighteen",
            "nineteen",
        ]
    )
}
_TENS_WORDS = {"twenty": 20, "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60, "seventy": 70, "eighty": 80}
_TENS_WORDS["ninety"] = 90


def _numerals(words: list[str]) -> list[str]:
    """Numbers in names written as numerals ("Twenty-Two Grill" == "22 Grill", "Pho Seventy Nine" == "Pho
    79", "Two Sisters Cafe" == "2 Sisters Cafe"); ordinals stay spelled out (`NAME_SYNONYMS`)."""
    if not any(w in _NUMBER_WORDS or w in _TENS_WORDS for w in words):
        return words
    out: list[str] = []
    tens = False  # the last word written was a tens word ("twenty"), which a unit word may complete
    for w in words:
        if w in _NUMBER_WORDS and 0 < _NUMBER_WORDS[w] < 10 and tens:
            out[-1] = str(int(out[-1]) + _NUMBER_WORDS[w])
            tens = False
            continue
        tens = w in _TENS_WORDS
        out.append(str(_TENS_WORDS[w]) if tens else str(_NUMBER_WORDS[w]) if w in _NUMBER_WORDS else w)
    return out


@lru_cache(maxsize=200_000)
def normalize_name(name: str | None) -> str:
    """Comparable business name: "The Apple Pan, Inc." and "apple pan, the" both give "apple pan"."""
    if not name:
        return ""
    text = fold(name)
    if (
        "hotel" in text or "inn" in text or "resort" in text or "casino" in text or "mall" in text or "motel" in text
    ) and ("(" in text or " in " in text or " inside " in text or " - " in text):
        text = _venue_named(text)
    if "(" in text:
        text = _drop_notes(text)
    text = text.replace("&", " and ").replace("+", " and ").replace("@", " at ")
    if "'" in text or "’" in text or "`" in text or "?" in text:  # most names hold none of the marks the two read
        text = _APOSTROPHE.sub("", _POSSESSIVE.sub(r"\1", text))
    text = _without_legal_form(text.replace(",", " , ").strip(" ,"))
    # only letters, digits and spaces are left, so split() gives the words without collapsing the spaces first
    words = [NAME_SYNONYMS.get(w, w) for w in _NON_WORD.sub(" ", text.replace(".", "")).split()]
    words = _without_department_tail(_compounds(_numerals(words)))
    while words and words[0] == "the":
        words.pop(0)
    while words and words[-1] == "the":
        words.pop()
    kept = _initials([w for w in words if w not in NAME_STOPWORDS] or words)
    # Plural/possessive-free tokens: "Mamas" == "Mama's" == "Mama"; symmetric, so harmless for "glass".
    return " ".join(w[:-1] if len(w) > 3 and w.endswith("s") and not w.endswith("ss") else w for w in kept)


@lru_cache(maxsize=50_000)
def normalize_city(city: str | None) -> str:
    if not city:
        return ""
    if "," in city or city.rstrip()[-2:].isupper() or city.rstrip()[-1:].isdigit():
        city = split_city_state(city)[0]  # "New York, NY", "Los Angeles CA 90036": the city without its state
    text = _SPACES.sub(" ", _NON_WORD.sub(" ", fold(city).replace(".", " "))).strip()
    if text in CITY_ALIASES:
        return CITY_ALIASES[text]
    text = " ".join(CITY_ALIASES.get(w, w) for w in text.split())
    if text in CITY_PARTS:
        return CITY_PARTS[text]
    if text.endswith(" city") and text[:-5] == "new york":
        return "new york"
    return text


@lru_cache(maxsize=50_000)
def normalize_category(category: str | None) -> str:
    if not category:
        return ""
    return _SPACES.sub(" ", _NON_WORD.sub(" ", fold(category).replace("&", " and "))).strip()


def normalize_zip(zip_code: str | None) -> str:
    """The five-digit ZIP (`schemas.geo.us_zip`), or "" for none or a code of another country."""
    return us_zip(zip_code) or ""
