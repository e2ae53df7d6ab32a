"""Every migration is an expand step unless it says it is a backfill or a contract (storage.migration_rules):
version N and N+1 workers share the database during a rolling upgrade (docs/upgrades.md)."""

from __future__ import annotations

import pytest

from storage.db import migration_files
from storage.migration_rules import Migration, violations


@pytest.mark.parametrize("path", migration_files(), ids=lambda p: p.name)
def test_every_migration_is_additive_unless_marked(path):
    migration = Migration(path.name, path.read_text())
    assert violations(migration) == [], f"{path.name} ({migration.step})"
    assert all(migration.markers.values()), f"{path.name}: a marker needs its reason"


def test_there_are_migrations_to_check():
    assert len(migration_files()) >= 8


def _check(sql: str) -> list[str]:
    return violations(Migration("9999_test.sql", sql))


@pytest.mark.parametrize(
    "sql",
    [
        "CREATE TABLE IF NOT EXISTS notes (id bigint PRIMARY KEY, body text NOT NULL);"
        "CREATE INDEX IF NOT EXISTS notes_body ON notes (body);",
        "ALTER TABLE leads ADD COLUMN IF NOT EXISTS region text, ADD COLUMN tags text[] NOT NULL DEFAULT '{}';",
        "ALTER TABLE leads ALTER COLUMN score DROP NOT NULL;",
        "ALTER TABLE leads ADD CONSTRAINT score_range CHECK (score >= 0) NOT VALID;",
        "-- index-lock: a small table\nCREATE INDEX IF NOT EXISTS leads_region ON leads (region);",
        "CREATE OR REPLACE FUNCTION f() RETURNS int LANGUAGE sql AS $$ SELECT 1 $$;",
        # a function's body runs when it is called, not when the migration runs
        "CREATE OR REPLACE FUNCTION g() RETURNS void LANGUAGE plpgsql AS $fn$ BEGIN DELETE FROM t WHERE a < 0; END "
        "$fn$;",
        "-- renamed nothing: DROP TABLE in a comment does not count\nCREATE TABLE t (a int);",
    ],
)
def test_additive_changes_pass(sql):
    assert _check(sql) == []


@pytest.mark.parametrize(
    ("sql", "says"),
    [
        ("ALTER TABLE leads DROP COLUMN score;", "drops"),
        ("DROP TABLE IF EXISTS suppressions;", "drops"),
        ("ALTER TABLE leads RENAME COLUMN zip TO postal_code;", "renames"),
        ("ALTER TABLE leads ALTER COLUMN score TYPE numeric;", "type"),
        ("ALTER TABLE leads ALTER COLUMN tier SET NOT NULL;", "required"),
        ("ALTER TABLE leads ALTER COLUMN tier DROP DEFAULT;", "default"),
        ("ALTER TABLE leads ADD COLUMN region text NOT NULL;", "without a default"),
        ("ALTER TABLE leads ADD COLUMN a text, ADD COLUMN region text NOT NULL;", "'region' NOT NULL"),
        ("ALTER TABLE leads ADD CONSTRAINT one_per_zip UNIQUE (zip);", "key"),
        ("ALTER TABLE leads ADD CONSTRAINT fk FOREIGN KEY (entity_id) REFERENCES entities (id);", "NOT VALID"),
        ("CREATE INDEX IF NOT EXISTS leads_zip ON leads (zip);", "index-lock"),
        ("CREATE INDEX CONCURRENTLY leads_zip ON leads (zip);", "transaction"),
        ("UPDATE leads SET tier = 'C' WHERE tier IS NULL;", "backfill"),
        ("DELETE FROM dead_letters WHERE created_at < now();", "backfill"),
        ("CREATE FUNCTION f() RETURNS int LANGUAGE sql AS $$ SELECT 1 $$; DELETE FROM t;", "backfill"),
        ("TRUNCATE provider_calls;", "empties"),
    ],
)
def test_what_breaks_the_other_version_is_refused_in_an_expand_step(sql, says):
    found = _check(sql)
    assert len(found) == 1 and says in found[0], found


def test_a_backfill_may_change_data_but_not_the_schema():
    assert _check("-- backfill: region from zip\nUPDATE leads SET region = left(zip, 3) WHERE region IS NULL;") == []
    assert _check("-- backfill: tidy\nUPDATE leads SET tier = 'C';\nALTER TABLE leads DROP COLUMN old;") != []


def test_a_contract_step_says_so_and_may_remove():
    sql = "-- contract: zip is read from postal_code since 0012\nALTER TABLE leads DROP COLUMN zip;"
    assert Migration("x.sql", sql).step == "contract" and _check(sql) == []
