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
from cleanco.clean import custom_basename, normalize_terms
from cleanco.termdata import terms_by_country

from schemas.geo import split_city_state

# Bundled public-suffix snapshot only: there is no network, and lookups must not block.
_EXTRACT = tldextract.TLDExtract(suffix_list_urls=(), cache_dir=None, include_psl_private_domains=True)

# Hosts that list many businesses: a link there says nothing about which business it is.
LISTING_DOMAINS = frozenset(
    {
        "yelp.com",
        "facebook.com",
        "fb.com",
        "fb.me",
        "google.com",
        "goo.gl",
        "g.page",
        "instagram.com",
        "linktr.ee",
        "yellowpages.com",
        "nextdoor.com",
        "twitter.com",
        "x.com",
        "tiktok.com",
        "linkedin.com",
        "youtube.com",
        "tripadvisor.com",
        "foursquare.com",
        "angi.com",
        "angieslist.com",
        "homeadvisor.com",
        "thumbtack.com",
        "houzz.com",
        "bbb.org",
        "mapquest.com",
        "opentable.com",
        "grubhub.com",
        "doordash.com",
        "ubereats.com",
        "seamless.com",
        "superpages.com",
        "manta.com",
        "yahoo.com",
        "bing.com",
        "apple.com",
        "porch.com",
        "zocdoc.com",
        "healthgrades.com",
        "vitals.com",
        "avvo.com",
        "birdeye.com",
        "chamberofcommerce.com",
        "citysearch.com",
        "allmenus.com",
        "menupages.com",
    }
)
# Site builders whose customers share one registrable domain: the host names the business.
HOSTING_DOMAINS = frozenset(
    {"godaddysites.com", "business.site", "wix.com", "weebly.com", "square.site", "wordpress.com"}
)
FREE_MAIL_DOMAINS = frozenset(
    {
        "gmail.com",
        "googlemail.com",
        "yahoo.com",
        "ymail.com",
        "rocketmail.com",
        "hotmail.com",
        "outlook.com",
        "live.com",
        "msn.com",
        "aol.com",
        "icloud.com",
        "me.com",
        "mac.com",
        "protonmail.com",
        "proton.me",
        "comcast.net",
        "att.net",
        "sbcglobal.net",
        "verizon.net",
        "gmx.com",
        "gmx.us",
        "mail.com",
        "zoho.com",
        "yandex.com",
        "cox.net",
        "charter.net",
        "bellsouth.net",
        "earthlink.net",
        "optonline.net",
        "frontier.com",
        "juno.com",
        "netzero.net",
        "windstream.net",
        "centurylink.net",
        "q.com",
        "roadrunner.com",
        "rr.com",
    }
)

# US legal forms only: cleanco's full list strips words like "spa" (Italian S.p.A.) from US names.
_LEGAL_TERMS = sorted(
    {
        tuple(t.split())
        for t in normalize_terms(terms_by_country["United States of America"] + ["l.l.c.", "p.c.", "pc", "pa", "p.a."])
    },
    key=lambda parts: (-len(parts), parts),
)
_LEGAL_TERMS = [(len(parts), list(parts)) for parts in _LEGAL_TERMS]
NAME_SYNONYMS = {
    "bros": "brothers",
    "bro": "brothers",
    "svc": "services",
    "svcs": "services",
    "srvc": "services",
    "ctr": "center",
    "centre": "center",
    "intl": "international",
    "assoc": "associates",
    "assocs": "associates",
    "mfg": "manufacturing",
    "mt": "mount",
    "ft": "fort",
    "dept": "department",
    "hts": "heights",
    # a street named in a business's name ("Murray Ave. Grill", "Scoops on the Blvd."), written out as its
    # other listing writes it; "St." stays "saint" (a saint's name is the commoner reading in names)
    "ave": "avenue",
    "blvd": "boulevard",
    "pkwy": "parkway",
    "hwy": "highway",
    "natl": "national",
    "univ": "university",
    "ste": "saint",
    "st": "saint",
    "dr": "doctor",
    "drs": "doctors",
    "restaurante": "restaurant",
    "rest": "restaurant",
    "grille": "grill",
    "cafe": "cafe",
    "caffe": "cafe",
    "no": "number",
    "1st": "first",  # ordinals in names are spelled out ("5th Street Deli" == "Fifth Street Deli")
    "2nd": "second",
    "3rd": "third",
    "4th": "fourth",
    "5th": "fifth",
    "6th": "sixth",
    "7th": "seventh",
    "8th": "eighth",
    "9th": "ninth",
    "10th": "tenth",
    "jr": "junior",
    "sr": "senior",
}
# Words that say what kind of business it is, not which one: no blocking key is built on them, and
# two names that differ only in them are one business unless both sides add such a word (two outlets).
KIND_WORDS = frozenset(
    {
        "restaurant",
        "cafe",
        "grill",
        "bar",
        "kitchen",
        "deli",
        "delicatessen",
        "pizza",
        "pizzeria",
        "bakery",
        "diner",
        "bistro",
        "house",
        "room",
        "dining",
        "lounge",
        "tavern",
        "pub",
        "club",
        "hotel",
        "inn",
        "steakhouse",
        # Round 12: kinds of eating and drinking place that guides write in the name, as "trattoria" ("Bellini
        # Ristorante" / "Bellini", "Il Fornaio Cucina" / "Il Fornaio").
        "ristorante",
        "cucina",
        "cocina",
        "osteria",
        "enoteca",
        "izakaya",
        "boulangerie",
        "patisserie",
        "creperie",
        "chophouse",
        "smokehouse",
        "roadhouse",
        "eatery",
        "cafeteria",
        "bbq",
        "barbecue",
        "brewery",
        "brewpub",
        "steak",
        "seafood",
        "sushi",
        "taqueria",
        "trattoria",
        "noodle",
        "coffee",
        "tea",
        "shop",
        "store",
        "market",
        "center",
        "services",
        "service",
        "company",
        "co",
        "group",
        "associates",
        "brothers",
        "plumbing",
        "electric",
        "electrical",
        "dental",
        "dentistry",
        "family",
        "care",
        "clinic",
        "hospital",
        "animal",
        "pet",
        "veterinary",
        "auto",
        "repair",
        "salon",
        "studio",
        "spa",
        "law",
        "office",
        "school",
        "academy",
        "learning",
        "child",
        "children",
        "childhood",
        "development",
        "early",
        "head",
        "start",
        "day",
        "daycare",
        "preschool",
        "infant",
        "toddler",
        "church",
        "community",
        "association",
        "buffet",
        "terrace",
        "patio",
        "brasserie",
        "cantina",
        "lobby",
        "sports",
        "book",
        "tapas",
        "ramen",
        "express",
        "gallery",
        "boutique",
        "pharmacy",
        "bank",
        "florist",
        "gym",
        "fitness",
        "theater",
        "theatre",
        "casino",
        "resort",
        "suites",
        # Store formats: "Walmart Supercenter" is the store, as "Kroger Marketplace" is.
        "supercenter",
        "superstore",
        "supermarket",
        # Round 14: the dishes a counter or a food-hall stall is named by ("Midtown Sandwiches" / "Midtown
        # Salads": two counters of one shop at one phone, as "… Cafe" / "… Steakhouse"). Not "wings": it is
        # a word of names ("Wing Lei").
        "sandwich",
        "sandwiches",
        "salads",
        "burgers",
        "tacos",
        "bagels",
        "donuts",
        "juice",
        "smoothies",
        "dumplings",
        "crepes",
        "desserts",
    }
)
PLACE_WORDS = frozenset(
    {
        "chicago",
        "new",
        "york",
        "los",
        "angeles",
        "american",
        "international",
        "national",
        "united",
        "first",
        "public",
        "metropolitan",
        "saint",
        "north",
        "south",
        "east",
        "west",
        "city",
        "park",
        "street",
        "avenue",
    }
)
# Kind words that only say what an organisation is, not which service or outlet: they never tell two
# outlets apart ("Howard Area Community Center" / "Howard Area Community Services").
ORGANISATION_WORDS = frozenset(
    {"center", "service", "services", "association", "house", "community", "family", "group", "company", "co"}
)
# Kind words that describe one service in several ways: two names differing only in words of one family
# are one business written two ways ("Rey Gonzalez Child Care" / "Rey Gonzalez Children Family Center"),
# while two different kinds at one venue ("… Cafe" / "… Steakhouse") are two outlets.
KIND_FAMILIES = (
    frozenset(
        {"child", "children", "care", "daycare", "preschool", "school", "academy", "learning", "early"}
        | {"development", "head", "start", "nursery", "day", "infant", "toddler", "childhood"}
    ),
    frozenset({"dental", "dentistry", "dentist", "orthodontics", "smile", "care", "clinic", "group"}),
    frozenset({"animal", "pet", "veterinary", "vet", "hospital", "clinic", "care"}),
    frozenset({"plumbing", "drain", "rooter", "sewer"}),
    frozenset({"auto", "repair", "care", "garage", "service"}),
    frozenset({"hair", "salon", "studio", "beauty", "spa"}),
)
# A counter, service or unit that big stores, banks, hospitals and campuses list on its own, under the
# venue's name plus these words ("Walmart Pharmacy", "Walmart Fuel Station", "M&T Bank ATM", "Chase
# Mortgage", "Toyota of Erie Parts", "Northwest Medical Center - Emergency Room").
# A name that is another plus such words is a department of it, not the same listing (`features.
# outlet_conflict`). Words a small business is itself named by ("deli", "grooming", "collision") are not
# here: "Joe's Deli" and "Joe's" are one shop, "Sal's Deli & Grocery" and "Sal's Deli" one bodega; nor
# are words that name a whole site as often as a unit ("Olive-Harvey Child Development Laboratory Center" is a college's lab school, "Quinn Chapel" a church).
DEPARTMENT_WORDS = frozenset(
    {"pharmacy", "photo", "vision", "optical", "fuel", "gas", "atm", "mortgage", "lending", "money"}
    | {"pickup", "floral", "parts", "part", "emergency", "imaging", "radiology", "pool", "hearing"}
    | {"vaccination"}
    # A hospital's or clinic group's specialties, each listed under the group's name ("The Iowa Clinic
    # Dermatology - West Des Moines Campus" / "The Iowa Clinic Spine Center - ...").
    | {"cardiology", "dermatology", "neurology", "oncology", "hematology", "orthopedic", "orthopedics"}
    | {"pediatric", "pediatrics", "urology", "nephrology", "gastroenterology", "obstetric", "obstetrics"}
    | {"gynecology", "ophthalmology", "rehabilitation", "spine", "pulmonology", "endocrinology"}
    | {"rheumatology", "audiology", "podiatry"}
)
# Round 14: services that one practice or store lists one by one under its name, each with its own
# qualifier ("Fort Worth Physical Therapy" / "Fort Worth Speech Therapy", "Petco Grooming" / "Petco Dog
# Training"). Unlike `DEPARTMENT_WORDS` they name small businesses too ("Acme Physical Therapy", "Main Street
# Grooming"), so they part two listings only when *both* names add such a service, each its own
# (`outlets.two_services`), never a name against the same name without it.
SERVICE_WORDS = frozenset(
    # therapies of a rehabilitation practice
    {"physical", "occupational", "speech", "massage", "aquatic", "respiratory", "pelvic", "vestibular"}
    # a pet store's or kennel's services
    | {"grooming", "groomer", "training", "trainer", "boarding", "obedience", "dog", "cat"}
    # a salon's services
    | {"nails", "hair", "lash", "lashes", "brows", "waxing", "facials", "tanning", "barber"}
)
# Round 14: the units a college or university lists on its own, each under the school's name ("Santiago
# Canyon College - Gym", "High Point University Chapel and Religious Life", "… Bookstore", "… Library",
# "… Admissions"). They part a listing from its school's only where both names carry a school word
# (`CAMPUS_WORDS`: "Quinn Chapel" is a church) and the unit's name holds one of these words; words that name
# a child-care site a college runs ("Kennedy-King College Child Development Lab Center", "Loyola University
# Chicago - Preschool/Day Care") are not among them: a lab school is a site of its own in the sets' labels.
CAMPUS_WORDS = frozenset({"university", "college"})
CAMPUS_UNIT_WORDS = frozenset(
    {"chapel", "gym", "gymnasium", "library", "bookstore", "stadium", "arena", "fieldhouse", "natatorium"}
    | {"athletic", "athletics", "admission", "admissions", "registrar", "bursar", "recreation", "police"}
    | {"observatory", "planetarium", "museum", "auditorium", "alumni", "counseling", "career", "housing"}
    | {"parking", "dormitory", "ministry", "ministries", "religious", "aquatics", "ballpark"}
)
# Words that name an institution with units of its own: a university's chapel and gym, a health system's
# specialties and pavilions, a school district's kitchens, each listed under the institution's name plus the
# unit's ("High Point University Chapel and Religious Life", "Keck Medicine of USC - Vascular Surgery").
# Two such names that begin with one institution and differ by a unit's own words are two listings
# (`outlets.institution_units`).
INSTITUTION_WORDS = frozenset({"hospital", "health", "medicine", "medical", "district"})
# Round 18: the rooms and facilities a venue's map lists as places of their own, each under the venue's name
# plus the facility's ("Rivers Casino Ballroom", "Bellefield Hall Gym", "Grandview Elementary School Library",
# "Courtyard ... Shadyside Pool"), and the venues that hold them (`outlets.venue_part`): the words of a
# building, an institution or a lodging, not a shop's ("Gold's" / "Gold's Gym" is one gym).
PART_WORDS = frozenset(
    {"ballroom", "pool", "gym", "gymnasium", "library", "auditorium", "playground", "parking"}
    | {"breakroom", "lounge", "lobby", "pavilion", "cafeteria", "natatorium", "fitness", "classroom", "locker"}
)
PART_VENUE_WORDS = frozenset(
    {"hall", "school", "elementary", "academy", "casino", "hotel", "inn", "resort", "motel", "suites", "suite"}
    | {"hospital", "church", "museum", "university", "college", "building"}
    | {"tower", "apartment", "apartments", "mall", "plaza", "arena", "stadium", "library"}
)
# Round 18: kinds of place that cover ground, a park, a cemetery, a campus, or stand in grounds of their own, a
# school, a church, a hall: two sources put their points hundreds of metres apart, at two gates or at the
# middle and an entrance (`features.far_m`).
LARGE_PLACE_WORDS = frozenset(
    {"park", "cemetery", "campus", "university", "college", "golf", "course", "camp", "zoo", "reservoir"}
    | {"arboretum", "garden", "gardens", "stadium", "fairground", "fairgrounds", "playground", "field", "trail"}
    | {"school", "academy", "church", "temple", "synagogue", "mosque", "library", "hall", "hospital"}
)
# Round 18: words a map or a guide adds to a stop's or a station's name, which a map often labels by the
# place alone ("Pennant" / "Pennant T Stop", "Carnegie" / "Carnegie Station"); `features.name_plus_kind`.
TRANSIT_WORDS = frozenset(
    {"station", "stop", "t", "bus", "busway", "platform", "terminal", "light", "rail", "subway", "metro", "stn"}
)
# Words that say where a unit is, not which one ("Piqua Campus", "Main Campus", "North Building").
LOCATION_WORDS = frozenset({"campus", "campu", "main", "building", "bldg", "location", "branch", "tower", "floor"})
# A person's own listing at a practice, bank or agency: professional credentials and roles written into the
# name ("Arkansas Children's - Akilah A. Jefferson, M.D.", "U.S. Bank - Joni Burns - Mortgage Lending
# Officer", "NMLS ID 624740"). Two people at one practice, or a person and the practice, are two listings
# (`outlets.outlet_conflict`).
PRACTITIONER_WORDS = frozenset(
    {"md", "dds", "dmd", "dpm", "dvm", "phd", "lcsw", "lmft", "lpc", "cpa", "esq", "nmls", "fnp", "aprn", "crnp"}
    | {"dnp", "facs", "faap", "facc", "advisor", "adviser", "officer", "agent", "representative"}
)
# Names are compared after `normalize_name` drops a plural s ("sports" → "sport"): list both forms.
KIND_WORDS = KIND_WORDS | {w[:-1] for w in KIND_WORDS if len(w) > 3 and w.endswith("s") and not w.endswith("ss")}
PRACTITIONER_WORDS = PRACTITIONER_WORDS | {"nml"}  # "NMLS" without its plural s
SERVICE_WORDS = SERVICE_WORDS | {
    w[:-1] for w in SERVICE_WORDS if len(w) > 3 and w.endswith("s") and not w.endswith("ss")
}
CAMPUS_UNIT_WORDS = CAMPUS_UNIT_WORDS | {
    w[:-1] for w in CAMPUS_UNIT_WORDS if len(w) > 3 and w.endswith("s") and not w.endswith("ss")
}
GENERIC_WORDS = KIND_WORDS | PLACE_WORDS | {"and", "the", "of", "inc", "llc"}
NAME_STOPWORDS = frozenset(
    {"the", "and", "of", "a", "an", "on", "in"}
)  # "at" stays: "The Terrace at Hotel X" is an outlet
CITY_ALIASES = {
    "la": "los angeles",
    "l a": "los angeles",
    "nyc": "new york",
    "new york city": "new york",
    "sf": "san francisco",
    "s f": "san francisco",
    "st": "saint",
    "ft": "fort",
    "mt": "mount",
    "w": "west",
    "e": "east",
    "n": "north",
    "s": "south",
}
# Boroughs and neighbourhoods that listings give instead of the city (compared as the city).
CITY_PARTS = {
    "manhattan": "new york",
    "brooklyn": "new york",
    "queens": "new york",
    "bronx": "new york",
    "the bronx": "new york",
    "staten island": "new york",
    "harlem": "new york",
    "long island city": "new york",
    "flushing": "new york",
    "astoria": "new york",
    "hollywood": "los angeles",
    "studio city": "los angeles",
    "sherman oaks": "los angeles",
    "encino": "los angeles",
    "van nuys": "los angeles",
    "venice": "los angeles",
    "north hollywood": "los angeles",
    "westwood": "los angeles",
    "brentwood": "los angeles",
    "bel air": "los angeles",
    "silver lake": "los angeles",
    "los feliz": "los angeles",
    "echo park": "los angeles",
    "downtown los angeles": "los angeles",
    "century city": "los angeles",
    "pacific palisades": "los angeles",
    "toluca lake": "los angeles",
    "greenwich village": "new york",
    "upper east side": "new york",
    "upper west side": "new york",
    "lower east side": "new york",
    "tribeca": "new york",
    "soho": "new york",
    "noho": "new york",
    "nolita": "new york",
    "buckhead": "atlanta",
}  # "Midtown", "Chinatown", "Chelsea" are in several cities: left as written
_NON_WORD = re.compile(r"[^a-z0-9 ]+")
# "Keeper?s": a curly apostrophe lost to a wrong encoding is a possessive too.
_POSSESSIVE = re.compile(r"(\w)(?:['’`]|\?(?=s\b))s\b")
_APOSTROPHE = re.compile(r"['’`]")
_SPACES = re.compile(r"\s+")
_DIGITS = re.compile(r"\D+")


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
    text = _POSSESSIVE.sub(r"\1", text)
    text = _APOSTROPHE.sub("", text)
    text = custom_basename(text.replace(",", " , ").strip(" ,"), _LEGAL_TERMS, suffix=True, prefix=False, middle=False)
    text = _SPACES.sub(" ", _NON_WORD.sub(" ", text.replace(".", ""))).strip()
    words = _without_department_tail(_compounds(_numerals([NAME_SYNONYMS.get(w, w) for w in text.split()])))
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
    digits = _DIGITS.sub("", zip_code or "")[:5]
    return digits.zfill(5) if len(digits) >= 4 else ""
