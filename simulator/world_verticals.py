"""Verticals of the simulated world: how each is named, categorised and searched.

The Yelp category aliases and Google place types are the real APIs'
vocabulary; the simulator maps search parameters back to a vertical with
them. Any other vertical name gets a generic spec, so every search works.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass


@dataclass(frozen=True)
class VerticalSpec:
    name: str
    title: str  # "Plumbing"
    yelp_categories: tuple[tuple[str, str], ...]  # (alias, title), first is the main one
    google_type: str
    google_label: str  # primaryTypeDisplayName
    keywords: tuple[str, ...]  # words in a search text that mean this vertical
    name_templates: tuple[str, ...]


VERTICALS: dict[str, VerticalSpec] = {
    spec.name: spec
    for spec in (
        VerticalSpec(
            "hvac",
            "Heating & Air Conditioning/HVAC",
            (("hvac", "Heating & Air Conditioning/HVAC"), ("contractors", "Contractors")),
            "hvac_contractor",
            "HVAC Contractor",
            ("hvac", "heating", "air conditioning", "furnace", "ac repair"),
            (
                "{place} Heating & Air",
                "{surname} Heating & Cooling",
                "{place} HVAC",
                "{adj} Air Conditioning",
                "{surname} Mechanical",
                "{adj} Comfort Heating & Air",
                "{place} Furnace & Air",
                "{first}'s Heating and Air",
                "{adj} Climate Control",
                "{surname} & Sons Heating",
            ),
        ),
        VerticalSpec(
            "plumber",
            "Plumbing",
            (("plumbing", "Plumbing"), ("waterheaterinstallrepair", "Water Heater Installation/Repair")),
            "plumber",
            "Plumber",
            ("plumber", "plumbing", "drain", "rooter"),
            (
                "{place} Plumbing",
                "{surname} Plumbing & Drain",
                "{adj} Plumbing Co",
                "{first}'s Plumbing",
                "{place} Rooter",
                "{surname} & Sons Plumbing",
                "{adj} Pipe & Drain",
                "{place} Plumbing and Heating",
            ),
        ),
        VerticalSpec(
            "vet",
            "Veterinarians",
            (("vet", "Veterinarians"), ("petservices", "Pet Services")),
            "veterinary_care",
            "Veterinarian",
            ("vet", "veterinarian", "veterinary", "animal hospital", "pet clinic"),
            (
                "{place} Family Pet Clinic",
                "{place} Veterinary Hospital",
                "{surname} Animal Hospital",
                "{adj} Paws Veterinary",
                "{place} Animal Clinic",
                "{adj} Pet Care Center",
                "{surname} Veterinary Clinic",
            ),
        ),
        VerticalSpec(
            "electrician",
            "Electricians",
            (("electricians", "Electricians"),),
            "electrician",
            "Electrician",
            ("electrician", "electrical", "electric"),
            (
                "{place} Electric",
                "{surname} Electrical Services",
                "{adj} Electric Co",
                "{first}'s Electric",
                "{surname} & Sons Electric",
                "{adj} Wiring & Electrical",
            ),
        ),
        VerticalSpec(
            "roofer",
            "Roofing",
            (("roofing", "Roofing"), ("gutterservices", "Gutter Services")),
            "roofing_contractor",
            "Roofing Contractor",
            ("roofer", "roofing", "roof"),
            (
                "{place} Roofing",
                "{surname} Roofing & Exteriors",
                "{adj} Roof Co",
                "{first}'s Roofing",
                "{adj} Roofing and Gutters",
            ),
        ),
        VerticalSpec(
            "dentist",
            "General Dentistry",
            (("generaldentistry", "General Dentistry"), ("dentists", "Dentists")),
            "dentist",
            "Dentist",
            ("dentist", "dental", "dentistry"),
            (
                "{place} Family Dentistry",
                "{surname} Dental",
                "{adj} Smiles Dental",
                "{place} Dental Care",
                "{surname} Family Dental",
            ),
        ),
    )
}

# Chain brands: same name and domain at every location, a location path on the site.
CHAINS: dict[str, tuple[tuple[str, str], ...]] = {
    "hvac": (("One Hour Heating & Air Conditioning", "onehourheatandair.com"), ("Aire Serv", "aireserv.com")),
    "plumber": (
        ("Mr. Rooter Plumbing", "mrrooter.com"),
        ("Benjamin Franklin Plumbing", "benjaminfranklinplumbing.com"),
    ),
    "vet": (("Banfield Pet Hospital", "banfield.com"), ("VCA Animal Hospital", "vcahospitals.com")),
    "electrician": (("Mister Sparky", "mistersparky.com"),),
    "dentist": (("Aspen Dental", "aspendental.com"),),
}

_ALIAS_TO_VERTICAL = {alias: spec.name for spec in VERTICALS.values() for alias, _ in spec.yelp_categories[:1]}


def normalize_vertical(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", (name or "").strip().lower()).strip("_") or "business"


@functools.lru_cache(maxsize=512)
def vertical_spec(name: str) -> VerticalSpec:
    """The spec of a named vertical, or a generic one built from the name."""
    key = normalize_vertical(name)
    if key in VERTICALS:
        return VERTICALS[key]
    title = key.replace("_", " ").title()
    return VerticalSpec(
        key,
        title,
        ((key.replace("_", ""), title),),
        key,
        title,
        (key.replace("_", " "),),
        ("{place} {title}", "{surname} {title}", "{adj} {title} Co", "{first}'s {title}", "{place} {title} Services"),
    )


def vertical_for_yelp_category(alias: str) -> str:
    """Map a Yelp category alias back to a vertical name (generic for unknown aliases)."""
    alias = alias.strip().lower()
    return _ALIAS_TO_VERTICAL.get(alias, normalize_vertical(alias))


def vertical_for_text(text: str) -> str | None:
    """Find the vertical a free-text query asks for ("hvac contractor in 98908" -> hvac)."""
    lowered = f" {text.lower()} "
    for spec in VERTICALS.values():
        if any(re.search(rf"\b{re.escape(word)}", lowered) for word in spec.keywords):
            return spec.name
    return None
