"""Scoring rules as data: a YAML file validated with FILE:LINE errors, compiled to closures,
hot-reloaded and shared between workers through Redis. See docs/rules.md."""

from stages.score.rules.compiler import check_rules_file, content_version, load_rules, parse_rules
from stages.score.rules.engine import BELOW_THRESHOLD, RuleSet, compute_value, reproduce_value
from stages.score.rules.explain import format_explanation
from stages.score.rules.fields import FIELDS
from stages.score.rules.model import RuleIssue, RulesError
from stages.score.rules.source import RulesSource

__all__ = [
    "BELOW_THRESHOLD",
    "FIELDS",
    "RuleIssue",
    "RuleSet",
    "RulesError",
    "RulesSource",
    "check_rules_file",
    "compute_value",
    "content_version",
    "format_explanation",
    "load_rules",
    "parse_rules",
    "reproduce_value",
]
