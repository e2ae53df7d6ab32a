"""SendGrid Event Webhook logic: parse events, decide each one's effect, record each one once.

SendGrid may post the same event more than once (retries, and `sg_event_id`
changes between them), so an event is keyed on (sg_message_id, event,
timestamp) and only a newly inserted row has an effect. The request's
replay key, the new events and the suppressions they cause are written in one
transaction: a crash half-way leaves nothing behind, so SendGrid's retry is
processed in full (`storage.email_events.EmailEvents` holds the SQL).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson

from schemas.email_event import SendGridEvent
from storage.db import Pool
from storage.email_events import EmailEvents, ReplayedRequest

__all__ = ["EventStore", "RecordResult", "ReplayedRequest", "SendGridEvent", "parse_events", "suppression_for"]

# These end an address's mail for good; every other event (processed, delivered, open, …) is only counted.
SUPPRESSING = frozenset({"bounce", "dropped", "spamreport", "unsubscribe", "group_unsubscribe"})


@dataclass
class RecordResult:
    received: int
    new: list[SendGridEvent]
    suppressed: list[tuple[str, str]]  # (address, reason) newly suppressed
    invalid: int = 0

    def summary(self) -> dict[str, Any]:
        return {
            "received": self.received,
            "new": len(self.new),
            "duplicates": self.received - self.invalid - len(self.new),
            "invalid": self.invalid,
            "suppressed": len(self.suppressed),
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
        sg_message_id=message_id,
        event=item["event"],
        occurred_at=datetime.fromtimestamp(int(stamp), UTC),
        email=email,
        bounce_type=_str(item.get("type")),
        reason=_str(item.get("reason")),
        sg_event_id=_str(item.get("sg_event_id")),
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


class EventStore:
    """Records webhook events once each, with the suppressions they call for, atomically.

    With `replay_key` (`leadstream.webhooks.replay_key`: a hash of the signed
    timestamp and body), the request is remembered in the same transaction; a
    key seen before raises ReplayedRequest and nothing is written.
    """

    def __init__(self, pool: Pool) -> None:
        self.events = EmailEvents(pool)

    async def record(
        self,
        events: list[SendGridEvent],
        *,
        replay_key: str | None = None,
        signed_at: datetime | None = None,
        invalid: int = 0,
    ) -> RecordResult:
        new, suppressed = await self.events.record(
            [(event, suppression_for(event)) for event in events], signature=replay_key, signed_at=signed_at
        )
        return RecordResult(received=len(events) + invalid, new=new, suppressed=suppressed, invalid=invalid)

    async def rates(self, window_s: float, *, now: datetime | None = None) -> tuple[int, int, int]:
        """(sent, hard-bounced, spam-reported) within the last `window_s` seconds."""
        return await self.events.rates(window_s, now=now)

    async def prune_signatures(self, older_than_s: float) -> int:
        """Forget signatures older than any request still fresh enough to be accepted."""
        return await self.events.prune_signatures(older_than_s)
