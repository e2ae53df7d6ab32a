"""Validate a whole rules file and compile it into a `RuleSet`, reporting every problem at once."""

from __future__ import annotations

import hashlib
import math
from pathlib import Path

from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from stages.score.rules.conditions import ConditionCompiler
from stages.score.rules.engine import RuleSet
from stages.score.rules.fields import make_extractor
from stages.score.rules.loader import (
    Issues,
    check_keys,
    compose,
    did_you_mean,
    is_number,
    kind_name,
    line_of,
    mapping_items,
    scalar,
)
from stages.score.rules.model import Rule, RuleIssue, RulesError, ScoreSettings, Tier

LIMIT = 1_000_000  # |base|, |min|, |max|, |delta| bound: keeps arithmetic far from overflow
MAX_FACTOR = 1000


def parse_rules(text: str, source: str = "<rules>") -> RuleSet:
    """Compile rules from YAML text; raises RulesError listing every problem."""
    issues = Issues(source)
    ruleset = _compile(text, source, issues)
    if issues or ruleset is None:
        raise RulesError(
            sorted(issues.items, key=lambda issue: issue.line or 0) or [RuleIssue(source, None, "no rules")]
        )
    return ruleset


def load_rules(path: str | Path) -> RuleSet:
    """Read and compile a rules file; raises RulesError (with FILE:LINE problems) when invalid."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise RulesError([RuleIssue(str(path), None, f"cannot read rules file: {exc}")]) from exc
    return parse_rules(text, str(path))


def check_rules_file(path: str | Path) -> list[RuleIssue]:
    """Every problem in a rules file; an empty list means it is valid."""
    try:
        load_rules(path)
    except RulesError as exc:
        return exc.errors
    return []


def content_version(text: str) -> str:
    """The version of a file that names none: a hash of its text."""
    return "sha256:" + hashlib.sha256(text.encode("utf-8")).hexdigest()[:12]


def _compile(text: str, source: str, issues: Issues) -> RuleSet | None:
    if not text.strip():
        issues.add(1, "the rules file is empty")
        return None
    root = compose(text, issues)
    if root is None:
        if not issues:
            issues.add(1, "the rules file holds no YAML document")
        return None
    if not isinstance(root, MappingNode):
        issues.add(root, f"the rules file must be a mapping with settings/rules/multipliers, not {kind_name(root)}")
        return None
    found = check_keys(
        root,
        mapping_items(root, issues),
        issues,
        what="the rules file",
        required=("settings", "rules"),
        optional=("version", "multipliers"),
    )
    version = _version(found.get("version"), text, issues)
    settings = _settings(found["settings"], issues) if "settings" in found else None
    conditions = ConditionCompiler(issues)
    names: dict[str, int | None] = {}
    rules = _entries(found.get("rules"), "rules", "delta", conditions, names, issues)
    multipliers = _entries(found.get("multipliers"), "multipliers", "factor", conditions, names, issues)
    if issues or settings is None:
        return None
    return RuleSet(
        version=version,
        settings=settings,
        rules=rules,
        multipliers=multipliers,
        text=text,
        source=source,
        extract=make_extractor(list(conditions.fields.values())),
    )


def _version(node: Node | None, text: str, issues: Issues) -> str:
    if node is None:
        return content_version(text)
    value = scalar(node) if isinstance(node, ScalarNode) else None
    if not isinstance(value, str) or not value.strip():
        hint = ' (quote it: version: "2024.06")' if is_number(value) else ""
        issues.add(node, f"version must be non-empty text{hint}, got {kind_name(node)}")
        return ""
    return value.strip()


def _number(node: Node, what: str, issues: Issues, low: float = -LIMIT, high: float = LIMIT) -> float | None:
    value = scalar(node) if isinstance(node, ScalarNode) else None
    if not is_number(value) or not math.isfinite(value):
        issues.add(
            node, f"{what} must be a number, got {kind_name(node)}" + (f" {value!r}" if isinstance(value, str) else "")
        )
        return None
    if not low <= value <= high:
        issues.add(node, f"{what} {value} is out of range [{low:g}, {high:g}]")
        return None
    return float(value)


def _settings(node: Node, issues: Issues) -> ScoreSettings | None:
    if not isinstance(node, MappingNode):
        issues.add(node, f"settings must be a mapping (base, min, max, tiers, qualify), not {kind_name(node)}")
        return None
    found = check_keys(
        node, mapping_items(node, issues), issues, what="settings", required=("base", "min", "max", "tiers", "qualify")
    )
    base, low, high = (_number(found[k], k, issues) if k in found else None for k in ("base", "min", "max"))
    if low is not None and high is not None and low > high:
        issues.add(found["min"], f"min {low:g} is above max {high:g}")
    tiers = _tiers(found["tiers"], low, issues) if "tiers" in found else None
    qualify = _qualify(found["qualify"], tiers, issues) if "qualify" in found else None
    if None in (base, low, high, tiers, qualify) or issues:
        return None
    return ScoreSettings(base=base, minimum=low, maximum=high, tiers=tiers, qualify=qualify)


def _tiers(node: Node, minimum: float | None, issues: Issues) -> tuple[Tier, ...] | None:
    if not isinstance(node, MappingNode) or not node.value:
        issues.add(
            node, f"tiers must map tier names to thresholds, highest first (A: 75, B: 55, …), not {kind_name(node)}"
        )
        return None
    tiers: list[Tier] = []
    for name, key_node, value_node in mapping_items(node, issues):
        threshold = _number(value_node, f"threshold of tier '{name}'", issues)
        if threshold is None:
            tiers.append(Tier(name, math.nan))  # keep the name so qualify can still be checked
            continue
        if tiers and not math.isnan(tiers[-1].threshold) and threshold >= tiers[-1].threshold:
            issues.add(
                key_node,
                f"tier thresholds out of order: '{name}' ({threshold:g}) must be below "
                f"'{tiers[-1].name}' ({tiers[-1].threshold:g}); list tiers from highest to lowest",
            )
        tiers.append(Tier(name, threshold))
    if minimum is not None and tiers[-1].threshold > minimum:
        last = tiers[-1]
        issues.add(
            node.value[-1][0],
            f"lowest tier '{last.name}' starts at {last.threshold:g}, above min {minimum:g}: "
            f"lower scores would have no tier (set it to {minimum:g})",
        )
    return tuple(tiers)


def _qualify(node: Node, tiers: tuple[Tier, ...] | None, issues: Issues) -> frozenset[str] | None:
    if not isinstance(node, SequenceNode):
        issues.add(node, f"qualify must be a list of tier names, e.g. [A, B, C], not {kind_name(node)}")
        return None
    known = [t.name for t in tiers] if tiers else []
    names = set()
    for item in node.value:
        value = scalar(item) if isinstance(item, ScalarNode) else None
        if value is None or isinstance(value, (list, dict)):
            issues.add(item, f"qualify lists tier names, got {kind_name(item)}")
            continue
        if tiers is not None and str(value) not in known:
            issues.add(
                item,
                f"qualify names unknown tier '{value}'{did_you_mean(str(value), known)}; tiers: {', '.join(known)}",
            )
        names.add(str(value))
    return frozenset(names)


def _entries(
    node: Node | None,
    section: str,
    amount_key: str,
    conditions: ConditionCompiler,
    names: dict[str, int | None],
    issues: Issues,
) -> tuple[Rule, ...]:
    if node is None or (isinstance(node, ScalarNode) and scalar(node) is None):
        return ()  # "rules:" with nothing under it is an empty list
    if not isinstance(node, SequenceNode):
        issues.add(
            node, f"{section} must be a list of {{name, description, condition, {amount_key}}}, not {kind_name(node)}"
        )
        return ()
    entries = []
    for item in node.value:
        if not isinstance(item, MappingNode):
            issues.add(item, f"each entry of {section} must be a mapping, not {kind_name(item)}")
            continue
        found = check_keys(
            item,
            mapping_items(item, issues),
            issues,
            what=f"an entry of {section}",
            required=("name", "description", "condition", amount_key),
        )
        name = _text(found.get("name"), "name", issues)
        if name is not None:
            if name in names:
                issues.add(found["name"], f"duplicate rule name '{name}' (first at line {names[name]})")
            names.setdefault(name, line_of(found["name"]))
        description = _text(found.get("description"), "description", issues)
        test = conditions.compile(found["condition"]) if "condition" in found else None
        if amount_key == "delta":
            amount = _number(found[amount_key], "delta", issues) if amount_key in found else None
        else:
            amount = _number(found[amount_key], "factor", issues, 0, MAX_FACTOR) if amount_key in found else None
        if None not in (name, description, test, amount):
            entries.append(Rule(name, description, amount, test, line_of(item)))
    return tuple(entries)


def _text(node: Node | None, what: str, issues: Issues) -> str | None:
    if node is None:
        return None
    value = scalar(node) if isinstance(node, ScalarNode) else None
    if not isinstance(value, str) or not value.strip():
        issues.add(node, f"{what} must be non-empty text, got {kind_name(node)}")
        return None
    return value.strip()
