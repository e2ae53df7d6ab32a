"""One SendGrid Event Webhook event, as the email stage and the system of record see it.

Keyed on (sg_message_id, event, timestamp): SendGrid may post an event again
with a new `sg_event_id`, so that id cannot be the key.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


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
