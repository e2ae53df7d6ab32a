"""Plain data of a compiled rule file, and the error type that lists every problem in it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

Facts = dict[str, Any]
Predicate = Callable[[Facts], bool]


@dataclass(frozen=True)
class RuleIssue:
    """One problem in a rules file, printed the way compilers do: ``FILE:LINE: problem``."""

    file: str
    line: int | None
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.message}" if self.line else f"{self.file}: {self.message}"


class RulesError(Exception):
    """A rules file is invalid. ``errors`` holds every problem found, not just the first."""

    def __init__(self, errors: list[RuleIssue]):
        self.errors = list(errors)
        super().__init__("\n".join(str(issue) for issue in self.errors))

    def __str__(self) -> str:
        count = len(self.errors)
        head = f"{count} problem{'s' if count != 1 else ''} in rules:"
        return "\n".join([head, *(f"  {issue}" for issue in self.errors)])


@dataclass(frozen=True)
class Tier:
    name: str
    threshold: float


@dataclass(frozen=True)
class ScoreSettings:
    """The arithmetic frame: starting value, clamp bounds, tiers (high to low) and qualified tiers."""

    base: float
    minimum: float
    maximum: float
    tiers: tuple[Tier, ...]
    qualify: frozenset[str]

    def tier_for(self, value: float) -> str:
        for tier in self.tiers:
            if value >= tier.threshold:
                return tier.name
        return self.tiers[-1].name  # unreachable for a validated file: the lowest threshold is <= minimum


@dataclass(frozen=True)
class Rule:
    """A named condition that adds ``delta`` (a rule) or multiplies by ``factor`` (a multiplier)."""

    name: str
    description: str
    amount: float
    test: Predicate = field(repr=False, compare=False)
    line: int | None = None
