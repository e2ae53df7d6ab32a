"""Pair comparison: per-field similarities turned into model features.

Each feature is 0 when a side lacks the field, so a missing value neither helps
nor hurts; agreement is positive, disagreement negative. Fuzzy similarities are
binned (Fellegi–Sunter style levels) because "0.85 alike" means very different
things for a name and for a street.
"""

from __future__ import annotations

from jellyfish import jaro_winkler_similarity
from rapidfuzz import fuzz

from stages.dedupe.record import Profile

FEATURES = (
    "name_exact",
    "name_high",
    "name_mid",
    "name_low",
    "name_jw",
    "name_partial",
    "name_sort",
    "phone",
    "domain",
    "email",
    "street_number",
    "street_name",
    "unit",
    "zip",
    "city",
    "category",
)


def _sign(a: object, b: object) -> float:
    if not a or not b:
        return 0.0
    return 1.0 if a == b else -1.0


def addresses_conflict(a: Profile, b: Profile) -> bool:
    """Both street lines known and different: never the same business (chains, neighbours)."""
    x, y = a.address, b.address
    if not (x.known and y.known):
        return False
    if x.number != y.number:
        return True
    if x.street != y.street and fuzz.ratio(x.street, y.street) < 70:
        return True
    return bool(x.unit and y.unit and x.unit != y.unit)


def compare(a: Profile, b: Profile) -> list[float]:
    """The feature vector of one pair, in `FEATURES` order."""
    features = [0.0] * len(FEATURES)
    if a.name and b.name:
        tset = fuzz.token_set_ratio(a.name, b.name) / 100.0
        compact_a, compact_b = a.name.replace(" ", ""), b.name.replace(" ", "")
        if compact_a == compact_b:
            features[0] = 1.0
        elif tset >= 0.92:
            features[1] = 1.0
        elif tset >= 0.75:
            features[2] = 1.0
        else:
            features[3] = 1.0
        features[4] = 2.0 * jaro_winkler_similarity(compact_a, compact_b) - 1.0
        features[5] = 2.0 * fuzz.partial_ratio(compact_a, compact_b) / 100.0 - 1.0
        features[6] = 2.0 * fuzz.token_sort_ratio(a.name, b.name) / 100.0 - 1.0
    features[7] = _sign(a.phone, b.phone)
    if a.domains and b.domains:
        features[8] = 1.0 if set(a.domains) & set(b.domains) else -1.0
    features[9] = _sign(a.email, b.email)
    x, y = a.address, b.address
    features[10] = _sign(x.number, y.number)
    if x.street and y.street:
        features[11] = 2.0 * fuzz.ratio(x.street, y.street) / 100.0 - 1.0
    features[12] = _sign(x.unit, y.unit)
    features[13] = _sign(a.zip, b.zip)
    if a.city and b.city:
        features[14] = 2.0 * fuzz.ratio(a.city, b.city) / 100.0 - 1.0
    if a.category and b.category:
        features[15] = 2.0 * fuzz.token_set_ratio(a.category, b.category) / 100.0 - 1.0
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
