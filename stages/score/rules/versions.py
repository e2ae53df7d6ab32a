"""Version handling: tolerant parsing of detected versions, strict parsing of rule operands,
and the tiny tokenizer for the short form ``"jquery < 3.0"``.

Detected versions come from fingerprints and are messy ("1.12.4", "5.8",
"3.3.7-rc1", "v2.1.0", "1.11.3.min"): they are parsed leniently and anything
hopeless becomes "unknown", which no comparison matches. Versions written in a
rules file are parsed strictly (PEP 440 via ``packaging``) so a typo is an error.
The short form is split by hand into name, operator and version; it is never
evaluated as an expression.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from packaging.version import InvalidVersion, Version

_LEADING_NUMBERS = re.compile(r"\d+(?:\.\d+)*")
_OPERATOR_CHARS = "<>=!"
# Written form → canonical operator name used by predicates.
OPERATORS = {"<": "lt", "<=": "le", ">": "gt", ">=": "ge", "==": "equals", "=": "equals", "!=": "not_equals"}
_NAME_CHARS = re.compile(r"[a-z0-9][a-z0-9 ._+\-/]*")


@lru_cache(maxsize=8192)
def parse_detected(text: str | None) -> Version | None:
    """Best-effort version of a detected technology, or None when there is no usable number."""
    if not text:
        return None
    cleaned = text.strip().lstrip("vV")
    try:
        return Version(cleaned)
    except InvalidVersion:
        match = _LEADING_NUMBERS.match(cleaned)
        return Version(match.group(0)) if match else None


def parse_strict(text: str) -> Version:
    """A version written in a rules file; raises ValueError with a readable message."""
    try:
        return Version(text.strip())
    except InvalidVersion:
        raise ValueError(f"bad version string '{text}' (expected something like 3.0, 6.4.2 or 3.3.7rc1)") from None


@dataclass(frozen=True)
class VersionExpr:
    tech: str  # lowercased technology name
    op: str  # canonical operator: lt, le, gt, ge, equals, not_equals
    version: Version
    text: str


def parse_expression(text: str) -> VersionExpr:
    """Split ``"<tech> <op> <version>"`` into its parts; raises ValueError explaining what is wrong."""
    stripped = text.strip()
    start = next((i for i, ch in enumerate(stripped) if ch in _OPERATOR_CHARS), None)
    if start is None:
        raise ValueError(f"version expression '{text}' has no operator; write it like \"jquery < 3.0\"")
    end = start
    while end < len(stripped) and stripped[end] in _OPERATOR_CHARS:
        end += 1
    name, symbol, version = stripped[:start].strip().lower(), stripped[start:end], stripped[end:].strip()
    if symbol not in OPERATORS:
        raise ValueError(f"unknown operator '{symbol}' in '{text}'; use one of < <= > >= == !=")
    if not name:
        raise ValueError(f"version expression '{text}' names no technology; write it like \"jquery < 3.0\"")
    if not _NAME_CHARS.fullmatch(name):
        raise ValueError(f"'{name}' in '{text}' is not a technology name (letters, digits, space . _ + - /)")
    if not version or " " in version:
        raise ValueError(f"version expression '{text}' needs one version after '{symbol}'")
    return VersionExpr(tech=name, op=OPERATORS[symbol], version=parse_strict(version), text=stripped)
