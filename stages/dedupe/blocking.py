"""Blocking keys: a new lead is compared only with entities sharing one of these.

No key depends on one field alone being present or spelled alike: a pair is
compared when it shares a normalized phone, a site or mailbox, a street number
and street name, a phonetic name key, or a strong name token together with the
street number or the street name. So two listings of one business meet even when
their ZIP, state, city or phone differ or are missing.

Every key is scoped by the dedupe partition key (``geo``, the state; see
`schemas.geo.dedupe_key`): all listings that can be duplicates share it, so
scoping changes no answer, and it makes the engine's answers independent of which
regions share a Kafka partition — `leadstream dedupe` and the stream agree.
"""

from __future__ import annotations

import math
from functools import lru_cache

import jellyfish

from stages.dedupe.record import Profile
from stages.dedupe.vocabulary import GENERIC_WORDS


@lru_cache(maxsize=50_000)
def _phonetic(token: str) -> str:
    """A name word's phonetic code (NYSIIS; a word with a digit as it is). Memoized, bounded like the normalizers'
    caches: every lead codes its name's first two words, and words repeat across names far more than names do (the
    Rust NYSIIS splits its input into graphemes first: ~3,500 instructions a call)."""
    return jellyfish.nysiis(token) if token.isalpha() else token


def strong_tokens(name: str, limit: int = 2) -> list[str]:
    """The name's most distinctive words: the longest non-generic tokens of three letters or more."""
    tokens = {t for t in name.split() if len(t) >= 3 and t not in GENERIC_WORDS}
    return sorted(tokens, key=lambda t: (-len(t), t))[:limit]


def name_keys(name: str, geo: str) -> list[str]:
    """Phonetic keys of a normalized name within a region."""
    tokens = name.split()
    if not tokens:
        return []
    keys = [f"n:{geo}:{jellyfish.metaphone(''.join(tokens))[:6]}"]  # "Roto Rooter" == "RotoRooter"
    head = [_phonetic(t) for t in tokens[:2]]
    if len(head) == 2:
        keys.append(f"n2:{geo}:{':'.join(sorted(head))}")  # first two words, either order
    return keys


# How much sharing a key says: candidates are ranked by summed weights, exact
# contact keys first, and only the best MAX_CANDIDATES are scored.
# A token with the street name alone ("ts") is common: it needs a second key to reach MIN_SUPPORT.
# "gt": the name's strongest token in the map cell of the listing's point (round 17; `cell_keys`).
KEY_WEIGHTS = {"p": 3, "d": 3, "m": 3, "a": 3, "n": 2, "n2": 2, "tn": 2, "ts": 1, "gt": 2}
MIN_SUPPORT = 2


# How many of the name's strong tokens go into the map-cell keys.
CELL_TOKENS = 1
# The map cell's side in degrees of latitude and of longitude: about 445 m north–south, 340 m east–west at 40° N.
CELL_DEG = 0.004


def cell(lat: float, lng: float) -> tuple[int, int]:
    """The map cell a point lies in: where a listing with a point is indexed (`cell_keys`)."""
    return math.floor(lng / CELL_DEG), math.floor(lat / CELL_DEG)


def cells_around(lat: float, lng: float) -> list[tuple[int, int]]:
    """The four cells of the 2 × 2 block of cells nearest the point, its own cell among them: where a lead with a
    point looks (`lookup_keys`). On each axis they cover more than half a cell's side on either side of the point,
    so a listing less than half a side away on each axis (about 220 m north–south, 170 m east–west at 40° N) is
    always found, wherever the cell edges fall, whichever of the two came first. Listed under one cell and
    looked up in four, a point costs one index entry, not four."""
    x, y = math.floor(lng / CELL_DEG - 0.5), math.floor(lat / CELL_DEG - 0.5)
    return [(x + i, y + j) for i in (0, 1) for j in (0, 1)]


def cell_keys(profile: Profile, tokens: list[str] | None = None) -> list[str]:
    """The name's strongest token in the cell of the listing's point (none without a point), the key the listing is
    indexed under: two listings a few hundred metres apart whose names share that word meet (`lookup_keys`), though
    a street line is missing on one side (a map's bare name) or written apart, the phone differs and the names are
    not alike as wholes. A cell alone (no name) would list every business of a block and of a mall. ``tokens``: the
    name's first ``CELL_TOKENS`` `strong_tokens`, when the caller has them."""
    lat, lng = profile.lat, profile.lng
    if lat is None or lng is None:
        return []
    if tokens is None:
        tokens = strong_tokens(profile.name, CELL_TOKENS)
    cx, cy = cell(lat, lng)
    return [f"gt:{profile.geo}:{cx}:{cy}:{t}" for t in tokens]


def neighbour_cell_keys(profile: Profile, tokens: list[str] | None = None) -> list[str]:
    """The map-cell keys of the other three cells of the 2 × 2 block nearest the point (`cells_around`): looked up,
    never indexed. ``tokens``: the name's first ``CELL_TOKENS`` `strong_tokens`, when the caller has them."""
    lat, lng = profile.lat, profile.lng
    if lat is None or lng is None:
        return []
    if tokens is None:
        tokens = strong_tokens(profile.name, CELL_TOKENS)
    if not tokens:
        return []
    own = cell(lat, lng)
    head = f"gt:{profile.geo}:"
    return [f"{head}{cx}:{cy}:{t}" for cx, cy in cells_around(lat, lng) if (cx, cy) != own for t in tokens]


def lookup_keys(profile: Profile, keys: list[str] | None = None) -> list[str]:
    """The keys a lead is looked up under: its `blocking_keys` (``keys``, when the caller has them) and the
    neighbouring map cells of its point."""
    keys = blocking_keys(profile) if keys is None else keys
    return [*keys, *neighbour_cell_keys(profile)] if profile.lat is not None else keys


def keys_of(profile: Profile) -> tuple[list[str], list[str]]:
    """The profile's `blocking_keys` and its `lookup_keys` (which begin with them), the name's tokens found once."""
    keys, tokens = _keys_and_tokens(profile)
    if profile.lat is None:
        return keys, keys
    return keys, [*keys, *neighbour_cell_keys(profile, tokens[:CELL_TOKENS])]


def key_weights(keys: list[str]) -> list[int]:
    return [KEY_WEIGHTS[key.partition(":")[0]] for key in keys]


def phone_key(profile: Profile) -> str | None:
    return f"p:{profile.geo}:{profile.phone}" if profile.phone else None


def address_key(profile: Profile) -> str | None:
    address = profile.address
    return f"a:{profile.geo}:{address.number}:{address.street}" if address.known else None


def blocking_keys(profile: Profile) -> list[str]:
    """Every key under which this profile is indexed and looked up (a lead with a point is looked up in the
    neighbouring map cells too: `lookup_keys`)."""
    return _keys_and_tokens(profile)[0]


def _keys_and_tokens(profile: Profile) -> tuple[list[str], list[str]]:
    """`blocking_keys`, and the name's `strong_tokens` they were built from."""
    geo = profile.geo
    keys: list[str] = []
    if profile.phone:
        keys.append(f"p:{geo}:{profile.phone}")
    keys.extend(f"d:{geo}:{d}" for d in profile.domains)
    if profile.email:
        keys.append(f"m:{geo}:{profile.email}")
    address = profile.address
    if address.known:
        keys.append(f"a:{geo}:{address.number}:{address.street}")
    keys.extend(name_keys(profile.name, geo))
    tokens = strong_tokens(profile.name)
    for token in tokens:
        if address.number:
            keys.append(f"tn:{geo}:{token}:{address.number}")
        if address.street:
            keys.append(f"ts:{geo}:{token}:{address.street}")
    if profile.lat is not None:
        keys.extend(cell_keys(profile, tokens[:CELL_TOKENS]))
    return keys, tokens
