"""What the API tells about leads: one lead's whole story, filtered pages of leads, counts.

Reads only: the API runs them on the read replica when one is configured (a lead's story a
few milliseconds old is fine; writes and read-your-writes go to the primary).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg

from storage import row_counts

_LEAD = """
SELECT l.lead_id, l.geo_key, l.source, l.name, l.vertical, l.stage, l.state, l.state_reason, l.entity_id,
       l.score, l.tier, l.trace_id, l.ingested_at, l.updated_at, l.terminal_at, l.record,
       COALESCE((SELECT jsonb_agg(jsonb_build_object('stage', s.stage, 'at', s.at) ORDER BY s.at, s.stage)
                 FROM lead_stages s WHERE s.lead_id = l.lead_id), '[]'::jsonb) AS stages,
       CASE WHEN l.entity_id IS NULL THEN '{}'::text[] ELSE ARRAY(
           SELECT d.lead_id FROM leads d WHERE d.entity_id = l.entity_id AND d.lead_id <> l.lead_id
           ORDER BY d.lead_id LIMIT 100) END AS duplicates,
       COALESCE((SELECT jsonb_agg(jsonb_build_object(
                    'campaign_step', o.campaign_step, 'status', o.status, 'attempts', o.attempts,
                    'message_id', o.message_id, 'last_error', o.last_error, 'sent_at', o.sent_at,
                    'last_event', (SELECT e.event FROM email_events e
                                   WHERE o.message_id IS NOT NULL AND e.sg_message_id = o.message_id
                                   ORDER BY e.event_at DESC LIMIT 1)) ORDER BY o.claimed_at)
                 FROM email_outbox o WHERE o.lead_id = l.lead_id), '[]'::jsonb) AS outbox,
       (SELECT jsonb_build_object('stage', d.stage, 'error_type', d.error_type, 'reason', d.reason,
                                  'attempts', d.attempts, 'at', d.created_at)
        FROM dead_letters d WHERE d.lead_id = l.lead_id ORDER BY d.id DESC LIMIT 1) AS dead_letter
FROM leads l WHERE l.lead_id = $1
"""

_PAGE_COLUMNS = "lead_id, geo_key, source, name, vertical, stage, state, score, tier, entity_id, ingested_at"


@dataclass(frozen=True)
class LeadCounts:
    in_flight: dict[str, int]  # by the last stage a lead reached
    terminal: dict[str, int]  # by terminal state
    dead_letters: int


@dataclass(frozen=True)
class LeadFilter:
    state: str | None = None  # a terminal state, or "in_flight"
    geo_key: str | None = None
    vertical: str | None = None
    tier: str | None = None
    since: datetime | None = None  # ingested at or after
    until: datetime | None = None  # ingested before


class LeadStatus:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool

    async def lead(self, lead_id: str) -> dict[str, Any] | None:
        row = await self.pool.fetchrow(_LEAD, lead_id)
        return dict(row) if row else None

    async def page(
        self, where: LeadFilter, *, limit: int, after: tuple[datetime, str] | None = None
    ) -> list[dict[str, Any]]:
        """Leads matching `where`, newest ingested first, after the (ingested_at, lead_id) cursor."""
        clauses = ["ingested_at IS NOT NULL"]
        args: list[Any] = []

        def arg(value: Any) -> str:
            args.append(value)
            return f"${len(args)}"

        if where.state == "in_flight":
            clauses.append("state IS NULL")
        elif where.state:
            clauses.append(f"state = {arg(where.state)}")
        if where.geo_key:
            clauses.append(f"geo_key = {arg(where.geo_key)}")
        if where.vertical:
            clauses.append(f"vertical = {arg(where.vertical)}")
        if where.tier:
            clauses.append(f"tier = {arg(where.tier)}")
        if where.since:
            clauses.append(f"ingested_at >= {arg(where.since)}")
        if where.until:
            clauses.append(f"ingested_at < {arg(where.until)}")
        if after:
            clauses.append(f"(ingested_at, lead_id) < ({arg(after[0])}, {arg(after[1])})")
        sql = (
            f"SELECT {_PAGE_COLUMNS} FROM leads WHERE {' AND '.join(clauses)} "
            f"ORDER BY ingested_at DESC, lead_id DESC LIMIT {arg(limit)}"
        )
        return [dict(r) for r in await self.pool.fetch(sql, *args)]

    async def counts(self) -> LeadCounts:
        """Leads in flight by last stage (few: read from the leads without a state), leads per terminal state and
        dead letters (`storage.row_counts`: they only grow), in one snapshot."""
        async with self.pool.acquire() as conn, conn.transaction(isolation="repeatable_read", readonly=True):
            rows = await conn.fetch("SELECT stage, count(*) AS n FROM leads WHERE state IS NULL GROUP BY stage")
            counted = await row_counts.read(conn)
        return LeadCounts(
            in_flight={r["stage"]: r["n"] for r in rows},
            terminal=row_counts.terminal(counted),
            dead_letters=counted.get(row_counts.DEAD_LETTERS, 0),
        )


@dataclass(frozen=True)
class ReplicaLag:
    in_recovery: bool
    bytes: int | None  # WAL the primary has written that the replica has not replayed yet
    seconds: float | None  # now() - last replayed commit's time; grows while the primary is idle


async def replica_lag(replica: asyncpg.Pool, primary: asyncpg.Pool | None = None) -> ReplicaLag:
    """How far the server behind `replica` is behind: in bytes against `primary`'s current WAL position
    (or, without it, WAL received but not replayed), and in seconds since the last replayed commit."""
    row = await replica.fetchrow(
        "SELECT pg_is_in_recovery() AS rec, pg_last_wal_replay_lsn()::text AS replayed, "
        "pg_wal_lsn_diff(pg_last_wal_receive_lsn(), pg_last_wal_replay_lsn())::bigint AS unreplayed, "
        "extract(epoch FROM now() - pg_last_xact_replay_timestamp())::float8 AS seconds"
    )
    if not row["rec"]:
        return ReplicaLag(False, 0, 0.0)
    behind = row["unreplayed"]
    if primary is not None and row["replayed"]:
        behind = await primary.fetchval(
            "SELECT greatest(pg_wal_lsn_diff(pg_current_wal_lsn(), $1::pg_lsn), 0)::bigint", row["replayed"]
        )
    return ReplicaLag(True, behind, row["seconds"])
