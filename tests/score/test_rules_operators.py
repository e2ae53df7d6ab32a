"""Every operator, on every field type, including missing values and the short version form."""

from __future__ import annotations

import pytest
from score_helpers import make_lead, matches, one_rule


# --- text fields --------------------------------------------------------------
def test_text_equals_ignores_case_and_shorthand_means_equals():
    lead = make_lead(vertical="HVAC", state="CA")
    assert matches({"vertical": {"equals": "hvac"}}, lead)
    assert matches({"state": "ca"}, lead)
    assert not matches({"vertical": {"equals": "plumber"}}, lead)


def test_text_in_contains_contains_any():
    lead = make_lead(category="Heating & Air Conditioning/HVAC", vertical="hvac")
    assert matches({"vertical": {"in": ["plumber", "hvac"]}}, lead)
    assert not matches({"vertical": {"in": ["plumber", "vet"]}}, lead)
    assert matches({"category": {"contains": "air conditioning"}}, lead)
    assert not matches({"category": {"contains": "roof"}}, lead)
    assert matches({"category": {"contains_any": ["roof", "heating"]}}, lead)
    assert not matches({"category": {"contains_any": ["roof", "dental"]}}, lead)


def test_comparisons_on_missing_text_are_false_and_not_inverts():
    lead = make_lead(vertical=None)
    for condition in (
        {"vertical": {"equals": "hvac"}},
        {"vertical": {"in": ["hvac"]}},
        {"vertical": {"contains": "h"}},
        {"vertical": {"contains_any": ["h"]}},
    ):
        assert not matches(condition, lead)
        assert matches({"not": condition}, lead)


def test_exists_and_missing():
    present, absent = make_lead(city="Oakland"), make_lead(city=None)
    assert matches({"city": {"exists": True}}, present) and not matches({"city": {"exists": True}}, absent)
    assert matches({"city": {"missing": True}}, absent) and not matches({"city": {"missing": True}}, present)
    assert matches({"city": {"exists": False}}, absent) and matches({"city": {"missing": False}}, present)
    no_perf = make_lead(perf=None)
    assert matches({"perf.lcp_ms": {"missing": True}}, no_perf)
    assert matches({"tech": {"missing": True}}, make_lead(tech={}))
    assert matches({"tech": {"exists": True}}, make_lead(tech={"jQuery": "3.6.0"}))


# --- number fields ----------------------------------------------------------------
@pytest.mark.parametrize(
    ("operator", "operand", "expected"),
    [
        ("lt", 3000, True),
        ("lt", 2600, False),
        ("le", 2600, True),
        ("le", 2599.9, False),
        ("gt", 2500, True),
        ("gt", 2600, False),
        ("ge", 2600, True),
        ("ge", 2600.1, False),
        ("equals", 2600, True),
        ("equals", 2601, False),
        ("in", [1, 2600], True),
        ("in", [1, 2], False),
        ("between", [2500, 4000], True),
        ("between", [2600, 2600], True),
        ("between", [2601, 4000], False),
    ],
)
def test_number_operators(operator, operand, expected):
    lead = make_lead(perf={"lcp_ms": 2600})
    assert matches({"perf.lcp_ms": {operator: operand}}, lead) is expected
    assert matches({"perf.lcp_ms": {operator: operand}}, make_lead(perf={})) is False  # missing value


def test_several_operators_on_one_field_all_apply():
    assert matches({"perf.lcp_ms": {"gt": 2500, "le": 4000}}, make_lead(perf={"lcp_ms": 3000}))
    assert not matches({"perf.lcp_ms": {"gt": 2500, "le": 4000}}, make_lead(perf={"lcp_ms": 4500}))


def test_contact_counts_are_zero_without_enrichment():
    lead = make_lead(contacts=[("jo@a.example", "personal"), ("info@a.example", "role")])
    assert matches({"contacts.count": {"equals": 2}}, lead)
    assert matches({"contacts.personal_count": {"ge": 1}}, lead)
    assert matches({"contacts.role_count": 1}, lead)
    assert matches({"contacts.count": 0}, make_lead(enriched=False))


# --- bool fields -------------------------------------------------------------------
def test_bool_fields():
    lead = make_lead(perf={"https": False, "mobile_responsive": True}, phone="4155550100", website="http://a.example")
    assert matches({"perf.https": False}, lead) and not matches({"perf.https": True}, lead)
    assert matches({"perf.mobile_responsive": {"equals": True}}, lead)
    assert matches({"has_phone": True}, lead) and matches({"has_website": True}, lead)
    assert not matches({"perf.https": False}, make_lead(perf={}))  # unknown is not "false"
    assert matches({"has_website": False}, make_lead(website=None, enriched=False))


def test_has_email_and_email_kind_follow_best_email():
    assert matches({"has_email": False}, make_lead())
    assert matches({"email_kind": "listed"}, make_lead(email="owner@a.example"))
    assert matches(
        {"email_kind": "personal"}, make_lead(contacts=[("info@a.example", "role"), ("jo@a.example", "personal")])
    )
    assert matches({"email_kind": "role"}, make_lead(contacts=[("info@a.example", "role")]))
    assert matches({"email_kind": {"missing": True}}, make_lead())


# --- lists -------------------------------------------------------------------------------
def test_tech_list_contains_and_contains_any():
    lead = make_lead(tech={"WordPress": "5.8", "jQuery": "1.12.4", "Google Analytics": None})
    assert matches({"tech": "wordpress"}, lead)  # shorthand for lists is contains
    assert matches({"tech": {"contains": "google analytics"}}, lead)
    assert not matches({"tech": {"contains": "wix"}}, lead)
    assert not matches({"tech": {"contains": "word"}}, lead)  # whole names, not substrings
    assert matches({"tech": {"contains_any": ["wix", "jquery"]}}, lead)
    assert not matches({"tech": {"contains_any": ["wix", "squarespace"]}}, lead)
    assert not matches({"tech": {"contains": "jquery"}}, make_lead(enriched=False))


# --- combinators ------------------------------------------------------------------------
def test_all_any_not_and_implicit_all():
    lead = make_lead(vertical="hvac", state="CA")
    yes, no = {"vertical": "hvac"}, {"state": "ny"}
    assert matches({"all": [yes, {"state": "ca"}]}, lead) and not matches({"all": [yes, no]}, lead)
    assert matches({"any": [no, yes]}, lead) and not matches({"any": [no, no]}, lead)
    assert matches({"not": no}, lead) and not matches({"not": yes}, lead)
    assert matches({"vertical": "hvac", "state": "ca"}, lead)  # several keys = all
    assert not matches({"vertical": "hvac", "state": "ny"}, lead)
    assert matches({"any": [{"all": [yes, {"not": no}]}, no]}, lead)


# --- versions ----------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("detected", "expected"),
    [("1.12.4", True), ("2.2.4", True), ("3.6.0", False), ("3.0", False), ("3.0.0-rc1", True), ("v1.8", True)],
)
def test_short_form_jquery_below_3(detected, expected):
    assert matches("jquery < 3.0", make_lead(tech={"jQuery": detected})) is expected
    assert matches({"tech.jquery": {"lt": "3.0"}}, make_lead(tech={"jQuery": detected})) is expected


def test_version_missing_tech_or_version_is_false_both_ways():
    for lead in (
        make_lead(tech={"WordPress": "6.4"}),
        make_lead(tech={"jQuery": None}),
        make_lead(enriched=False),
        make_lead(tech={"jQuery": "unknown"}),
    ):
        assert not matches("jquery < 3.0", lead)
        assert not matches("jquery >= 3.0", lead)
        assert matches({"tech.jquery": {"missing": True}}, lead)


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ("wordpress >= 6", True),
        ("wordpress > 6.4", True),
        ("wordpress <= 6.4.2", False),
        ("WordPress == 6.5", True),
        ("wordpress = 6.5.0", True),
        ("wordpress != 6.5", False),
        ("wordpress != 5", True),
        ("wordpress<6", False),
    ],
)
def test_short_form_operators(expression, expected):
    assert matches(expression, make_lead(tech={"WordPress": "6.5"})) is expected


def test_structured_version_operators_and_tolerant_detection():
    lead = make_lead(tech={"Bootstrap": "3.3.7-rc1", "jQuery UI": "1.11.4.min", "Node.js": "18.2.0"})
    assert matches({"tech.bootstrap": {"between": ["3.0", "3.3.7"]}}, lead)
    assert not matches({"tech.bootstrap": {"ge": "3.3.7"}}, lead)  # a release candidate sorts before the release
    assert matches({"tech.jquery ui": {"equals": "1.11.4"}}, lead)
    assert matches({"tech.node.js": {"ge": 18}}, lead)  # whole numbers may stay unquoted
    assert matches("node.js >= 18.1", lead)
    assert matches({"all": ["jquery ui < 2", {"not": "bootstrap >= 4"}]}, lead)


def test_matching_rule_adds_its_delta():
    rules = one_rule({"vertical": "hvac"}, delta=7.5)
    assert rules.score(make_lead(vertical="hvac")).value == 57.5
    assert rules.score(make_lead(vertical="vet")).value == 50
