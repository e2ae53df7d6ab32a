"""Retention: the SQL of `leadstream db prune` (`leadstream.retention` applies the policy, `RetentionSettings`).

Two kinds of rows only grow, and each goes its own way:

* **Audit months** (`storage.db.MONTHLY_TABLES`, range-partitioned by month since migrations 0008 and 0009): a
  month past the horizon is dropped whole, `DROP TABLE <table>_yYYYYmMM`, never a DELETE that leaves dead rows
  for vacuum. The drop takes an ACCESS EXCLUSIVE lock on the parent for a moment; it waits at most
  `LOCK_TIMEOUT` for it (writers queue behind a waiting drop), and a month it could not drop stays for the
  next run. The default partition (rows outside every month) is never dropped.
* **Dead letters** (one table: its unique key on the source offset is what makes a redelivered failure one
  row, so it has no month to drop): each stage's letters older than the settled horizon are walked in chunks
  along the (stage, created_at) index, oldest first, and the due ones of each chunk deleted by one statement,
  so no transaction holds many rows' locks, a run can stop anywhere, and a night reads only the letters past
  the horizon, never the recent ones. A letter's replay rows go with it (``ON DELETE CASCADE``). A letter whose
  replay is claimed and not yet sent is **held**, whatever its age: the claim cleared its lead's state, so until
  the send (or the claim's release) the letter is the lead's only copy (`DeadLetterStore.claim`). A run that
  deleted letters ends with `vacuum_dead_letters`: the deleted rows sit at the low end of the
  (stage, created_at) index, where the workers' minute question (`oldest_dead_letter`) starts, and autovacuum
  comes only once a fifth of the table is dead (`perf/bench_retention.py`, a million letters of which a third
  were just deleted: 1.3–1.5 ms per ask right after the delete, 0.27 ms after the VACUUM, in one run; runs
  where the deleted entries were not yet marked dead took 100–230 ms).
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, date, datetime

import asyncpg

from storage.db import MONTHLY_TABLES
from storage.dead_letters import LEAD_ENDED_OTHERWISE, LETTER_JOINS, LETTERS_LOCK, SUPERSEDED

LOCK_TIMEOUT = "2s"  # the longest a month's drop may hold writers of its table behind it
CHUNK = 5000  # dead letters looked at per statement
_MONTH = re.compile(r"_y(\d{4})m(\d{2})$")

# A letter is settled when nothing would replay it and nobody needs to read it: its replay reached the broker,
# a newer letter of its lead supersedes it (only a lead's latest is replayable), or its lead ended otherwise. But a
# replayed letter that a newer one of its lead supersedes, while that lead waits (``dead_lettered``: the replay
# failed again), is one of the replays that the newer letter's ``--max-replays`` counts (`REPLAYS_BEFORE`): it goes
# with the last horizon, not before.
_SENT = "r.status IS NOT DISTINCT FROM 'sent'"
_COUNTED = f"({_SENT} AND l.state IS NOT DISTINCT FROM 'dead_lettered')"  # of a superseded letter
_SETTLED = f"({LEAD_ENDED_OTHERWISE} OR CASE WHEN {SUPERSEDED} THEN NOT {_COUNTED} ELSE {_SENT} END)"
# A replay in flight, or one that stopped between its claim and its send (`dlq list`, then `dlq replay --force`):
# its lead has no state until the send, and the letter is what sends it. Never due.
_HELD = "r.status IS NOT DISTINCT FROM 'claimed'"
_STAGES = """
WITH RECURSIVE s AS (
    (SELECT stage FROM dead_letters ORDER BY stage LIMIT 1)
    UNION ALL
    SELECT (SELECT stage FROM dead_letters WHERE stage > s.stage ORDER BY stage LIMIT 1) FROM s WHERE s.stage IS NOT NULL
)
SELECT stage FROM s WHERE stage IS NOT NULL
"""  # the distinct stages through the index, one probe each, not a scan of the table
_CHUNK = f"""
WITH chunk AS (
    SELECT d.id, d.stage, d.error_type, d.created_at, {_SETTLED} AS settled, {_HELD} AS held
    {LETTER_JOINS}
    WHERE d.stage = $1 AND d.created_at >= $2 AND (d.created_at, d.id) > ($2, $3) AND d.created_at < $4
    ORDER BY d.created_at, d.id
    LIMIT $6
),
due AS (SELECT * FROM chunk WHERE (created_at < $5 OR settled) AND NOT held){{delete}}
SELECT (SELECT count(*) FROM chunk) AS read,
       (SELECT created_at FROM chunk ORDER BY created_at DESC, id DESC LIMIT 1) AS last_at,
       (SELECT id FROM chunk ORDER BY created_at DESC, id DESC LIMIT 1) AS last_id,
       (SELECT array_agg(error_type ORDER BY id) FROM due) AS reasons,
       (SELECT array_agg(settled ORDER BY id) FROM due) AS settled,
       (SELECT array_agg(id ORDER BY id) FROM chunk WHERE held AND (created_at < $5 OR settled)) AS held
"""
_DELETE = ",\ngone AS (DELETE FROM dead_letters WHERE id IN (SELECT id FROM due))"
_EPOCH = datetime(1, 1, 1, tzinfo=UTC)  # before every letter
_OLDEST_LETTER = f"""
SELECT min((SELECT min(d.created_at) FROM dead_letters d WHERE d.stage = stages.stage)) FROM ({_STAGES}) stages
"""  # one index probe per stage: cheap enough for every worker to ask once a minute


async def oldest_dead_letter(pool: asyncpg.Pool) -> datetime | None:
    """When the oldest dead letter was written; None when there is none."""
    return await pool.fetchval(_OLDEST_LETTER)


async def vacuum_dead_letters(pool: asyncpg.Pool) -> None:
    """VACUUM (ANALYZE) the dead letters: their index entries of deleted rows go, and the visibility map lets the
    minute question read the index alone again. Rows deleted moments ago may stay until the next run while a
    replica's hot_standby_feedback holds the horizon back."""
    await pool.execute("VACUUM (ANALYZE) dead_letters")


@dataclass
class DeadLetterPrune:
    """What a prune of dead letters deleted (or, in a dry run, would delete): counts by (stage, reason)."""

    settled: Counter[tuple[str, str]] = field(default_factory=Counter)
    unsettled: Counter[tuple[str, str]] = field(default_factory=Counter)  # past the last horizon, never settled
    read: int = 0  # letters older than the settled horizon that were looked at
    held: list[int] = field(default_factory=list)  # ids that would be due, kept: their replay is claimed, not sent


async def prune_dead_letters(
    pool: asyncpg.Pool,
    *,
    settled_before: datetime,
    any_before: datetime,
    dry_run: bool = False,
    chunk: int = CHUNK,
) -> DeadLetterPrune:
    """Delete settled dead letters written before `settled_before` and every one written before `any_before`."""
    sql = _CHUNK.format(delete="" if dry_run else _DELETE)
    pruned = DeadLetterPrune()
    for stage in [r["stage"] for r in await pool.fetch(_STAGES)]:
        last_at, last_id = _EPOCH, 0
        while True:
            async with pool.acquire() as conn, conn.transaction():
                if not dry_run:  # the chunk's snapshot comes after every claim before it (storage.dead_letters)
                    await conn.execute("SELECT pg_advisory_xact_lock($1, $2)", *LETTERS_LOCK)
                row = await conn.fetchrow(sql, stage, last_at, last_id, settled_before, any_before, chunk)
            for reason, settled in zip(row["reasons"] or (), row["settled"] or ()):
                (pruned.settled if settled else pruned.unsettled)[(stage, reason)] += 1
            pruned.read += row["read"]
            pruned.held.extend(row["held"] or ())
            if row["read"] < chunk:
                break
            last_at, last_id = row["last_at"], row["last_id"]
    return pruned


@dataclass(frozen=True)
class MonthPartition:
    table: str  # the partitioned parent, e.g. provider_calls
    name: str  # the partition, as PostgreSQL names it in this search path
    month: date  # its first day


async def month_partitions(pool: asyncpg.Pool, tables: tuple[str, ...] = MONTHLY_TABLES) -> list[MonthPartition]:
    """The monthly partitions of `tables` (those that are partitioned here), oldest first; not the default ones."""
    rows = await pool.fetch(
        """
        SELECT p.relname AS parent, c.oid::regclass::text AS name, c.relname
        FROM pg_inherits i
        JOIN pg_class c ON c.oid = i.inhrelid
        JOIN pg_class p ON p.oid = i.inhparent
        WHERE i.inhparent = ANY(ARRAY(SELECT to_regclass(t) FROM unnest($1::text[]) t WHERE to_regclass(t) IS NOT NULL))
        """,
        list(tables),
    )
    found = []
    for row in rows:
        match = _MONTH.search(row["relname"])
        if match:
            found.append(MonthPartition(row["parent"], row["name"], date(int(match[1]), int(match[2]), 1)))
    return sorted(found, key=lambda p: (p.month, p.table))


async def drop_partition(pool: asyncpg.Pool, partition: MonthPartition, *, lock_timeout: str = LOCK_TIMEOUT) -> bool:
    """Drop one month's partition; False when its table's lock was not free within `lock_timeout` (try again
    later: nothing was dropped)."""
    async with pool.acquire() as conn:
        try:
            async with conn.transaction():
                await conn.execute("SELECT set_config('lock_timeout', $1, true)", lock_timeout)
                await conn.execute(f"DROP TABLE IF EXISTS {partition.name}")  # a regclass name, quoted as needed
        except asyncpg.LockNotAvailableError:
            return False
    return True
