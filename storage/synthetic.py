"""Synthetic rows for benchmarks (perf/): filled in bulk on the server, never written by the pipeline.

A bench that needs a table as it looks after weeks of traffic cannot wait for the pipeline to write it, and its SQL
belongs here like all SQL (tests/test_sql_only_in_storage.py).
"""

from __future__ import annotations

import asyncpg

from storage.db import MIGRATIONS_DIR

TRANSIENT_SHARE = 0.25  # of the dead letters; the rest are bad input (70 %) and other reasons (5 %)


async def dead_letter_backlog(pool: asyncpg.Pool, rows: int, *, payload_bytes: int = 1500, days: int = 30) -> None:
    """`rows` dead letters spread evenly over the last `days` days, one lead each: 70 % InvalidMessage, 25 %
    TransientProviderError, 5 % another reason, each with a payload of `payload_bytes` (about a lead's JSON).
    Nothing is replayed: every transient letter of the replay's window is one the question must look at."""
    await pool.execute(
        """
        INSERT INTO dead_letters (stage, lead_id, topic, kafka_partition, kafka_offset, error_type, reason, attempts,
                                  payload, created_at)
        SELECT 'enrich', 'ld_synthetic_' || g, 'synthetic.leads.scraped', 0, g,
               CASE WHEN g % 20 < 14 THEN 'InvalidMessage'
                    WHEN g % 20 < 19 THEN 'TransientProviderError'
                    ELSE 'InternalError' END,
               'synthetic', 1, convert_to(repeat('x', $2), 'UTF8'), now() - (g::float / $1 * $3 * interval '1 day')
        FROM generate_series(1, $1::int) g
        """,
        rows,
        payload_bytes,
        days,
    )
    await pool.execute("ANALYZE dead_letters")


async def replay_share(pool: asyncpg.Pool, every: int) -> int:
    """Mark every `every`-th transient dead letter as replayed (sent), as the unattended replay leaves them: such a
    letter is settled for retention. Returns how many."""
    status = await pool.execute(
        """
        INSERT INTO dead_letter_replays (dead_letter_id, status, topic, kafka_partition, kafka_offset, sent_at)
        SELECT id, 'sent', topic, 0, kafka_offset, created_at + interval '30 minutes'
        FROM dead_letters WHERE error_type = 'TransientProviderError' AND id % $1 = 0
        """,
        every,
    )
    return int(status.split()[-1])


async def leads_beside(pool: asyncpg.Pool, others: int, *, ended_every: int = 10) -> int:
    """A ``leads`` row for each dead letter's lead (``dead_lettered``; every `ended_every`-th ended ``emailed``
    instead: a later copy got through), spread over 50 geo keys, plus `others` leads that never failed, so that
    the questions joining a letter to its lead probe partitions of a realistic size. Returns the rows written."""
    status = await pool.execute(
        """
        INSERT INTO leads (lead_id, geo_key, stage, stage_rank, state, record)
        SELECT d.lead_id, 'g' || (d.id % 50), 'enrich', 1,
               CASE WHEN d.id % $1 = 0 THEN 'emailed' ELSE 'dead_lettered' END, '{}'::jsonb
        FROM dead_letters d WHERE d.lead_id IS NOT NULL
        UNION ALL
        SELECT 'ld_synthetic_other_' || g, 'g' || (g % 50), 'email', 6, 'emailed', '{}'::jsonb
        FROM generate_series(1, $2::int) g
        """,
        ended_every,
        others,
    )
    await pool.execute("ANALYZE leads")
    return int(status.split()[-1])


async def leads_in_states(pool: asyncpg.Pool, rows: int, *, in_flight: int) -> None:
    """`rows` ended leads in the demo's shares (44 % emailed, 39 % disqualified, 15 % duplicate, 2 % dead-lettered:
    those of two geo keys only, as a provider's outage in one region leaves them) over 50 geo keys, ingested one
    every 60 ms up to now (1,000 a minute), and `in_flight` more without a state, spread over the six stages, the
    last minute's."""
    await pool.execute(
        """
        INSERT INTO leads (lead_id, geo_key, stage, stage_rank, state, record, ingested_at)
        SELECT 'ld_synthetic_' || g, 'g' || (g % 50), 'email', 6,
               CASE WHEN g % 100 < 44 THEN 'emailed' WHEN g % 100 < 83 THEN 'disqualified'
                    WHEN g % 100 < 98 THEN 'duplicate' ELSE 'dead_lettered' END, '{}'::jsonb,
               now() - (($1::int - g) * interval '60 ms')
        FROM generate_series(1, $1::int) g
        """,
        rows,
    )
    await pool.execute(
        """
        INSERT INTO leads (lead_id, geo_key, stage, stage_rank, state, record, ingested_at)
        SELECT 'ld_synthetic_flight_' || g, 'g' || (g % 50),
               (ARRAY['scrape', 'enrich', 'dedupe', 'score', 'mockup', 'email'])[g % 6 + 1], g % 6 + 1, NULL, '{}'::jsonb,
               now() - (($1::int - g) * interval '12 ms')
        FROM generate_series(1, $1::int) g
        """,
        in_flight,
    )
    await pool.execute("ANALYZE leads")


async def count_every_lead(pool: asyncpg.Pool) -> tuple[dict[tuple[str, str | None], int], int]:
    """What ``GET /v1/stats`` asked before the counters (migration 0015): every lead counted by (stage, state), and
    every dead letter. The stats bench compares against it."""
    rows = await pool.fetch("SELECT stage, state, count(*) AS n FROM leads GROUP BY stage, state")
    letters = await pool.fetchval("SELECT count(*) FROM dead_letters")
    return {(r["stage"], r["state"]): r["n"] for r in rows}, letters


async def count_triggers(pool: asyncpg.Pool, enabled: bool) -> None:
    """Turn the counters' triggers on ``leads`` on or off (the stats bench's write-path comparison)."""
    verb = "ENABLE" if enabled else "DISABLE"
    for trigger in ("leads_count_inserted", "leads_count_updated", "leads_count_deleted"):
        await pool.execute(f"ALTER TABLE leads {verb} TRIGGER {trigger}")


async def state_page_index(pool: asyncpg.Pool, present: bool) -> None:
    """Build migration 0017's index (its file, run again) or drop it: the lead pages bench compares the two."""
    if present:
        await pool.execute((MIGRATIONS_DIR / "0017_leads_by_state.sql").read_text())
    else:
        await pool.execute("DROP INDEX IF EXISTS leads_state_ingested_idx")
    await pool.execute("ANALYZE leads")
