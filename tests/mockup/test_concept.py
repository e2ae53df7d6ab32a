"""The concept schema, problem detection and quality scoring (no network)."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from schemas.concept import Concept, problems_for
from schemas.lead import Enrichment, Performance, Tech
from stages.mockup.maker import score_concept, template_concept


def test_problems_from_enrichment(make_lead):
    assert problems_for(make_lead()) == [
        "slow_lcp",
        "heavy_page",
        "outdated_jquery",
        "outdated_cms",
        "not_mobile_friendly",
        "no_https",
    ]


def test_modern_site_has_no_problems_and_missing_site_is_one(make_lead):
    modern = make_lead(
        email="hi@x.example",
        enrichment=Enrichment(
            final_url="https://x.example/",
            tech=[Tech(name="jQuery", version="3.7.1"), Tech(name="WordPress", version="6.5")],
            performance=Performance(lcp_ms=1200, page_bytes=800_000, https=True, mobile_responsive=True),
        ),
    )
    assert problems_for(modern) == []
    assert problems_for(make_lead(website=None, enrichment=None)) == ["no_website"]


def test_slow_load_without_lcp_and_https_from_final_url_and_no_contacts(make_lead):
    lead = make_lead(
        enrichment=Enrichment(final_url="http://x.example/", performance=Performance(load_ms=6500), contacts=[])
    )
    assert problems_for(lead) == ["slow_lcp", "no_https", "no_contact_form"]


def test_schema_is_strict_structured_output_compatible():
    schema = Concept.model_json_schema()
    objects = [schema, *schema["$defs"].values()]
    for obj in objects:
        assert obj["additionalProperties"] is False
        assert sorted(obj["required"]) == sorted(obj["properties"])
        assert all("default" not in prop for prop in obj["properties"].values())


def test_concept_rejects_bad_colour_unknown_keys_and_bad_codes(make_lead):
    good = template_concept(make_lead(), ["no_https"]).model_dump()
    Concept.model_validate(good)
    with pytest.raises(ValidationError):
        Concept.model_validate({**good, "palette": {**good["palette"], "primary": "red;background:url(x)"}})
    with pytest.raises(ValidationError):
        Concept.model_validate({**good, "script": "alert(1)"})
    with pytest.raises(ValidationError):
        Concept.model_validate({**good, "improvements": [{"problem": "made_up", "text": "Something nice here."}]})
    with pytest.raises(ValidationError):
        Concept.model_validate({**good, "headline": "x" * 5000})


def test_template_concept_scores_full_marks_and_is_deterministic(make_lead):
    lead = make_lead()
    problems = problems_for(lead)
    first, second = template_concept(lead, problems), template_concept(lead, problems)
    assert first == second
    assert {i.problem for i in first.improvements} == set(problems)
    assert score_concept(first, problems).score == 1.0


def test_quality_drops_for_missing_layout_copy_and_problems(make_lead):
    lead = make_lead()
    problems = problems_for(lead)
    base = template_concept(lead, problems).model_dump()

    no_contact = Concept.model_validate({**base, "sections": [s for s in base["sections"] if s["kind"] != "contact"]})
    quality = score_concept(no_contact, problems)
    assert quality.layout == 0.75 and quality.score < 1.0
    assert any("contact or cta" in note for note in quality.notes)

    half = Concept.model_validate({**base, "improvements": base["improvements"][:3]})
    assert score_concept(half, problems).relevance == 0.5

    empty_copy = Concept.model_validate({**base, "headline": "", "subheadline": "ok"})
    assert score_concept(empty_copy, problems).copy < 1.0

    one_section = Concept.model_validate({**base, "sections": base["sections"][:1], "improvements": []})
    assert score_concept(one_section, problems).score < 0.5


def test_markup_in_llm_text_zeroes_quality(make_lead):
    lead = make_lead()
    base = template_concept(lead, ["no_https"]).model_dump()
    for payload in ("<script>alert(1)</script>", '<img src="https://evil.example/x.png">', '<b onclick="x()">hi</b>'):
        tainted = Concept.model_validate({**base, "subheadline": base["subheadline"] + payload})
        assert score_concept(tainted, ["no_https"]).score == 0.0
    harmless = Concept.model_validate({**base, "subheadline": "Fair prices & <b>fast</b> service, 5 < 6 guaranteed!"})
    assert score_concept(harmless, ["no_https"]).score == 1.0
