"""Scrape-stage logic: one lead per business, whatever the number of sources that found it.

The same business found by two sources (Yelp and Google) becomes one lead with
both source ids. Fields come from the highest-priority source that has them:
Google Places first (it carries the website and a structured address), then
Yelp, then anything else.
"""

from __future__ import annotations

import re

from schemas import RawLead

SOURCE_PRIORITY = ("google", "yelp")
_NON_DIGITS = re.compile(r"\D+")
_NAME_NOISE = re.compile(r"[^a-z0-9]+")
_MERGED_FIELDS = ("name", "street", "city", "state", "zip", "phone", "website", "email", "vertical", "category")


def _rank(source: str) -> int:
    return SOURCE_PRIORITY.index(source) if source in SOURCE_PRIORITY else len(SOURCE_PRIORITY)


def business_key(raw: RawLead) -> str:
    """Phone digits when known (the sources' most reliable shared field), else name + ZIP."""
    digits = _NON_DIGITS.sub("", raw.phone or "")[-10:]
    if len(digits) == 10:
        return "p:" + digits
    return "n:" + _NAME_NOISE.sub("", raw.name.lower()) + ":" + (raw.zip or "")


def merge_sources(found: list[RawLead]) -> list[RawLead]:
    """Merge the results of several sources for one ZIP × vertical; keeps first-seen order."""
    groups: dict[str, list[RawLead]] = {}
    for raw in found:
        groups.setdefault(business_key(raw), []).append(raw)
    merged = []
    for group in groups.values():
        group.sort(key=lambda r: _rank(r.source))
        best = group[0]
        fields = {f: next((getattr(r, f) for r in group if getattr(r, f)), None) for f in _MERGED_FIELDS}
        source_ids: dict[str, str] = {}
        for raw in group:
            source_ids.update(raw.source_ids)
        merged.append(best.model_copy(update={**fields, "source_ids": source_ids, "lead_id": None}))
    return merged
