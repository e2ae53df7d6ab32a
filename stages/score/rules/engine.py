"""Scoring a lead with a compiled rule set, and the one formula that defines a score.

    value = clamp(round((base + Σ deltas) × Π factors, 2), min, max)

Σ is ``math.fsum`` (exact, so the order of deltas does not matter); Π is taken
in the order the multipliers are listed (the order they appear in the score's
explanation). `compute_value` is that formula; the engine and anyone checking an
explanation call the same function, so a score's explanation reproduces its
value exactly.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from schemas.lead import Lead, Score
from stages.score.rules.model import Rule, ScoreSettings

BELOW_THRESHOLD = "below_threshold"
DECIMALS = 2


def compute_value(
    base: float, deltas: Iterable[float], factors: Iterable[float], minimum: float, maximum: float
) -> float:
    """The score formula: sum exactly, multiply in order, round to 2 decimals, then clamp."""
    raw = math.fsum([base, *deltas])
    for factor in factors:
        raw *= factor
    if math.isnan(raw):  # only reachable through overflow (inf × 0); treat as the floor
        raw = minimum
    return min(max(round(raw, DECIMALS), minimum), maximum)


def reproduce_value(score: Score, minimum: float, maximum: float) -> float:
    """Recompute a score's value from its explanation alone (base, deltas, factors)."""
    return compute_value(
        score.base, (h.delta for h in score.rules), (m.factor for m in score.multipliers), minimum, maximum
    )


@dataclass(frozen=True)
class RuleSet:
    """A validated, compiled rules file. Immutable: a reload builds a new one."""

    version: str
    settings: ScoreSettings
    rules: tuple[Rule, ...]
    multipliers: tuple[Rule, ...]
    extract: Callable[[Lead], dict[str, Any]] = field(repr=False, compare=False)  # the facts the conditions read
    text: str = field(repr=False)
    source: str = ""

    def score(self, lead: Lead) -> Score:
        facts = self.extract(lead)
        hits = [rule for rule in self.rules if rule.test(facts)]
        factors = [mult for mult in self.multipliers if mult.test(facts)]
        s = self.settings
        value = compute_value(s.base, [r.amount for r in hits], [m.amount for m in factors], s.minimum, s.maximum)
        tier = s.tier_for(value)
        qualified = tier in s.qualify
        # One validation call over plain dicts is much faster than building each hit model.
        return Score.model_validate(
            {
                "value": value,
                "tier": tier,
                "qualified": qualified,
                "reason": None if qualified else BELOW_THRESHOLD,
                "rules_version": self.version,
                "base": s.base,
                "rules": [{"rule": r.name, "delta": r.amount} for r in hits],
                "multipliers": [{"multiplier": m.name, "factor": m.amount} for m in factors],
            }
        )

    def current(self) -> RuleSet:
        """A fixed rule set is its own rules provider (see `stages.score.ScoreStage`)."""
        return self

    def describe(self, name: str) -> str | None:
        """The description of a rule or multiplier, for explanations."""
        for item in (*self.rules, *self.multipliers):
            if item.name == name:
                return item.description
        return None
