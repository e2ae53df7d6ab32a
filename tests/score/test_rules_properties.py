"""Property tests over random rule files and random leads."""

from __future__ import annotations

import math
from fractions import Fraction

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from score_strategies import conditions, dump, leads, oracle, rule_docs

from stages.score.rules import parse_rules, reproduce_value

PROPS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@PROPS
@given(doc=rule_docs(), lead=leads())
def test_score_always_lies_within_min_and_max(doc, lead):
    score = parse_rules(dump(doc)).score(lead)
    assert doc["settings"]["min"] <= score.value <= doc["settings"]["max"]


@PROPS
@given(doc=rule_docs(), lead=leads(), never=conditions, where=st.integers(0, 8), delta=st.floats(-40, 40))
def test_a_rule_that_matches_nothing_never_changes_a_score(doc, lead, never, where, delta):
    before = parse_rules(dump(doc)).score(lead)
    impossible = {"all": [never, {"not": never}]}
    doc["rules"].insert(
        min(where, len(doc["rules"])),
        {"name": "never", "description": "contradiction", "condition": impossible, "delta": delta},
    )
    doc["multipliers"].append({"name": "never_m", "description": "contradiction", "condition": impossible, "factor": 0})
    after = parse_rules(dump(doc)).score(lead)
    assert after == before


@PROPS
@given(doc=rule_docs(), batch=st.lists(leads(), min_size=1, max_size=12))
def test_explanation_reproduces_the_score_exactly(doc, batch):
    rules = parse_rules(dump(doc))
    s = doc["settings"]
    for lead in batch:
        score = rules.score(lead)
        # The documented formula, written out independently of the engine.
        raw = math.fsum([score.base, *(hit.delta for hit in score.rules)])
        for hit in score.multipliers:
            raw *= hit.factor
        assert score.value == min(max(round(raw, 2), s["min"]), s["max"])
        assert score.value == reproduce_value(score, s["min"], s["max"])
        # ... and that formula is the real arithmetic, to within the 2-decimal rounding.
        exact = Fraction(s["base"]) + sum((Fraction(h.delta) for h in score.rules), Fraction(0))
        for hit in score.multipliers:
            exact *= Fraction(hit.factor)
        clamped = min(max(exact, Fraction(s["min"])), Fraction(s["max"]))
        assert abs(Fraction(score.value) - clamped) <= Fraction(1, 200) + Fraction(1, 10**9)
        # The explanation names exactly the matching rules (per an independent reading of the
        # documented semantics), with their own deltas/factors, in file order.
        assert [(h.rule, h.delta) for h in score.rules] == [
            (r["name"], r["delta"]) for r in doc["rules"] if oracle(r["condition"], lead)
        ]
        assert [(m.multiplier, m.factor) for m in score.multipliers] == [
            (m["name"], m["factor"]) for m in doc["multipliers"] if oracle(m["condition"], lead)
        ]


@PROPS
@given(doc=rule_docs(), lead=leads())
def test_tier_is_the_first_threshold_reached_and_qualification_follows_it(doc, lead):
    score = parse_rules(dump(doc)).score(lead)
    tiers = doc["settings"]["tiers"]
    expected = next(name for name, threshold in tiers.items() if score.value >= threshold)
    assert score.tier == expected
    assert score.qualified == (expected in doc["settings"]["qualify"])
    assert score.reason == (None if score.qualified else "below_threshold")
    assert score.rules_version == "hypothesis"
