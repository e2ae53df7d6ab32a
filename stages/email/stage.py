"""The email stage, the last one. Sends once per idempotency key; every lead ends here
as emailed, suppressed or disqualified (no contact)."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlparse

from schemas import Lead
from stages.email.delivery import EmailDelivery
from streams.envelope import Envelope
from streams.stage import Output, Stage


def read_blob(uri: str | None) -> bytes | None:
    """The mockup PNG behind a blob URI (local disk for now)."""
    if not uri:
        return None
    parsed = urlparse(uri)
    if parsed.scheme != "file":
        raise ValueError(f"unsupported mockup uri {uri!r}")
    return Path(parsed.path).read_bytes()


class EmailStage(Stage[Lead]):
    name = "email"

    def __init__(self, delivery: EmailDelivery) -> None:
        self.delivery = delivery

    async def handle(self, lead: Lead, envelope: Envelope) -> list[Output]:
        png = read_blob(lead.mockup.uri) if lead.mockup else None
        state, reason, outcome = await self.delivery.deliver(lead, png)
        if outcome is not None:
            lead = lead.model_copy(update={"email_outcome": outcome})
        return [Output(lead, terminal=state, reason=reason)]
