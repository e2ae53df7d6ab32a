"""Blocking keys: a new lead is compared only with entities sharing one of these.

Phone, domain, email and street (number + street name) are exact keys and are
not scoped by geography: they are selective on their own, and they are what
finds a duplicate whose ZIP is missing (its geography key differs). Name keys
are phonetic and coarse, so they are scoped by the geography key: "Subway" in
every ZIP3 would otherwise be one giant block.
"""

from __future__ import annotations

import jellyfish

from stages.dedupe.record import Profile


def _phonetic(token: str) -> str:
    return jellyfish.nysiis(token) if token.isalpha() else token


def name_keys(name: str, geo: str) -> list[str]:
    """Phonetic keys of a normalized name within a geography."""
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
KEY_WEIGHTS = {"p": 3, "d": 3, "m": 3, "a": 3, "n": 2, "n2": 2}
MIN_SUPPORT = 2


def key_weights(keys: list[str]) -> list[int]:
    return [KEY_WEIGHTS[key.split(":", 1)[0]] for key in keys]


def blocking_keys(profile: Profile) -> list[str]:
    """Every key under which this profile is indexed and looked up."""
    keys: list[str] = []
    if profile.phone:
        keys.append("p:" + profile.phone)
    keys.extend("d:" + d for d in profile.domains)
    if profile.email:
        keys.append("m:" + profile.email)
    address = profile.address
    if address.known:
        keys.append(f"a:{address.number}:{address.street.replace(' ', '')}")
    keys.extend(name_keys(profile.name, profile.geo))
    return keys
