"""Scoring: rules score every lead, then `Scorer` decides whether it goes on to outreach.

Disqualification reasons, checked in this order (the first that applies wins):
``modern_site`` (enrichment judged the site modern: nothing to sell),
``no_contact`` (no address to write to), ``below_threshold`` (the tier is not
one the rules qualify). Every lead is scored either way so counters and
histograms see the whole population.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from pathlib import Path
from typing import Protocol

import orjson
from pydantic import ValidationError

from schemas.lead import Lead, RawLead, Score
from stages.score.rules import BELOW_THRESHOLD, RuleSet, format_explanation, load_rules

MODERN_SITE = "modern_site"
NO_CONTACT = "no_contact"
HISTOGRAM_BUCKET = 10  # width of a score-histogram bucket

__all__ = [
    "BELOW_THRESHOLD",
    "MODERN_SITE",
    "NO_CONTACT",
    "Scorer",
    "counter_keys",
    "format_explanation",
    "score_jsonl",
]


class RulesProvider(Protocol):
    def current(self) -> RuleSet: ...


class Scorer:
    """Scores leads with whatever rules the provider holds now (a `RulesSource`, or a fixed `RuleSet`)."""

    def __init__(self, rules_provider: RulesProvider):
        self.rules_provider = rules_provider

    def score(self, lead: Lead) -> tuple[Score, str | None]:
        """The lead's score and why it is disqualified (None when it goes on to outreach).

        When disqualified, the returned Score says so too: ``qualified`` is false and ``reason`` is set.
        """
        score = self.rules_provider.current().score(lead)
        reason = disqualify_reason(lead, score)
        if reason is not None and (score.qualified or score.reason != reason):
            score = score.model_copy(update={"qualified": False, "reason": reason})
        return score, reason

    def apply(self, lead: Lead) -> tuple[Lead, str | None]:
        """The lead with its score attached, and the disqualification reason."""
        score, reason = self.score(lead)
        return lead.model_copy(update={"score": score}), reason


def disqualify_reason(lead: Lead, score: Score) -> str | None:
    if lead.enrichment is not None and lead.enrichment.modern_site:
        return MODERN_SITE
    if lead.best_email() is None:
        return NO_CONTACT
    if not score.qualified:
        return BELOW_THRESHOLD
    return None


def _part(text: str | None) -> str:
    return (text or "unknown").strip().lower().replace(":", "_").replace(" ", "_") or "unknown"


def counter_keys(lead: Lead, score: Score, bucket_width: int = HISTOGRAM_BUCKET) -> list[str]:
    """Table keys to increment for one scored lead.

    ``tier:<geo_key>:<vertical>:<tier>`` counts leads per geography × vertical × tier;
    ``hist:<geo_key>:<bucket>`` counts scores per bucket, where bucket is the lower
    bound of a ``bucket_width``-wide range (72.5 → 70). Both start with the lead's
    geo_key, the message key, so a partition's counts stay on that partition.
    """
    geo, vertical = _part(lead.geo_key), _part(lead.vertical)
    bucket = int(math.floor(score.value / bucket_width) * bucket_width)
    return [f"tier:{geo}:{vertical}:{score.tier}", f"hist:{geo}:{bucket}"]


def _parse_lead(line: bytes) -> Lead:
    data = orjson.loads(line)
    if isinstance(data, dict) and "geo_key" in data:
        return Lead.model_validate(data)
    return Lead.from_raw(RawLead.model_validate(data))


def score_jsonl(input_path: str | Path, rules_path: str | Path) -> Iterator[tuple[str, Score]]:
    """(lead_id, Score) for each line of a JSONL file of `Lead` or `RawLead` records.

    Runs the full stage decision, so a score's ``reason`` shows modern_site / no_contact
    as the pipeline would. Raises RulesError for invalid rules and ValueError naming the
    line for a record that is not a lead.
    """
    scorer = Scorer(load_rules(rules_path))
    with open(input_path, "rb") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                lead = _parse_lead(line)
            except (orjson.JSONDecodeError, ValidationError, TypeError) as exc:
                raise ValueError(f"{input_path}:{number}: not a lead record: {exc}") from exc
            yield lead.lead_id, scorer.score(lead)[0]
