"""YAML reading that keeps line numbers, so every problem can be reported as FILE:LINE.

The file is *composed* (not constructed): validation walks PyYAML's node tree,
where each node knows where it starts. Scalars are typed with PyYAML's safe
resolver/constructor, so ``true``, ``3``, ``2.5`` and ``"3.0"`` mean what they
mean everywhere else. Nothing here executes anything from the file.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from typing import Any

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from schemas.yaml_limits import oversized
from stages.score.rules.model import RuleIssue

_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_constructor = yaml.SafeLoader("")  # only its scalar constructors are used


class Issues:
    """Collects problems while the whole file is checked, instead of stopping at the first."""

    def __init__(self, source: str):
        self.source = source
        self.items: list[RuleIssue] = []

    def add(self, node: Node | int | None, message: str) -> None:
        self.items.append(RuleIssue(self.source, line_of(node) if not isinstance(node, int) else node, message))

    def __bool__(self) -> bool:
        return bool(self.items)


def line_of(node: Node | None) -> int | None:
    return node.start_mark.line + 1 if node is not None else None


def compose(text: str, issues: Issues) -> Node | None:
    """Parse YAML text into a node tree; a syntax error, or a tree that aliases expand past
    `schemas.yaml_limits.MAX_NODES` (a YAML bomb), becomes one issue with its line."""
    try:
        root = yaml.compose(text, Loader=_Loader)
        if root is not None and (problem := oversized(root)) is not None:
            node, message = problem
            issues.add(node, message)
            return None
        return root
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        problem = " ".join(p for p in (exc.context, exc.problem) if p)
        issues.add(mark.line + 1 if mark else None, f"YAML syntax error: {problem}")
    except yaml.YAMLError as exc:
        issues.add(None, f"YAML error: {exc}")
    return None


def scalar(node: ScalarNode) -> Any:
    """The typed Python value of a scalar node (str, int, float, bool or None)."""
    return _constructor.construct_object(node, deep=True)


def is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def kind_name(node: Node) -> str:
    if isinstance(node, MappingNode):
        return "a mapping"
    if isinstance(node, SequenceNode):
        return "a list"
    value = scalar(node)
    if value is None:
        return "empty"
    return {bool: "a boolean", int: "a number", float: "a number", str: "text"}.get(type(value), type(value).__name__)


def mapping_items(node: MappingNode, issues: Issues) -> list[tuple[str, Node, Node]]:
    """(key, key node, value node) in file order; duplicate and non-text keys are reported.

    YAML merge keys (``<<: *anchor``) are supported: merged keys may be overridden
    by the mapping's own keys, which is not a duplicate.
    """
    merged = getattr(node, "_merged", False)
    if not merged and any(key.tag == "tag:yaml.org,2002:merge" for key, _ in node.value):
        own = [(k, v) for k, v in node.value if k.tag != "tag:yaml.org,2002:merge"]
        _report_duplicates(own, issues)
        _constructor.flatten_mapping(node)  # merged pairs first, own pairs after: the last one wins
        node._merged = merged = True  # type: ignore[attr-defined]
    elif not merged:
        _report_duplicates(node.value, issues)
    items: dict[str, tuple[str, Node, Node]] = {}
    for key_node, value_node in node.value:
        if not isinstance(key_node, ScalarNode):
            issues.add(key_node, "mapping keys must be plain names")
            continue
        key = str(scalar(key_node))
        if key in items and not merged:
            continue  # a duplicate, already reported: the first one counts
        items.pop(key, None)
        items[key] = (key, key_node, value_node)
    return list(items.values())


def _report_duplicates(pairs: list[tuple[Node, Node]], issues: Issues) -> None:
    seen: dict[str, int | None] = {}
    for key_node, _ in pairs:
        if isinstance(key_node, ScalarNode):
            key = str(scalar(key_node))
            if key in seen:
                issues.add(key_node, f"duplicate key '{key}' (first at line {seen[key]})")
            else:
                seen[key] = line_of(key_node)


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    """' (did you mean 'x'?)' when a known name is close to ``word``, else ''."""
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f" (did you mean '{close[0]}'?)" if close else ""


def check_keys(
    node: MappingNode,
    items: list[tuple[str, Node, Node]],
    issues: Issues,
    *,
    what: str,
    required: Iterable[str],
    optional: Iterable[str] = (),
) -> dict[str, Node]:
    """Report unknown and missing keys of a mapping; return key → value node for the known ones."""
    required = list(required)
    allowed = [*required, *optional]
    found: dict[str, Node] = {}
    for key, key_node, value_node in items:
        if key not in allowed:
            issues.add(
                key_node, f"unknown key '{key}' in {what}{did_you_mean(key, allowed)}; allowed: {', '.join(allowed)}"
            )
        else:
            found[key] = value_node
    for key in required:
        if key not in found:
            issues.add(node, f"{what} is missing required key '{key}'")
    return found
