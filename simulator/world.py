"""The simulated business world: every business behind the search APIs, websites and leads.

Everything is derived from the seed, the ZIP and the vertical, so two processes
with the same seed see the same businesses with the same ids, phones and
domains. Ids encode their business key, so a details call works in a fresh
process without a prior search.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import random
import re
from dataclasses import dataclass

from simulator.world_places import GENERIC_STREETS, KNOWN_ZIPS, Place, UnknownLocation, place_for_zip
from simulator.world_verticals import CHAINS, VerticalSpec, vertical_spec

__all__ = ["Business", "Place", "UnknownLocation", "VerticalSpec", "World", "world_for"]

_ADJECTIVES = (
    "Precision",
    "Reliable",
    "Premier",
    "All Seasons",
    "Summit",
    "Evergreen",
    "Blue Sky",
    "Golden",
    "Apex",
    "Pioneer",
    "Liberty",
    "Cornerstone",
    "Honest",
    "Bright",
    "Northstar",
    "Trusted",
    "Superior",
)
_SURNAMES = (
    "Miller",
    "Johnson",
    "Garcia",
    "Nguyen",
    "Anderson",
    "Martinez",
    "Thompson",
    "Walker",
    "Hernandez",
    "Young",
    "Brooks",
    "Kowalski",
    "O'Brien",
    "Patel",
    "Schmidt",
    "Larson",
    "Ramirez",
    "Bennett",
    "Fischer",
    "Dawson",
    "Mendoza",
    "Sullivan",
    "Yamamoto",
    "Reyes",
    "Hughes",
    "Carter",
    "Olsen",
)
_FIRST_NAMES = ("Joe", "Mike", "Dave", "Tony", "Rosa", "Sam", "Pete", "Linda", "Carlos", "Gary", "Ben", "Nina")
_LEGAL_SUFFIXES = ("LLC", "Inc.", "Co.", "Inc")
_ABBREVIATIONS = {"veterinary": "vet", "electrical": "electric", "conditioning": "ac", "mechanical": "mech"}
_DROP_WORDS = {"and", "co", "llc", "inc", "the", "of", "dr", "sons"}


def _encode_key(key: str) -> str:
    return base64.urlsafe_b64encode(key.encode()).decode().rstrip("=")


def _decode_key(token: str) -> str | None:
    try:
        return base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode()
    except (ValueError, UnicodeDecodeError):
        return None


def slug(text: str, sep: str = "-") -> str:
    """Lowercase ASCII words joined by `sep` ("Joe's Heating & Air" -> "joes-heating-air")."""
    words = re.findall(r"[a-z0-9]+", text.lower().replace("'", "").replace("&", " "))
    return sep.join(words)


@dataclass(frozen=True)
class Business:
    """One business as it exists in the world (sources show views of it)."""

    key: str  # "<zip>.<vertical>.<index>"
    zip: str
    vertical: str
    name: str  # as Yelp lists it
    google_name: str  # as Google lists it (sometimes with a legal suffix)
    street: str  # number and street
    unit: str | None  # "Ste 210", kept apart like Yelp's address2
    city: str
    state: str
    lat: float
    lng: float
    phone: str  # E.164
    domain: str | None  # registrable domain of the website
    website: str | None  # full URL as the business lists it
    email: str | None
    rating: float
    review_count: int
    on_yelp: bool
    on_google: bool
    chain: bool = False

    @property
    def yelp_id(self) -> str:
        return _encode_key(self.key)

    @property
    def google_place_id(self) -> str:
        return "ChIJ" + _encode_key(self.key)

    @property
    def yelp_alias(self) -> str:
        return f"{slug(self.name)}-{slug(self.city)}"

    @property
    def street_line(self) -> str:
        return f"{self.street} {self.unit}" if self.unit else self.street

    @property
    def display_phone(self) -> str:
        """NANP national format, "(509) 555-0101"."""
        d = self.phone[2:]
        return f"({d[:3]}) {d[3:6]}-{d[6:]}"

    @property
    def international_phone(self) -> str:
        """Google's style, "+1 509-555-0101"."""
        d = self.phone[2:]
        return f"+1 {d[:3]}-{d[3:6]}-{d[6:]}"


class World:
    """All businesses under one seed. Lists are built on first use and cached."""

    def __init__(self, seed: int) -> None:
        self.seed = seed
        self._cells: dict[tuple[str, str], list[Business]] = {}
        self._by_domain: dict[str, Business] | None = None

    @staticmethod
    @functools.lru_cache(maxsize=8)
    def for_seed(seed: int) -> World:
        return World(seed)

    def rng(self, *parts: object) -> random.Random:
        basis = "|".join([str(self.seed), *map(str, parts)])
        return random.Random(int.from_bytes(hashlib.blake2b(basis.encode(), digest_size=8).digest(), "big"))

    def place(self, zip_code: str) -> Place:
        return place_for_zip(zip_code)

    def vertical(self, name: str) -> VerticalSpec:
        return vertical_spec(name)

    def businesses(self, zip_code: str, vertical: str) -> list[Business]:
        """The 20-60 businesses of one vertical in one ZIP, in a stable order."""
        spec = vertical_spec(vertical)
        cell = (zip_code, spec.name)
        if cell not in self._cells:
            self._cells[cell] = self._build_cell(place_for_zip(zip_code), spec)
        return self._cells[cell]

    def business(self, key: str) -> Business | None:
        """The business with this key ("<zip>.<vertical>.<index>"), if it exists."""
        parts = key.split(".")
        if len(parts) < 3 or not parts[-1].isdigit():
            return None
        zip_code, vertical, index = parts[0], ".".join(parts[1:-1]), int(parts[-1])
        try:
            found = self.businesses(zip_code, vertical)
        except UnknownLocation:
            return None
        return found[index] if index < len(found) and found[index].key == key else None

    def by_yelp_id(self, yelp_id: str) -> Business | None:
        key = _decode_key(yelp_id)
        business = self.business(key) if key else None
        return business if business and business.on_yelp else None

    def by_place_id(self, place_id: str) -> Business | None:
        key = _decode_key(place_id[4:]) if place_id.startswith("ChIJ") else None
        business = self.business(key) if key else None
        return business if business and business.on_google else None

    def by_domain(self, domain: str) -> Business | None:
        """The business whose website is on `domain` (first in world order for chains).

        Covers the known ZIPs in every named vertical plus any cell already built.
        """
        domain = domain.lower().removeprefix("www.")
        if self._by_domain is None:
            from simulator.world_verticals import VERTICALS

            for zip_code in KNOWN_ZIPS:
                for vertical in VERTICALS:
                    self.businesses(zip_code, vertical)
            self._by_domain = {}
        for cell in list(self._cells.values()):
            for business in cell:
                if business.domain:
                    self._by_domain.setdefault(business.domain, business)
        return self._by_domain.get(domain)

    # -- generation ---------------------------------------------------------

    def _build_cell(self, place: Place, spec: VerticalSpec) -> list[Business]:
        rng = self.rng("cell", place.zip, spec.name)
        count = rng.randint(20, 60)
        names: set[str] = set()
        domains: set[str] = set()
        phones: set[str] = set()
        out = []
        for index in range(count):
            out.append(self._build_business(place, spec, index, names, domains, phones))
        return out

    def _build_business(
        self, place: Place, spec: VerticalSpec, index: int, names: set, domains: set, phones: set
    ) -> Business:
        rng = self.rng("biz", place.zip, spec.name, index)
        chain = None
        chains = CHAINS.get(spec.name, ())
        if chains and rng.random() < 0.05:
            chain = rng.choice(chains)
        if chain:
            name, domain = chain
            if name in names:
                chain = None
        if not chain:
            for _ in range(20):
                name = self._independent_name(rng, place, spec)
                if name not in names:
                    break
            domain = self._domain_for(rng, name, place, domains) if rng.random() >= 0.10 else None
        names.add(name)
        website = None
        if domain:
            # http:// only: the simulator proxy cannot intercept the CONNECT tunnels https needs.
            host = f"www.{domain}" if chain or rng.random() < 0.6 else domain
            path = f"/locations/{slug(place.city)}-{place.state.lower()}" if chain else "/"
            website = f"http://{host}{path}"
            domains.add(domain)
        phone = self._phone(rng, place, phones)
        presence = rng.random()
        unit = None
        if rng.random() < 0.2:
            unit = rng.choice(
                [f"Ste {rng.randint(1, 4)}{rng.randint(0, 2)}{rng.randint(0, 9)}", f"Unit {rng.choice('ABCD')}"]
            )
        streets = place.streets or GENERIC_STREETS
        google_name = name
        if not chain and rng.random() < 0.15:
            google_name = (
                f"{name}, {rng.choice(_LEGAL_SUFFIXES)}"
                if rng.random() < 0.5
                else f"{name} {rng.choice(_LEGAL_SUFFIXES)}"
            )
        return Business(
            key=f"{place.zip}.{spec.name}.{index}",
            zip=place.zip,
            vertical=spec.name,
            name=name,
            google_name=google_name,
            street=f"{rng.randint(100, 9899)} {rng.choice(streets)}",
            unit=unit,
            city=place.city,
            state=place.state,
            lat=round(place.lat + rng.uniform(-0.02, 0.02), 6),
            lng=round(place.lng + rng.uniform(-0.02, 0.02), 6),
            phone=phone,
            domain=domain,
            website=website,
            email=self._email(rng, name, domain),
            rating=round(min(5.0, max(1.0, rng.gauss(4.1, 0.7))), 1),
            review_count=int(rng.lognormvariate(3.2, 1.1)),
            on_yelp=presence < 0.85,
            on_google=presence >= 0.15,
            chain=bool(chain),
        )

    @staticmethod
    def _independent_name(rng: random.Random, place: Place, spec: VerticalSpec) -> str:
        template = rng.choice(spec.name_templates)
        return template.format(
            place=rng.choice(place.place_words),
            surname=rng.choice(_SURNAMES),
            first=rng.choice(_FIRST_NAMES),
            adj=rng.choice(_ADJECTIVES),
            title=spec.title,
        )

    @staticmethod
    def _domain_for(rng: random.Random, name: str, place: Place, taken: set[str]) -> str:
        """A registrable domain, unique in the world: the city joins names that lack it, the ZIP
        joins names in places not known in detail (their cities repeat)."""
        words = [_ABBREVIATIONS.get(w, w) for w in slug(name, " ").split() if w not in _DROP_WORDS]
        city = slug(place.city, "")
        local = slug(name, "").startswith(city)
        while len(words) > 2 and sum(map(len, words)) > (20 if local else 16):
            words.pop(1)  # keep the lead word and the trade word
        if not local:
            words.append(city)
        if place.zip not in KNOWN_ZIPS:
            words.append(place.zip)
        tld = rng.choices([".com", ".net", ".biz", ".us"], weights=[80, 10, 5, 5])[0]
        sep = "-" if rng.random() < 0.1 else ""
        candidates = [sep.join(words) + tld] + [sep.join(words) + str(n) + tld for n in range(2, 50)]
        return next(c for c in candidates if c not in taken)

    @staticmethod
    def _phone(rng: random.Random, place: Place, taken: set[str]) -> str:
        while True:
            exchange = rng.randint(201, 999)
            if exchange % 100 == 11 or exchange == 555:
                continue
            phone = f"+1{rng.choice(place.area_codes)}{exchange}{rng.randint(0, 9999):04d}"
            if phone not in taken:
                taken.add(phone)
                return phone

    @staticmethod
    def _email(rng: random.Random, name: str, domain: str | None) -> str | None:
        roll = rng.random()
        if domain and roll < 0.35:
            return f"{rng.choice(['info', 'office', 'service', 'contact', 'hello'])}@{domain}"
        if roll > 0.93:
            return f"{slug(name, '')[:20]}{rng.randint(1, 99)}@gmail.com"
        return None


def world_for(sim) -> World:
    """The world of a running simulator (follows its current seed)."""
    return World.for_seed(sim.config.seed)
