"""The demo's lead generator: what a fleet of scrapers would push into ``leads.scraped``.

Leads are world businesses (so their websites are served by the simulator),
spread over many ZIPs and verticals. About 15% are realistic duplicates of an
earlier lead: the same business from the other source, or re-keyed by hand,
with the phone reformatted, ``www.``/a path on the website, the name's case,
legal suffix or ``&`` changed. About 3% are malformed. Deterministic under the seed.
"""

from __future__ import annotations

import json
import random
import re
from collections import deque
from dataclasses import dataclass
from typing import Literal

from schemas.lead import RawLead
from simulator.world import Business, UnknownLocation, World
from simulator.world_places import KNOWN_ZIPS
from simulator.world_verticals import vertical_spec

DEFAULT_VERTICALS = ("hvac", "plumber", "vet", "electrician", "roofer", "dentist")
DUPLICATE_RATE, MALFORMED_RATE = 0.15, 0.03
_ACTIVE_CELLS = 24
_MALFORMED_KINDS = ("not_json", "missing_name", "bad_zip", "wrong_types", "unknown_field", "bad_state")


@dataclass(frozen=True)
class GeneratedLead:
    lead_id: str  # the id the pipeline derives (synthetic ``bad_...`` for malformed ones)
    payload: bytes  # the Kafka message value
    kind: Literal["original", "duplicate", "malformed"]
    duplicate_of: str | None  # lead id of the original, for duplicates
    expected_valid: bool  # whether RawLead accepts the payload
    business_key: str | None = None


class _BusinessPool:
    """Draws distinct world businesses from a rolling set of ZIP x vertical cells."""

    def __init__(self, world: World, rng: random.Random, zips: list[str], verticals: list[str]) -> None:
        self.world, self.rng, self.zips = world, rng, zips
        cells = [(z, v) for z in zips for v in verticals]
        rng.shuffle(cells)
        self.pending = deque(cells)
        self.verticals = verticals
        self.active: list = []
        self.step = 0
        self.used_zips = set(zips)

    def next(self) -> Business:
        while True:
            while len(self.active) < _ACTIVE_CELLS and (self.pending or self._extend()):
                zip_code, vertical = self.pending.popleft()
                self.active.append(iter(self.world.businesses(zip_code, vertical)))
            index = self.rng.randrange(len(self.active))
            business = next(self.active[index], None)
            if business is not None:
                return business
            self.active.pop(index)

    def _extend(self) -> bool:
        """Out of cells: add neighbouring ZIPs (resolved through their 3-digit prefix)."""
        while not self.pending and self.step < 5000:
            self.step += 1
            for base in self.zips:
                candidate = f"{int(base) + self.step:05d}"
                if candidate in self.used_zips or len(candidate) != 5:
                    continue
                try:
                    self.world.place(candidate)
                except UnknownLocation:
                    continue
                self.used_zips.add(candidate)
                self.pending.extend((candidate, v) for v in self.verticals)
        return bool(self.pending)


def _raw(business: Business, source: str, rng: random.Random) -> dict:
    spec = vertical_spec(business.vertical)
    data = {
        "source": source,
        "name": business.google_name if source == "google" else business.name,
        "street": business.street_line,
        "city": business.city,
        "state": business.state,
        "zip": business.zip,
        "phone": business.phone,
        "website": business.website,
        "vertical": business.vertical,
        "category": spec.google_label if source == "google" else spec.yelp_categories[0][1],
    }
    if source in ("yelp", "google"):
        data["source_ids"] = {source: business.yelp_id if source == "yelp" else business.google_place_id}
    if business.email and rng.random() < 0.5:
        data["email"] = business.email
    return {k: v for k, v in data.items() if v is not None}


def _vary_phone(phone: str, rng: random.Random) -> str:
    d = phone[2:]
    return rng.choice(
        [
            f"({d[:3]}) {d[3:6]}-{d[6:]}",
            f"{d[:3]}-{d[3:6]}-{d[6:]}",
            f"{d[:3]}.{d[3:6]}.{d[6:]}",
            f"+1 {d[:3]}-{d[3:6]}-{d[6:]}",
            f"1-{d[:3]}-{d[3:6]}-{d[6:]}",
        ]
    )


def _vary_website(url: str, rng: random.Random) -> str:
    scheme, _, rest = url.partition("://")
    host, _, path = rest.partition("/")
    host = host[4:] if host.startswith("www.") else f"www.{host}"
    path = "/" + path if path else rng.choice(["/", "/contact", "/index.html", "/?utm_source=gmb", "/home"])
    return rng.choice([f"{scheme}://{host}{path}", f"{host}{path}", f"{scheme}://{host}"])


def _vary_name(name: str, rng: random.Random) -> str:
    options = [name.upper(), name.lower(), f"{name} LLC", re.sub(r",? (LLC|Inc\.?|Co\.)$", "", name)]
    if "&" in name:
        options.append(name.replace("&", "and"))
    if " and " in name:
        options.append(name.replace(" and ", " & "))
    changed = [o for o in options if o != name]
    return rng.choice(changed)


def _vary_street(street: str) -> str:
    for short, full in (
        (" St", " Street"),
        (" Ave", " Avenue"),
        (" Dr", " Drive"),
        (" Rd", " Road"),
        ("Ste ", "Suite "),
    ):
        street = re.sub(rf"{re.escape(short)}\b", full, street)
    return street


def _duplicate(original: Business, used: set, rng: random.Random) -> dict:
    """A second sighting of `original`: the other source when it lists the business, else hand-keyed."""
    sources = [s for s, listed in (("yelp", original.on_yelp), ("google", original.on_google)) if listed]
    fresh = [s for s in sources if (original.key, s) not in used]
    source = rng.choice(fresh) if fresh else "csv"
    data = _raw(original, source, rng)
    data["phone"] = _vary_phone(original.phone, rng)
    if data.get("website") and rng.random() < 0.7:
        data["website"] = _vary_website(data["website"], rng)
    if rng.random() < 0.6 or source == "csv":
        data["name"] = _vary_name(data["name"], rng)
    if rng.random() < 0.4:
        data["street"] = _vary_street(data["street"])
    if source == "csv":
        data.pop("category", None)
        data["source"] = rng.choice(["csv", "manual", "referral"])
    return data


def _malformed(business: Business, lead_id: str, rng: random.Random) -> bytes:
    kind = rng.choice(_MALFORMED_KINDS)
    data = {"lead_id": lead_id, **_raw(business, "csv", rng)}
    if kind == "not_json":
        return rng.choice(
            [
                json.dumps(data)[:-7].encode(),
                f"name={business.name}&zip={business.zip}".encode(),
                b"\xff\xfe" + json.dumps(data).encode("utf-16-le"),
            ]
        )
    if kind == "missing_name":
        data.pop("name")
    elif kind == "bad_zip":
        data["zip"] = rng.choice(["9890A", "123456", "ZIP"])
    elif kind == "wrong_types":
        data["source_ids"] = f"yelp:{business.yelp_id}"
    elif kind == "unknown_field":
        data[rng.choice(["fax", "nmae", "owner"])] = "x"
    elif kind == "bad_state":
        data["state"] = "Washington" if business.state != "WA" else "Oregon"
    return json.dumps(data).encode()


def generate_leads(
    n: int, seed: int, zips: list[str] | None = None, verticals: list[str] | None = None
) -> list[GeneratedLead]:
    """`n` leads for ``leads.scraped``: originals, ~15% duplicates of earlier ones, ~3% malformed."""
    rng = random.Random(f"leads|{seed}")
    world = World.for_seed(seed)
    for zip_code in zips or ():
        world.place(zip_code)  # UnknownLocation (a ValueError) for a ZIP the world cannot place
    pool = _BusinessPool(world, rng, list(zips or KNOWN_ZIPS), list(verticals or DEFAULT_VERTICALS))
    out: list[GeneratedLead] = []
    originals: list[tuple[str, Business]] = []
    used: set[tuple[str, str]] = set()
    lead_ids: set[str] = set()
    for i in range(n):
        roll = rng.random()
        if roll < MALFORMED_RATE:
            lead_id = f"bad_{seed}_{i:06d}"
            out.append(GeneratedLead(lead_id, _malformed(pool.next(), lead_id, rng), "malformed", None, False))
            continue
        if originals and roll < MALFORMED_RATE + DUPLICATE_RATE:
            first_id, business = rng.choice(originals)
            for _ in range(5):
                raw = RawLead.model_validate(_duplicate(business, used, rng))
                if raw.derived_lead_id() not in lead_ids:
                    break
            else:
                raw = None
            if raw is not None:
                used.add((business.key, raw.source))
                lead_ids.add(raw.derived_lead_id())
                out.append(
                    GeneratedLead(raw.derived_lead_id(), _payload(raw), "duplicate", first_id, True, business.key)
                )
                continue
        business = pool.next()
        sources = [s for s, listed in (("yelp", business.on_yelp), ("google", business.on_google)) if listed]
        source = "csv" if rng.random() < 0.05 else rng.choice(sources)
        raw = RawLead.model_validate(_raw(business, source, rng))
        used.add((business.key, source))
        lead_ids.add(raw.derived_lead_id())
        originals.append((raw.derived_lead_id(), business))
        out.append(GeneratedLead(raw.derived_lead_id(), _payload(raw), "original", None, True, business.key))
    return out


def _payload(raw: RawLead) -> bytes:
    return raw.model_dump_json(exclude_none=True).encode()
