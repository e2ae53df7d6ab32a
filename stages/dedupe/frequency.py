"""Name-token frequencies counted in the state: the term-frequency adjustment.

A word that many entities of a region carry ("chicago", "center", an operator
such as "YMCA" or "Easter Seals" that runs many sites) says little about which
business a listing is; a word only one entity carries ("Rauner", "Fosco") says
a lot. Splink scales its agreement weights by how common the agreeing value is;
here the same idea weighs the words of two names by their inverse document
frequency, counted from the data being resolved, not from a fixed list.

Counting: ``T:<geo>:<token>`` is the number of live entities whose first
spelling has the token; ``T:<geo>`` the number of live entities counted. An
entity adds its tokens when it is created and removes them when it is merged
into another or expires (`retention`), so the counts describe the entities the
state holds; they are derived keys (`derived`), updated with the entity record. The CSV tool counts in arrival order exactly as the stream does.
Counts are read only for pairs the model leaves undecided (the gray zone and
near-vetoed pairs), so the common path pays only the writes of a new entity.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from stages.dedupe.features import acronym_spans, glue_split_words, same_token
from stages.dedupe.vocabulary import GENERIC_WORDS

if TYPE_CHECKING:
    from stages.dedupe.state import EntityState

# Words that never identify a business, whatever their count.
_NOISE = frozenset({"and", "the", "of", "at", "a", "an", "on", "in", "inc", "llc", "co", "corp"})
# A kind-of-business or place word starts at half weight: a prior that matters while counts are few.
GENERIC_FACTOR = 0.5


def name_tokens(name: str) -> list[str]:
    """The distinct words of a normalized name that may identify it, in order."""
    seen: list[str] = []
    for token in name.split():
        if len(token) >= 2 and token not in _NOISE and token not in seen:
            seen.append(token)
    return seen


def count_tokens(state: EntityState, geo: str, name: str, delta: int) -> None:
    """Add (``delta`` = 1) or remove (-1) one entity's name from the region's counts."""
    for token in name_tokens(name):
        key = f"T:{geo}:{token}"
        value = (state.get_derived(key) or 0) + delta
        if value > 0:
            state.set_derived(key, value)
        else:
            state.delete_derived(key)
    total = (state.get_derived(f"T:{geo}") or 0) + delta
    if total > 0:
        state.set_derived(f"T:{geo}", total)
    else:
        state.delete_derived(f"T:{geo}")


class TokenWeights:
    """Inverse document frequency of name tokens in one region, read lazily and cached per lead."""

    def __init__(self, state: EntityState, geo: str) -> None:
        self.state, self.geo = state, geo
        self._total: int | None = None
        self._cache: dict[str, float] = {}

    def __call__(self, token: str) -> float:
        weight = self._cache.get(token)
        if weight is None:
            if self._total is None:
                self._total = self.state.get_derived(f"T:{self.geo}") or 0
            df = self.state.get_derived(f"T:{self.geo}:{token}") or 0
            weight = math.log((self._total + 2) / (df + 1))
            if token in GENERIC_WORDS or len(token) <= 2:  # a kind word, or an abbreviation ("ec", "br")
                weight *= GENERIC_FACTOR
            self._cache[token] = weight = max(weight, 0.01)
        return weight


def rare_cover(a: str, b: str, weight: TokenWeights, lighter: bool = True) -> float:
    """Share, by token weight, of the lighter name's words that the other name has (0 … 1); with
    ``lighter=False``, of the heavier name's words.

    "YMCA of Metropolitan Chicago Rauner" / "Rauner Family YMCA": "rauner" is rare and shared, "family"
    is common, so the cover is high; "Joe's Steakhouse" / "Wing Lei Noodle Bar" share nothing: 0.
    """
    ta, tb = name_tokens(a), name_tokens(b)
    ta, tb = glue_split_words(ta, tb), glue_split_words(tb, ta)
    if not ta or not tb:
        return 0.0
    wa, wb = sum(weight(t) for t in ta), sum(weight(t) for t in tb)
    short, other = (ta, tb) if (wa <= wb) == lighter else (tb, ta)
    total = min(wa, wb) if lighter else max(wa, wb)
    spelled = acronym_spans(short, other) if len(short) >= 2 else set()
    hit = sum(weight(t) for i, t in enumerate(short) if i in spelled or same_token(t, other))
    return hit / total if total else 0.0
