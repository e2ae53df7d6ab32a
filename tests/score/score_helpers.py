"""Shared helpers of the scoring tests: leads built field by field, and one-rule rule sets."""

from __future__ import annotations

import textwrap
from typing import Any

import yaml

from schemas.lead import Contact, Enrichment, Lead, Performance, Tech
from stages.score.rules import RuleSet, parse_rules

SETTINGS = {"base": 50, "min": 0, "max": 100, "tiers": {"A": 75, "B": 55, "C": 35, "D": 0}, "qualify": ["A", "B", "C"]}


def make_lead(
    *,
    tech: dict[str, str | None] | None = None,
    perf: dict[str, Any] | None = None,
    contacts: list[tuple[str, str]] | None = None,
    enriched: bool = True,
    status: str = "ok",
    modern_site: bool = False,
    **fields: Any,
) -> Lead:
    """A Lead; ``tech`` maps names to versions, ``contacts`` is [(email, kind)]."""
    base = {"lead_id": "ld_test", "geo_key": "z941", "source": "yelp", "name": "Acme Heating", "zip": "94110"}
    base.update(fields)
    if enriched:
        base["enrichment"] = Enrichment(
            status=status,
            tech=[Tech(name=name, version=version) for name, version in (tech or {}).items()],
            performance=Performance(**perf) if perf is not None else None,
            contacts=[Contact(email=email, kind=kind) for email, kind in (contacts or [])],
            modern_site=modern_site,
        )
    return Lead(**base)


def one_rule(condition: Any, delta: float = 10) -> RuleSet:
    """A rule set whose only rule has ``condition`` (a Python value dumped to YAML, or YAML text)."""
    doc = {"settings": SETTINGS, "rules": [{"name": "r", "description": "d", "condition": condition, "delta": delta}]}
    return parse_rules(yaml.safe_dump(doc, sort_keys=False), "test.yaml")


def matches(condition: Any, lead: Lead) -> bool:
    return bool(one_rule(condition).score(lead).rules)


def dedent(text: str) -> str:
    return textwrap.dedent(text).lstrip("\n")
