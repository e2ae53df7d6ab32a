"""How good is an LLM concept? A 0..1 score the mockup stage compares to its threshold.

Three parts, weighted: layout (a hero, a way to act, enough sections), copy
(present and of sane length, measured on the visible text after sanitizing)
and relevance (share of detected problems the improvements address). Any
markup the sanitizer had to strip (script, handlers, images, links) makes the
score 0: such output is not trusted even once cleaned.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from schemas.concept import Concept
from stages.mockup.content import concept_texts, has_active_content, plain_text

WEIGHTS = {"layout": 0.35, "copy": 0.30, "relevance": 0.35}
MIN_IMPROVEMENT_CHARS = 15


@dataclass(frozen=True)
class Quality:
    score: float
    layout: float
    copy: float
    relevance: float
    notes: list[str] = field(default_factory=list)


def _within(text: str, low: int, high: int) -> bool:
    return low <= len(plain_text(text)) <= high


def _layout(concept: Concept, notes: list[str]) -> float:
    kinds = [s.kind for s in concept.sections]
    checks = {
        "hero section": "hero" in kinds,
        "contact or cta section": "contact" in kinds or "cta" in kinds,
        "at least 3 sections": len(kinds) >= 3,
        "at most 8 sections": len(kinds) <= 8,
    }
    notes.extend(f"layout: missing {name}" for name, ok in checks.items() if not ok)
    return sum(checks.values()) / len(checks)


def _copy(concept: Concept, notes: list[str]) -> float:
    checks = [
        ("headline 8-90 chars", _within(concept.headline, 8, 90)),
        ("subheadline 20-220 chars", _within(concept.subheadline, 20, 220)),
        ("call to action 2-40 chars", _within(concept.call_to_action.label, 2, 40)),
    ]
    for section in concept.sections:
        checks.append((f"{section.kind} title 2-80 chars", _within(section.title, 2, 80)))
        bullets_ok = 1 <= len(section.bullets) <= 8 and all(_within(b, 2, 280) for b in section.bullets)
        checks.append((f"{section.kind} body 1-8 lines of 2-280 chars", bullets_ok))
    notes.extend(f"copy: {name} failed" for name, ok in checks if not ok)
    return sum(ok for _, ok in checks) / len(checks)


def _relevance(concept: Concept, problems: Sequence[str], notes: list[str]) -> float:
    if not problems:
        return 1.0
    covered = {item.problem for item in concept.improvements if len(plain_text(item.text)) >= MIN_IMPROVEMENT_CHARS}
    missing = [code for code in problems if code not in covered]
    if missing:
        notes.append(f"relevance: no improvement for {', '.join(missing)}")
    return (len(problems) - len(missing)) / len(problems)


def score_concept(concept: Concept, problems: Sequence[str]) -> Quality:
    """Score a concept against the problems detected on the lead's site."""
    notes: list[str] = []
    if any(has_active_content(text) for text in concept_texts(concept)):
        return Quality(0.0, 0.0, 0.0, 0.0, ["unsafe: markup had to be removed by the sanitizer"])
    layout, copy, relevance = _layout(concept, notes), _copy(concept, notes), _relevance(concept, problems, notes)
    total = WEIGHTS["layout"] * layout + WEIGHTS["copy"] * copy + WEIGHTS["relevance"] * relevance
    return Quality(round(total, 3), round(layout, 3), round(copy, 3), round(relevance, 3), notes)
