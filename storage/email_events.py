"""Email events from SendGrid's webhook, the webhook's replay guard, and the rates the send guards watch.

Tables from migration 0004. `record` writes a request's signature, its new
events and the suppressions they call for in one transaction: a crash half-way
leaves nothing behind, so SendGrid's retry is processed in full.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import asyncpg

from schemas.email_event import SendGridEvent

_INSERT_EVENT = """
INSERT INTO email_events (sg_message_id, event, event_at, email, bounce_type, reason, sg_event_id, payload)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
ON CONFLICT (sg_message_id, event, event_at) DO NOTHING
RETURNING id
"""
_SUPPRESS = """
INSERT INTO suppressions (pattern, reason) VALUES ($1, $2) ON CONFLICT (pattern) DO NOTHING RETURNING pattern
"""
_REMEMBER_SIGNATURE = """
INSERT INTO webhook_signatures (signature, signed_at) VALUES ($1, $2) ON CONFLICT (signature) DO NOTHING RETURNING true
"""
_RATES = """
SELECT
  (SELECT count(*) FROM email_outbox WHERE status = 'sent' AND sent_at > $1 AND sent_at <= $2) AS sent,
  (SELECT count(*) FROM email_events WHERE event = 'bounce' AND coalesce(bounce_type, 'bounce') IN ('bounce', 'hard')
      AND event_at > $1 AND event_at <= $2) AS bounced,
  (SELECT count(*) FROM email_events WHERE event = 'spamreport' AND event_at > $1 AND event_at <= $2) AS spam
"""


class ReplayedRequest(Exception):
    """The webhook request's signature was accepted before."""


class EmailEvents:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool

    async def record(
        self,
        events: Sequence[tuple[SendGridEvent, str | None]],
        *,
        signature: str | None = None,
        signed_at: datetime | None = None,
    ) -> tuple[list[SendGridEvent], list[tuple[str, str]]]:
        """Insert each (event, suppression reason or None) once; returns (new events, newly suppressed (address, reason)).

        A `signature` seen before raises ReplayedRequest and nothing is written.
        """
        new: list[SendGridEvent] = []
        suppressed: list[tuple[str, str]] = []
        async with self.pool.acquire() as conn, conn.transaction():
            if signature is not None:
                fresh = await conn.fetchval(_REMEMBER_SIGNATURE, signature, signed_at or datetime.now(UTC))
                if not fresh:
                    raise ReplayedRequest(signature[:16])
            for event, reason in events:
                inserted = await conn.fetchval(
                    _INSERT_EVENT,
                    event.sg_message_id,
                    event.event,
                    event.occurred_at,
                    event.email,
                    event.bounce_type,
                    event.reason,
                    event.sg_event_id,
                    event.payload,
                )
                if inserted is None:
                    continue
                new.append(event)
                if reason and event.email and await conn.fetchval(_SUPPRESS, event.email, reason):
                    suppressed.append((event.email, reason))
        return new, suppressed

    async def rates(self, window_s: float, *, now: datetime | None = None) -> tuple[int, int, int]:
        """(sent, hard-bounced, spam-reported) within the last `window_s` seconds."""
        end = now or datetime.now(UTC)
        start = end - timedelta(seconds=window_s)
        async with self.pool.acquire() as conn:
            row = await conn.fetchrow(_RATES, start, end)
        return int(row["sent"]), int(row["bounced"]), int(row["spam"])

    async def prune_signatures(self, older_than_s: float) -> int:
        """Forget signatures older than any request still fresh enough to be accepted."""
        cutoff = datetime.now(UTC) - timedelta(seconds=older_than_s)
        async with self.pool.acquire() as conn:
            status = await conn.execute("DELETE FROM webhook_signatures WHERE signed_at < $1", cutoff)
        return int(status.split()[-1])
