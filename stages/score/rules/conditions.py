"""Conditions: validated against the field vocabulary and compiled into closures at load time.

Grammar (see docs/rules.md):
    condition := "<tech> <op> <version>"            short version form
               | {all: [condition, ...]} | {any: [condition, ...]} | {not: condition}
               | {<field>: {<operator>: operand, ...}}  several operators = all of them
               | {<field>: value}                       shorthand: equals (contains for lists)
A mapping with several keys means all of them. Scoring a lead then only calls
plain Python closures over a dict of facts: no parsing, no lookups by name.
"""

from __future__ import annotations

import operator
from collections.abc import Callable
from typing import Any

from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from stages.score.rules import fields as F
from stages.score.rules.loader import Issues, did_you_mean, is_number, kind_name, mapping_items, scalar
from stages.score.rules.model import Predicate
from stages.score.rules.versions import parse_expression, parse_strict

OPERATORS_BY_TYPE: dict[str, tuple[str, ...]] = {
    F.TEXT: ("equals", "in", "contains", "contains_any", "exists", "missing"),
    F.NUMBER: ("equals", "in", "lt", "le", "gt", "ge", "between", "exists", "missing"),
    F.BOOL: ("equals", "exists", "missing"),
    F.TEXT_LIST: ("contains", "contains_any", "exists", "missing"),
    F.VERSION: ("equals", "lt", "le", "gt", "ge", "between", "exists", "missing"),
}
ALL_OPERATORS = sorted({op for ops in OPERATORS_BY_TYPE.values() for op in ops})
_COMPARE = {
    "lt": operator.lt,
    "le": operator.le,
    "gt": operator.gt,
    "ge": operator.ge,
    "equals": operator.eq,
    "not_equals": operator.ne,
}
_SHORTHAND = {F.TEXT_LIST: "contains"}


def all_of(preds: list[Predicate]) -> Predicate:
    if len(preds) == 1:
        return preds[0]
    if len(preds) == 2:
        first, second = preds
        return lambda facts: first(facts) and second(facts)
    items = tuple(preds)
    return lambda facts: all(p(facts) for p in items)


def any_of(preds: list[Predicate]) -> Predicate:
    if len(preds) == 1:
        return preds[0]
    items = tuple(preds)
    return lambda facts: any(p(facts) for p in items)


class ConditionCompiler:
    """Turns condition nodes into predicates, reporting every problem to ``issues``.

    ``fields`` collects the fields used, so the rule set computes only those facts.
    """

    def __init__(self, issues: Issues):
        self.issues = issues
        self.fields: dict[str, F.FieldSpec] = {}

    def compile(self, node: Node) -> Predicate | None:
        if isinstance(node, ScalarNode) and isinstance(scalar(node), str):
            return self._expression(node)
        if not isinstance(node, MappingNode) or not node.value:
            self.issues.add(
                node,
                f'a condition is a mapping (all/any/not/<field>) or a string like "jquery < 3.0", '
                f"not {kind_name(node)}",
            )
            return None
        parts = []
        for key, key_node, value_node in mapping_items(node, self.issues):
            if key in ("all", "any"):
                parts.append(self._combine(key, value_node))
            elif key == "not":
                inner = self.compile(value_node)
                parts.append((lambda p: lambda facts: not p(facts))(inner) if inner else None)
            else:
                parts.append(self._field(key, key_node, value_node))
        if not parts or any(p is None for p in parts):
            return None
        return all_of(parts)

    def _combine(self, key: str, node: Node) -> Predicate | None:
        if not isinstance(node, SequenceNode) or not node.value:
            self.issues.add(node, f"'{key}' needs a non-empty list of conditions, not {kind_name(node)}")
            return None
        preds = [self.compile(item) for item in node.value]
        if any(p is None for p in preds):
            return None
        return all_of(preds) if key == "all" else any_of(preds)

    def _expression(self, node: ScalarNode) -> Predicate | None:
        try:
            expr = parse_expression(scalar(node))
        except ValueError as exc:
            self.issues.add(node, str(exc))
            return None
        spec = F.lookup(F.TECH_PREFIX + expr.tech)
        self.fields[spec.name] = spec
        return _compare(spec.name, expr.op, expr.version)

    def _field(self, name: str, key_node: Node, node: Node) -> Predicate | None:
        spec = F.lookup(name)
        if spec is None:
            hint = did_you_mean(name, F.field_names_for_hint())
            if name in ALL_OPERATORS:
                hint = f" ('{name}' is an operator: put it under a field, e.g. perf.lcp_ms: {{{name}: …}})"
            self.issues.add(key_node, f"unknown field '{name}'{hint}")
            return None
        self.fields[spec.name] = spec
        if isinstance(node, ScalarNode):
            return self._operator(spec, _SHORTHAND.get(spec.type, "equals"), node, node)
        if not isinstance(node, MappingNode) or not node.value:
            self.issues.add(
                node, f"field '{name}' needs operators, e.g. {{equals: …}} or {{gt: …}}, not {kind_name(node)}"
            )
            return None
        preds = [
            self._operator(spec, op, op_node, value_node)
            for op, op_node, value_node in mapping_items(node, self.issues)
        ]
        return None if any(p is None for p in preds) else all_of(preds)

    def _operator(self, spec: F.FieldSpec, op: str, op_node: Node, node: Node) -> Predicate | None:
        allowed = OPERATORS_BY_TYPE[spec.type]
        if op not in allowed:
            if op in ALL_OPERATORS:
                problem = f"operator '{op}' does not apply to {spec.type} field '{spec.name}'"
            else:
                problem = f"unknown operator '{op}'{did_you_mean(op, ALL_OPERATORS)}"
            self.issues.add(op_node, f"{problem}; {spec.name} takes: {', '.join(allowed)}")
            return None
        try:
            return _build(spec, op, node)
        except ValueError as exc:
            self.issues.add(node, f"{spec.name} {op}: {exc}")
            return None


def _operand(spec: F.FieldSpec, node: Node) -> Any:
    """One operand converted to the field's type; ValueError says what was expected."""
    if not isinstance(node, ScalarNode):
        raise ValueError(f"expected a single {spec.type} value, got {kind_name(node)}")
    value = scalar(node)
    if spec.type == F.VERSION:
        if isinstance(value, float):
            raise ValueError(f"quote version {value!r} as text (YAML reads 3.10 as the number 3.1)")
        if isinstance(value, bool) or not isinstance(value, (str, int)):
            raise ValueError(f"expected a version string, got {kind_name(node)}")
        return parse_strict(str(value))
    if spec.type == F.NUMBER and is_number(value):
        return value
    if spec.type == F.BOOL and isinstance(value, bool):
        return value
    if spec.type in (F.TEXT, F.TEXT_LIST) and isinstance(value, str):
        return value.casefold()
    wanted = {F.NUMBER: "a number", F.BOOL: "true or false", F.TEXT: "text", F.TEXT_LIST: "text"}[spec.type]
    quote = " (quote it)" if spec.type == F.TEXT and value is not None else ""
    raise ValueError(f"expected {wanted}{quote}, got {kind_name(node)} {value!r}")


def _operands(spec: F.FieldSpec, node: Node, *, exactly: int | None = None) -> list[Any]:
    if not isinstance(node, SequenceNode) or not node.value:
        raise ValueError(f"expected a non-empty list, got {kind_name(node)}")
    if exactly is not None and len(node.value) != exactly:
        raise ValueError(f"expected a list of {exactly} values [low, high], got {len(node.value)}")
    return [_operand(spec, item) for item in node.value]


def _build(spec: F.FieldSpec, op: str, node: Node) -> Predicate:
    key = spec.name
    if op in ("exists", "missing"):
        flag = scalar(node) if isinstance(node, ScalarNode) else None
        if not isinstance(flag, bool):
            raise ValueError(f"expected true or false, got {kind_name(node)}")
        want_present = flag if op == "exists" else not flag
        if spec.type == F.TEXT_LIST:
            return (lambda facts: bool(facts[key])) if want_present else (lambda facts: not facts[key])
        return (lambda facts: facts[key] is not None) if want_present else (lambda facts: facts[key] is None)
    if op == "in":
        choices = frozenset(_operands(spec, node))
        return lambda facts: facts[key] in choices
    if op == "between":
        low, high = _operands(spec, node, exactly=2)
        if low > high:
            raise ValueError(f"low bound {low} is above high bound {high}")
        return lambda facts: (value := facts[key]) is not None and low <= value <= high
    if op == "contains_any":
        needles = tuple(_operands(spec, node))
        if spec.type == F.TEXT_LIST:
            wanted = frozenset(needles)
            return lambda facts: (value := facts[key]) is not None and not wanted.isdisjoint(value)
        return lambda facts: (value := facts[key]) is not None and any(n in value for n in needles)
    if op == "contains":
        needle = _operand(spec, node)
        return lambda facts: (value := facts[key]) is not None and needle in value
    return _compare(key, op, _operand(spec, node))


def _compare(key: str, op: str, bound: Any) -> Predicate:
    if op == "equals":
        return lambda facts: facts[key] == bound
    compare: Callable[[Any, Any], bool] = _COMPARE[op]
    return lambda facts: (value := facts[key]) is not None and compare(value, bound)
