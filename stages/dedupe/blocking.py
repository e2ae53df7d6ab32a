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

import jellyfish

from stages.dedupe.normalize import GENERIC_WORDS
from stages.dedupe.record import Profile


def _phonetic(token: str) -> str:
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
KEY_WEIGHTS = {"p": 3, "d": 3, "m": 3, "a": 3, "n": 2, "n2": 2, "tn": 2, "ts": 1}
MIN_SUPPORT = 2


def key_weights(keys: list[str]) -> list[int]:
    return [KEY_WEIGHTS[key.split(":", 1)[0]] for key in keys]


def phone_key(profile: Profile) -> str | None:
    return f"p:{profile.geo}:{profile.phone}" if profile.phone else None


def address_key(profile: Profile) -> str | None:
    address = profile.address
    return f"a:{profile.geo}:{address.number}:{address.street}" if address.known else None


def blocking_keys(profile: Profile) -> list[str]:
    """Every key under which this profile is indexed and looked up."""
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
    for token in strong_tokens(profile.name):
        if address.number:
            keys.append(f"tn:{geo}:{token}:{address.number}")
        if address.street:
            keys.append(f"ts:{geo}:{token}:{address.street}")
    return keys
