"""The score stage decision, counter keys, the JSONL scorer and explanations (default rules)."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest
from score_helpers import make_lead, one_rule

from schemas.lead import RawLead
from stages.score.rules import RulesError, load_rules, reproduce_value
from stages.score.scorer import Scorer, counter_keys, format_explanation, score_jsonl

DEFAULT_RULES = Path(__file__).resolve().parents[2] / "leadstream" / "defaults" / "rules.yaml"


@pytest.fixture(scope="module")
def rules():
    return load_rules(DEFAULT_RULES)


def outdated_site(**overrides):
    fields = dict(
        vertical="hvac",
        phone="4155550100",
        website="http://acme.example",
        tech={"jQuery": "1.12.4", "WordPress": "5.8"},
        perf={"lcp_ms": 5200, "https": False, "mobile_responsive": False},
        contacts=[("jane@acme.example", "personal")],
    )
    fields.update(overrides)
    return make_lead(**fields)


def test_outdated_site_with_a_person_to_write_to_qualifies(rules):
    score, reason = Scorer(rules).score(outdated_site())
    assert reason is None and score.qualified and score.tier == "A"
    assert {"outdated_jquery", "old_wordpress", "no_https", "not_mobile_friendly", "poor_lcp", "personal_email"} <= {
        hit.rule for hit in score.rules
    }
    assert [m.multiplier for m in score.multipliers] == ["good_fit_vertical"]
    assert score.rules_version == rules.version


def test_disqualification_reasons_in_order(rules):
    stage = Scorer(rules)
    # modern_site wins even when there is also no contact and the score is low.
    score, reason = stage.score(outdated_site(modern_site=True, contacts=[], perf={}, tech={}))
    assert reason == "modern_site" and not score.qualified and score.reason == "modern_site"
    # no_contact next, even for a high score.
    score, reason = stage.score(outdated_site(contacts=[]))
    assert reason == "no_contact" and score.tier == "A" and not score.qualified and score.reason == "no_contact"
    # below_threshold last.
    modern_stack = make_lead(
        vertical="bank",
        website="http://bank.example",
        tech={"Next.js": "14.1", "React": "18.2"},
        perf={"lcp_ms": 1200, "https": True, "mobile_responsive": True},
        contacts=[("info@bank.example", "role")],
    )
    score, reason = stage.score(modern_stack)
    assert reason == "below_threshold" and score.tier == "D" and score.reason == "below_threshold"


def test_stage_follows_the_provider_current_rules():
    class Switchable:
        def __init__(self):
            self.rules = one_rule({"vertical": "hvac"}, delta=30)

        def current(self):
            return self.rules

    provider = Switchable()
    stage = Scorer(provider)
    lead = outdated_site()
    assert stage.score(lead)[0].value == 80
    provider.rules = one_rule({"vertical": "hvac"}, delta=-30)
    score, reason = stage.score(lead)
    assert score.value == 20 and reason == "below_threshold"


def test_apply_attaches_the_score(rules):
    lead, reason = Scorer(rules).apply(outdated_site())
    assert lead.score is not None and lead.score.tier == "A" and reason is None


def test_counter_keys():
    lead = outdated_site(geo_key="z941", vertical="Auto Repair")
    score = one_rule({"vertical": "auto repair"}, delta=22.5).score(lead)
    assert score.value == 72.5 and score.tier == "B"
    assert counter_keys(lead, score) == ["tier:z941:auto_repair:B", "hist:z941:70"]
    assert counter_keys(make_lead(vertical=None, geo_key="sCA"), score, bucket_width=25) == [
        "tier:sca:unknown:B",
        "hist:sca:50",
    ]
    top = one_rule({"vertical": "hvac"}, delta=90).score(outdated_site())
    assert counter_keys(outdated_site(), top)[1] == "hist:z941:100"


def test_score_jsonl_reads_leads_and_raw_leads(tmp_path, rules):
    lead = outdated_site(lead_id="ld_1")
    raw = RawLead(source="csv", name="Bob's Plumbing", zip="94110", vertical="plumber", email="bob@bob.example")
    path = tmp_path / "leads.jsonl"
    path.write_bytes(lead.model_dump_json().encode() + b"\n\n" + orjson.dumps(raw.model_dump()) + b"\n")
    results = list(score_jsonl(path, DEFAULT_RULES))
    assert [lead_id for lead_id, _ in results] == ["ld_1", raw.derived_lead_id()]
    assert results[0][1] == Scorer(rules).score(lead)[0]
    bob = results[1][1]
    assert [h.rule for h in bob.rules] == ["no_website"] and bob.multipliers[0].multiplier == "good_fit_vertical"
    assert bob.value == round((40 + 15) * 1.15, 2)

    path.write_text('{"lead_id": "x"}\n', encoding="utf-8")
    with pytest.raises(ValueError, match=r"leads.jsonl:1: not a lead record"):
        list(score_jsonl(path, DEFAULT_RULES))
    broken = tmp_path / "broken.yaml"
    broken.write_text("settings: {base: 1}\n", encoding="utf-8")
    with pytest.raises(RulesError):
        list(score_jsonl(path, broken))


def test_explanation_lists_every_term_and_reproduces_the_value(rules):
    score = rules.score(outdated_site())
    text = format_explanation(score, rules)
    assert text.splitlines()[0].startswith(f"score {score.value:g}  tier A  (qualified)  rules {rules.version}")
    for hit in score.rules:
        assert f"{hit.delta:+g}  {hit.rule}  — {rules.describe(hit.rule)}" in text
    assert "×1.15  good_fit_vertical" in text and "clamped to [0, 100]" in text
    assert reproduce_value(score, 0, 100) == score.value
    plain = format_explanation(Scorer(rules).score(outdated_site(contacts=[]))[0])
    assert "not qualified: no_contact" in plain and "—" not in plain
