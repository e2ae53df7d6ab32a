"""Human-readable explanation of a score: every term of the formula, in order."""

from __future__ import annotations

from schemas.lead import Score
from stages.score.rules.engine import RuleSet


def _num(value: float) -> str:
    return f"{value:g}"


def format_explanation(score: Score, rules: RuleSet | None = None) -> str:
    """Lines a person can check by hand: base, each +delta, each ×factor, then the result.

    With ``rules`` the lines also carry each rule's description and the clamp bounds.
    """
    verdict = "qualified" if score.qualified else f"not qualified: {score.reason}"
    lines = [
        f"score {_num(score.value)}  tier {score.tier}  ({verdict})  rules {score.rules_version}",
        f"  {'base':>10}  {_num(score.base)}",
    ]
    for hit in score.rules:
        note = rules.describe(hit.rule) if rules else None
        lines.append(f"  {format(hit.delta, '+g'):>10}  {hit.rule}" + (f"  — {note}" if note else ""))
    for hit in score.multipliers:
        note = rules.describe(hit.multiplier) if rules else None
        lines.append(f"  {'×' + _num(hit.factor):>10}  {hit.multiplier}" + (f"  — {note}" if note else ""))
    bounds = f", clamped to [{_num(rules.settings.minimum)}, {_num(rules.settings.maximum)}]" if rules else ""
    lines.append(f"  {'=':>10}  {_num(score.value)}  (rounded to 2 decimals{bounds})")
    return "\n".join(lines)
