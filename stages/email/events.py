"""SendGrid Event Webhook logic: parse events, record each one once, apply its effect.

SendGrid may post the same event more than once (retries, and `sg_event_id`
changes between them), so an event is keyed on (sg_message_id, event,
timestamp) and only a newly inserted row has an effect. The request's
signature, the new events and the suppressions they cause are written in one
transaction: a crash half-way leaves nothing behind, so SendGrid's retry is
processed in full.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import orjson

COUNTED_ONLY = frozenset({"processed", "deferred", "delivered", "open", "click", "group_resubscribe"})
SUPPRESSING = frozenset({"bounce", "dropped", "spamreport", "unsubscribe", "group_unsubscribe"})


class ReplayedRequest(Exception):
    """The webhook request's signature was accepted before."""


@dataclass(frozen=True)
class SendGridEvent:
    sg_message_id: str
    event: str
    occurred_at: datetime
    email: str | None
    bounce_type: str | None = None
    reason: str | None = None
    sg_event_id: str | None = None
    payload: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)

    @property
    def key(self) -> tuple[str, str, datetime]:
        return self.sg_message_id, self.event, self.occurred_at


@dataclass
class RecordResult:
    received: int
    new: list[SendGridEvent]
    suppressed: list[tuple[str, str]]  # (address, reason) newly suppressed
    invalid: int = 0

    def summary(self) -> dict[str, Any]:
        return {
            "received": self.received, "new": len(self.new), "duplicates": self.received - self.invalid - len(self.new),
            "invalid": self.invalid, "suppressed": len(self.suppressed),
            "counts": dict(Counter(e.event for e in self.new)),
        }


def parse_events(body: bytes) -> tuple[list[SendGridEvent], int]:
    """The events in a webhook body, and how many items were unusable. Raises ValueError if not a JSON array."""
    data = orjson.loads(body)
    if not isinstance(data, list):
        raise ValueError("webhook body is not a JSON array")
    events: list[SendGridEvent] = []
    invalid = 0
    for item in data:
        event = _parse_one(item)
        if event is None:
            invalid += 1
        else:
            events.append(event)
    return events, invalid


def _parse_one(item: Any) -> SendGridEvent | None:
    if not isinstance(item, dict) or not isinstance(item.get("event"), str):
        return None
    stamp = item.get("timestamp")
    if not isinstance(stamp, int | float) or isinstance(stamp, bool):
        return None
    email = item.get("email")
    email = email.strip().lower() if isinstance(email, str) and "@" in email else None
    message_id = item.get("sg_message_id")
    if not isinstance(message_id, str) or not message_id:
        message_id = ""
    return SendGridEvent(
        sg_message_id=message_id, event=item["event"], occurred_at=datetime.fromtimestamp(int(stamp), UTC), email=email,
        bounce_type=_str(item.get("type")), reason=_str(item.get("reason")), sg_event_id=_str(item.get("sg_event_id")),
        payload=item,
    )


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def suppression_for(event: SendGridEvent) -> str | None:
    """The suppression reason this event calls for, if any. A 'blocked' bounce is soft: no suppression."""
    if event.email is None or event.event not in SUPPRESSING:
        return None
    if event.event == "bounce" and event.bounce_type not in (None, "bounce", "hard"):
        return None
    return event.event


_INSERT_EVENT = """
INSERT INTO email_events (sg_message_id, event, event_at, email, bounce_type, reason, sg_event_id, payload)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
ON CONFLICT (sg_message_id, event, event_at) DO NOTHING
RETURNING id
"""
_SUPPRESS = """
INSERT INTO suppressions (pattern, reason) VALUES ($1, $2) ON CONFLICT (pattern) DO NOTHING RETURNING pattern
"""
_RATES = """
SELECT
  (SELECT count(*) FROM email_outbox WHERE status = 'sent' AND sent_at > $1 AND sent_at <= $2) AS sent,
  (SELECT count(*) FROM email_events WHERE event = 'bounce' AND coalesce(bounce_type, 'bounce') IN ('bounce', 'hard')
      AND event_at > $1 AND event_at <= $2) AS bounced,
  (SELECT count(*) FROM email_events WHERE event = 'spamreport' AND event_at > $1 AND event_at <= $2) AS spam
"""


class EventStore:
    """Email events in PostgreSQL (tables from migration 0004)."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool

    async def record(
        self, events: list[SendGridEvent], *, signature: str | None = None, signed_at: datetime | None = None,
        invalid: int = 0,
    ) -> RecordResult:
        """Insert `events` once each and suppress addresses for the new ones, atomically.

        With `signature`, it is remembered in the same transaction; a signature
        seen before raises ReplayedRequest and nothing is written.
        """
        new: list[SendGridEvent] = []
        suppressed: list[tuple[str, str]] = []
        async with self.pool.acquire() as conn, conn.transaction():
            if signature is not None:
                fresh = await conn.fetchval(
                    "INSERT INTO webhook_signatures (signature, signed_at) VALUES ($1, $2) "
                    "ON CONFLICT (signature) DO NOTHING RETURNING true",
                    signature, signed_at or datetime.now(UTC),
                )
                if not fresh:
                    raise ReplayedRequest(signature[:16])
            for event in events:
                inserted = await conn.fetchval(
                    _INSERT_EVENT, event.sg_message_id, event.event, event.occurred_at, event.email,
                    event.bounce_type, event.reason, event.sg_event_id, event.payload,
                )
                if inserted is None:
                    continue
                new.append(event)
                reason = suppression_for(event)
                if reason and await conn.fetchval(_SUPPRESS, event.email, reason):
                    suppressed.append((event.email, reason))
        return RecordResult(received=len(events) + invalid, new=new, suppressed=suppressed, invalid=invalid)

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
