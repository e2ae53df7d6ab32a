"""Expand/contract: the rule every migration file must pass, so workers of version N and N+1 share a database.

During a rolling upgrade the old workers keep running against a schema the new
release has already migrated (every worker runs ``migrate`` as it starts). So a
migration is an **expand** step by default: it only adds what the old code
does not see and cannot break:

* new tables; new columns that are nullable or have a default (old writers leave them out);
* new indexes on tables the same file creates; an index on an existing table
  needs ``-- index-lock: <why>``: `storage.db.migrate` applies each file in one
  transaction, where ``CREATE INDEX CONCURRENTLY`` cannot run, so the build holds
  the table's writes for its duration and the file must say why that is fine;
* relaxing (``DROP NOT NULL``), new functions, ``CHECK``/``FOREIGN KEY`` ``NOT VALID``.

What removes or changes what the old code uses (drops, renames, type changes,
``SET NOT NULL``, new unique/primary keys, validated constraints) is a
**contract** step, marked ``-- contract: <why>`` and shipped only once no
worker of the previous version runs. Data changes (``UPDATE``, ``DELETE``,
``INSERT … SELECT``) are a **backfill**, marked ``-- backfill: <why>``, with the
expand rules otherwise. The procedure: docs/upgrades.md.

The check reads the SQL text (comments stripped); it is a guard against the
usual mistakes, not a parser: a contract step can always say what it is.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

MARKER = re.compile(r"^--\s*(contract|backfill|index-lock):\s*(\S.*)$", re.M)
_COMMENT = re.compile(r"--[^\n]*")

_ALWAYS_CONTRACT = (  # (pattern, what it does to the other version)
    (
        r"\bdrop\s+(table|column|index|view|materialized\s+view|function|type|schema|constraint|trigger|sequence)\b",
        "drops what the other version may still use",
    ),
    (r"\bdrop\s+default\b", "drops a default the other version's inserts rely on"),
    (r"\brename\b", "renames what the other version names"),
    (r"\balter\s+column\s+\w+\s+(set\s+data\s+)?type\b", "changes a column's type"),
    (r"\bset\s+not\s+null\b", "makes a column required that the other version may leave empty"),
    (r"\badd\s+(constraint\s+\w+\s+)?(primary\s+key|unique)\b", "adds a key the other version's writes may break"),
    (r"\btruncate\b", "empties a table"),
)
_DATA = (
    (r"\bupdate\s+\w+(\s+as\s+\w+)?\s+set\b", "updates rows"),
    (r"\bdelete\s+from\b", "deletes rows"),
    (r"\binsert\s+into\s+\w+(\s*\([^)]*\))?\s+select\b", "copies rows"),
)
_VALIDATED = re.compile(r"\badd\s+(constraint\s+\w+\s+)?(check|foreign\s+key)\b[^;]*")
_ADD_COLUMN = re.compile(r"\badd\s+column\s+(if\s+not\s+exists\s+)?(\w+)\s+(.*?)(?=,\s*(add|alter|drop)\b|;|$)", re.S)
_CREATE_TABLE = re.compile(r"\bcreate\s+(unlogged\s+)?table\s+(if\s+not\s+exists\s+)?(\w+)")
_CREATE_INDEX = re.compile(
    r"\bcreate\s+(unique\s+)?index\s+(concurrently\s+)?(if\s+not\s+exists\s+)?\w*\s*on\s+(only\s+)?(\w+)"
)


@dataclass(frozen=True)
class Migration:
    name: str
    sql: str

    @property
    def markers(self) -> dict[str, str]:
        """``contract`` / ``backfill`` / ``index-lock`` → the reason the file gives."""
        return {kind: why.strip() for kind, why in MARKER.findall(self.sql)}

    @property
    def step(self) -> str:
        """expand (the default), backfill or contract."""
        marks = self.markers
        return "contract" if "contract" in marks else "backfill" if "backfill" in marks else "expand"


# A dollar-quoted body ($$ … $$, $fn$ … $fn$): a function's code, which runs when it is called, not when the
# migration runs, so its statements (a DELETE of expired rows) are not the migration's own.
_DOLLAR_BODY = re.compile(r"\$(\w*)\$.*?\$\1\$", re.S)


def _code(sql: str) -> str:
    """Lower-case SQL without comments and function bodies, whitespace collapsed (string literals are kept: good
    enough here)."""
    return " ".join(_DOLLAR_BODY.sub(" $$ $$ ", _COMMENT.sub(" ", sql)).lower().split())


def violations(migration: Migration) -> list[str]:
    """Why `migration` is not the step it claims to be (empty: it passes)."""
    if migration.step == "contract":
        return []
    code, found = _code(migration.sql), []
    rules = _ALWAYS_CONTRACT if migration.step == "backfill" else (*_ALWAYS_CONTRACT, *_DATA)
    for pattern, what in rules:
        if match := re.search(pattern, code):
            found.append(f"{what} ({match.group(0)!r}): mark it '-- contract: <why>'" + _backfill_hint(what))
    for match in _VALIDATED.finditer(code):
        if "not valid" not in match.group(0):
            found.append(f"adds a validated constraint ({match.group(0)[:60]!r}): add it NOT VALID, validate later")
    for match in _ADD_COLUMN.finditer(code):
        column, spec = match.group(2), match.group(3)
        if re.search(r"\bnot\s+null\b", spec) and not re.search(r"\bdefault\b", spec):
            found.append(f"adds column {column!r} NOT NULL without a default: the other version's inserts fail")
    created = {m.group(3) for m in _CREATE_TABLE.finditer(code)}
    for match in _CREATE_INDEX.finditer(code):
        table = match.group(5)
        if match.group(2):
            found.append(f"CREATE INDEX CONCURRENTLY on {table!r}: storage.db.migrate runs each file in a transaction")
        elif table not in created and "index-lock" not in migration.markers:
            found.append(
                f"indexes existing table {table!r}, holding its writes while it builds: "
                "say why that is fine with '-- index-lock: <why>'"
            )
    return found


def _backfill_hint(what: str) -> str:
    return " (or '-- backfill: <why>')" if what in {w for _, w in _DATA} else ""
