"""docs/rules.md stays in step with the code: every field and operator is documented."""

from __future__ import annotations

from pathlib import Path

from stages.score.rules.conditions import ALL_OPERATORS
from stages.score.rules.fields import FIELDS

DOC = (Path(__file__).resolve().parents[2] / "docs" / "rules.md").read_text(encoding="utf-8")


def test_every_field_is_documented_with_its_type():
    for spec in FIELDS.values():
        assert f"| `{spec.name}` | {spec.type} |" in DOC, spec.name
    assert "| `tech.<name>` | version |" in DOC


def test_every_operator_is_documented():
    for op in ALL_OPERATORS:
        assert f"`{op}`" in DOC, op


def test_the_documented_example_file_is_valid():
    from stages.score.rules import parse_rules

    example = DOC.split("```yaml\n", 1)[1].split("```", 1)[0]
    rules = parse_rules(example, "docs/rules.md")
    assert [r.name for r in rules.rules] == ["outdated_jquery", "slow_and_insecure", "personal_email"]
