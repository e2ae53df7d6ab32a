"""Exact counts that do not grow with the tables: leads per terminal state and dead letters (migration 0015).

``GET /v1/stats`` counted every lead once a second per API process; leads are never pruned, so that scan grew by
1.4 million rows a day at full rate. Instead, triggers append each change to ``row_count_deltas`` (a row trigger
on ``leads`` that fires only when a lead's state changes; a statement trigger on ``dead_letters``), and `fold` moves
the deltas into ``row_counts``, one row per counter. `read` sums both in one statement, so a fold in between
changes nothing it sees. `recount` counts them again from the tables, after a change no trigger sees.

Why two tables: a trigger that updated the one row of ``emailed`` would make every email batch's transaction wait
for the one before to commit. Appending never waits; folding is one transaction at a time (an advisory lock), run
by every worker once a minute (`leadstream.telemetry`), which keeps the deltas to about a minute's changes.
"""

from __future__ import annotations

from pathlib import Path

import asyncpg

STATE = "state:"  # a terminal state's counter: "state:emailed"
DEAD_LETTERS = "dead_letters"
FOLD_LOCK = (7_240_534, 0)  # beside storage.dead_letters.LETTERS_LOCK; one fold at a time
SEED = Path(__file__).parent / "migrations" / "0016_row_counts_seed.sql"  # the count from the tables, one way

_READ = """
SELECT counter, sum(n)::bigint AS n
FROM (SELECT counter, n FROM row_counts UNION ALL SELECT counter, n FROM row_count_deltas) c
GROUP BY counter
"""
_FOLD = """
WITH moved AS (DELETE FROM row_count_deltas RETURNING counter, n),
summed AS (SELECT counter, sum(n)::bigint AS n FROM moved GROUP BY counter)
INSERT INTO row_counts AS t (counter, n) SELECT counter, n FROM summed
ON CONFLICT (counter) DO UPDATE SET n = t.n + EXCLUDED.n
"""


async def read(conn: asyncpg.Pool | asyncpg.Connection) -> dict[str, int]:
    """Every counter, exact as of this statement; a counter that never counted anything is absent (0)."""
    return {r["counter"]: int(r["n"]) for r in await conn.fetch(_READ)}


def terminal(counts: dict[str, int]) -> dict[str, int]:
    """Leads per terminal state, from `read`'s counters (states whose count is 0 left out)."""
    return {k.removeprefix(STATE): n for k, n in counts.items() if k.startswith(STATE) and n}


async def fold(pool: asyncpg.Pool) -> bool:
    """Move the deltas into ``row_counts``; False when another process was folding (it does the same)."""
    async with pool.acquire() as conn, conn.transaction():
        if not await conn.fetchval("SELECT pg_try_advisory_xact_lock($1, $2)", *FOLD_LOCK):
            return False
        await conn.execute(_FOLD)
        return True


async def deltas(pool: asyncpg.Pool) -> int:
    """How many deltas wait for the next fold (what `read` sums beside the counters)."""
    return int(await pool.fetchval("SELECT count(*) FROM row_count_deltas"))


async def counted(pool: asyncpg.Pool) -> dict[str, int]:
    """The same counters counted from the tables (a scan of every lead): what `read` must equal."""
    rows = await pool.fetch(
        f"""
        SELECT '{STATE}' || state AS counter, count(*) AS n FROM leads WHERE state IS NOT NULL GROUP BY state
        UNION ALL SELECT '{DEAD_LETTERS}', count(*) FROM dead_letters
        """
    )
    return {r["counter"]: int(r["n"]) for r in rows}


async def recount(pool: asyncpg.Pool) -> None:
    """Count the counters again from the tables, as migration 0016 did (its file, run again): writers of leads and
    dead letters wait for it. For counters a manual change got wrong (a ``TRUNCATE``, which no trigger sees)."""
    async with pool.acquire() as conn, conn.transaction():
        await conn.execute(SEED.read_text())
