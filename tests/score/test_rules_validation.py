"""Validation: every kind of problem reported as FILE:LINE, all of them at once."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from score_helpers import dedent

from stages.score.rules import RulesError, check_rules_file, load_rules, parse_rules

DEFAULT_RULES = Path(__file__).resolve().parents[2] / "leadstream" / "defaults" / "rules.yaml"

GOOD_SETTINGS = """\
settings:
  base: 50
  min: 0
  max: 100
  tiers: {A: 75, B: 50, C: 0}
  qualify: [A, B]
"""


def problems(text: str) -> list[tuple[int | None, str]]:
    with pytest.raises(RulesError) as caught:
        parse_rules(dedent(text), "r.yaml")
    return [(issue.line, issue.message) for issue in caught.value.errors]


def assert_problem(found: list[tuple[int | None, str]], line: int, *fragments: str) -> None:
    hits = [msg for ln, msg in found if ln == line and all(f in msg for f in fragments)]
    assert hits, f"no problem at line {line} mentioning {fragments}; got {found}"


def test_default_rules_file_is_valid():
    assert check_rules_file(DEFAULT_RULES) == []
    rules = load_rules(DEFAULT_RULES)
    assert rules.version and len(rules.rules) >= 10 and rules.multipliers


def test_every_error_in_a_file_is_reported_at_once_with_its_line(write_rules):
    path = write_rules(
        """
        version: "bad-1"
        settings:
          base: 50
          min: 90
          max: 10
          tiers:
            A: 75
            B: 80
          qualify: [A, Z]
        rulez: []
        rules:
          - name: slow
            description: slow page
            condition: {perf.lcp: {gt: 4000}}
            delta: 5
          - name: fast
            description: fast page
            condition: {perf.lcp_ms: {gt: "fast"}}
            delta: ten
          - name: slow
            description: again
            condition: {vertical: {startswith: h}}
            delta: 1
          - name: old
            description: old jquery
            condition: "jquery < 3.x"
          - name: weird
            description: wrong op for type
            condition: {has_phone: {gt: 1}}
            delta: 1
        multipliers:
          - name: m
            description: negative factor
            condition: {zip: 94110}
            factor: -2
        """
    )
    found = [(i.line, i.message) for i in check_rules_file(path)]
    assert_problem(found, 4, "min 90", "above max 10")
    assert_problem(found, 8, "out of order", "'B'")
    assert_problem(found, 9, "unknown tier 'Z'")
    assert_problem(found, 10, "unknown key 'rulez'", "did you mean 'rules'")
    assert_problem(found, 14, "unknown field 'perf.lcp'", "did you mean 'perf.lcp_ms'")
    assert_problem(found, 18, "perf.lcp_ms gt", "expected a number", "'fast'")
    assert_problem(found, 19, "delta must be a number", "'ten'")
    assert_problem(found, 20, "duplicate rule name 'slow'", "first at line 12")
    assert_problem(found, 22, "unknown operator 'startswith'")
    assert_problem(found, 24, "missing required key 'delta'")
    assert_problem(found, 26, "bad version string '3.x'")
    assert_problem(found, 29, "operator 'gt' does not apply to bool field 'has_phone'")
    assert_problem(found, 34, "zip", "expected text (quote it)")
    assert_problem(found, 35, "factor -2", "out of range")
    assert len(found) == 14, found
    with pytest.raises(RulesError) as caught:
        load_rules(path)
    text = str(caught.value)
    assert text.startswith("14 problems in rules:")
    assert f"{path}:10: unknown key 'rulez'" in text and f"{path}:35: " in text


def test_yaml_syntax_error_has_its_line():
    found = problems(GOOD_SETTINGS + "rules:\n  - name: a\n    description: [unclosed\n    delta: 1\n")
    assert len(found) == 1
    line, message = found[0]
    assert message.startswith("YAML syntax error") and line in (9, 10)


def test_tab_indentation_is_a_syntax_error_with_line():
    found = problems("settings:\n\tbase: 1\n")
    assert found[0][0] == 2 and "YAML syntax error" in found[0][1]


def test_missing_sections_and_keys():
    found = problems('version: "1"\n')
    assert_problem(found, 1, "missing required key 'settings'")
    assert_problem(found, 1, "missing required key 'rules'")
    found = problems("settings:\n  base: 1\n  min: 0\n  max: 10\nrules: []\n")
    assert_problem(found, 2, "settings is missing required key 'tiers'")
    assert_problem(found, 2, "settings is missing required key 'qualify'")


def test_threshold_of_lowest_tier_must_cover_min():
    found = problems(GOOD_SETTINGS.replace("C: 0", "C: 10") + "rules: []\n")
    assert_problem(found, 5, "lowest tier 'C' starts at 10, above min 0")


def test_duplicate_yaml_keys_and_unknown_rule_keys():
    found = problems(
        GOOD_SETTINGS
        + dedent(
            """
        rules:
          - name: a
            description: x
            condition: {vertical: hvac, vertical: vet}
            delta: 1
            weight: 3
        """
        )
    )
    assert_problem(found, 10, "duplicate key 'vertical'", "first at line 10")
    assert_problem(found, 12, "unknown key 'weight'")


def test_bad_condition_shapes():
    found = problems(
        GOOD_SETTINGS
        + dedent(
            """
        rules:
          - {name: a, description: x, condition: 42, delta: 1}
          - {name: b, description: x, condition: {all: []}, delta: 1}
          - {name: c, description: x, condition: {perf.lcp_ms: {between: [4000, 2500]}}, delta: 1}
          - {name: d, description: x, condition: {perf.lcp_ms: {between: [1]}}, delta: 1}
          - {name: e, description: x, condition: "jquery", delta: 1}
          - {name: f, description: x, condition: "jquery => 3", delta: 1}
          - {name: g, description: x, condition: {tech.jquery: {lt: 3.10}}, delta: 1}
          - {name: h, description: x, condition: {gt: 5}, delta: 1}
        """
        )
    )
    assert_problem(found, 8, "a condition is a mapping", "not a number")
    assert_problem(found, 9, "'all' needs a non-empty list")
    assert_problem(found, 10, "low bound 4000 is above high bound 2500")
    assert_problem(found, 11, "list of 2 values")
    assert_problem(found, 12, "has no operator")
    assert_problem(found, 13, "unknown operator '=>'")
    assert_problem(found, 14, "quote version 3.1")
    assert_problem(found, 15, "unknown field 'gt'", "is an operator")
    assert len(found) == 8


def test_version_and_empty_file():
    assert_problem(
        problems("version: 2024.06\n" + GOOD_SETTINGS + "rules: []\n"), 1, "version must be non-empty text", "quote it"
    )
    assert_problem(problems("\n\n"), 1, "empty")
    assert_problem(problems("- just\n- a list\n"), 1, "must be a mapping")


def test_missing_file_is_reported():
    issues = check_rules_file("/nonexistent/rules.yaml")
    assert len(issues) == 1 and "cannot read rules file" in issues[0].message


def test_version_defaults_to_content_hash():
    text = GOOD_SETTINGS + "rules: []\n"
    first, same, other = parse_rules(text), parse_rules(text), parse_rules(text + "# changed\n")
    assert first.version.startswith("sha256:") and first.version == same.version != other.version
    assert parse_rules('version: "7"\n' + text).version == "7"


def test_yaml_anchors_and_merge_keys_work():
    rules = parse_rules(
        GOOD_SETTINGS
        + dedent(
            """
        rules:
          - &slow {name: slow, description: slow, condition: {perf.lcp_ms: {gt: 4000}}, delta: 5}
          - <<: *slow
            name: slower
            delta: 3
        """
        )
    )
    assert [r.name for r in rules.rules] == ["slow", "slower"] and rules.rules[1].amount == 3


def _laughs(levels: int) -> str:
    """A rules file whose one condition is nine aliases of nine aliases of … (9**levels conditions)."""
    lines = [
        GOOD_SETTINGS.rstrip(),
        "rules:",
        "  - name: bomb",
        "    description: laughs",
        "    delta: 1",
        "    condition:",
        "      any:",
        "        - &a0 {vertical: hvac}",
    ]
    for i in range(1, levels + 1):
        lines.append(f"        - &a{i} {{any: [{', '.join([f'*a{i - 1}'] * 9)}]}}")
    return "\n".join(lines) + "\n"


def test_an_alias_bomb_fails_fast_with_file_and_line() -> None:
    text = _laughs(8)  # under 1 KB; walking it took ~10x longer per level: minutes at 8 (4.7 CPU-s at 6)
    assert len(text.encode()) < 1024
    started = time.process_time()
    with pytest.raises(RulesError) as caught:
        parse_rules(text, "bomb.yaml")
    assert time.process_time() - started < 1.0  # CPU time, never wall time
    [issue] = caught.value.errors
    assert (issue.line, issue.file) == (17, "bomb.yaml") and "expands to more than 20,000 nodes" in issue.message
    assert str(caught.value).splitlines()[1].strip().startswith("bomb.yaml:17: ")


def test_merge_key_bombs_and_recursive_aliases_are_refused() -> None:
    merges = [GOOD_SETTINGS.rstrip(), "rules:", "  - &m0 {name: a, description: b, delta: 1, condition: {vertical: x}}"]
    for i in range(1, 9):
        merges.append(f"  - &m{i} {{<<: [{', '.join([f'*m{i - 1}'] * 9)}], name: n{i}}}")
    with pytest.raises(RulesError, match="expands to more than 20,000 nodes"):
        parse_rules("\n".join(merges) + "\n", "merge.yaml")
    recursive = GOOD_SETTINGS + "rules:\n  - &r {name: r, description: d, delta: 1, condition: {any: [*r]}}\n"
    with pytest.raises(RulesError, match=r"merge\.yaml:8: an alias refers to a node that contains it"):
        parse_rules(recursive, "merge.yaml")


def test_a_normal_file_with_anchors_is_far_below_the_limit() -> None:
    parse_rules(_laughs(2), "small.yaml")  # 81 conditions through aliases: fine
