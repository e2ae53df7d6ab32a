"""SQL lives only in storage/: a string literal that reads like a statement anywhere else fails here.

Complements the import contract (only storage imports asyncpg): this one also
catches SQL handed to a pool that was passed in.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CHECKED = ("agents", "config", "leadstream", "perf", "providers", "schemas", "simulator", "stages", "streams", "tables")
STATEMENT = re.compile(
    r"\b(SELECT\b.+\bFROM|INSERT\s+INTO|UPDATE\b.+\bSET|DELETE\s+FROM|CREATE\s+(TABLE|SCHEMA|INDEX)|ALTER\s+TABLE)\b",
    re.S,
)


def sql_literals(path: Path) -> list[tuple[int, str]]:
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and STATEMENT.search(node.value):
            found.append((node.lineno, " ".join(node.value.split())[:80]))
    return found


def test_the_pattern_finds_sql():
    assert STATEMENT.search("SELECT count(*) FROM leads WHERE state IS NULL")
    assert STATEMENT.search("INSERT INTO suppressions (pattern) VALUES ($1)")
    assert STATEMENT.search('CREATE SCHEMA IF NOT EXISTS "x"')
    assert not STATEMENT.search("Select the first provider from the list")
    assert sql_literals(ROOT / "storage" / "outbox.py")  # the storage layer does have SQL


def test_no_sql_outside_storage():
    offenders = [
        f"{path.relative_to(ROOT)}:{line}: {text}"
        for package in CHECKED
        for path in sorted((ROOT / package).rglob("*.py"))
        for line, text in sql_literals(path)
    ]
    offenders += [f"app.py:{line}: {text}" for line, text in sql_literals(ROOT / "app.py")]
    assert offenders == [], "SQL belongs in storage/ (a repository class):\n" + "\n".join(offenders)
