"""Email: the last stage. Sends once per idempotency key; every lead ends here
as emailed, suppressed or disqualified (no contact)."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlparse

from schemas import Lead
from stages.email import Composer, EmailDelivery
from streams.envelope import Envelope
from streams.stage import Output, Stage
from streams.topology import EMAILS_QUEUED


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


def send_guards(pool, s):
    """Deliverability guards from the settings, or None when LEADSTREAM_EMAIL_GUARDS is off."""
    e = s.email
    if not e.guards:
        return None
    from datetime import date

    from stages.email_guards import SendGuards

    start_hour, end_hour = e.window_hours
    return SendGuards(
        pool, daily_cap=e.daily_cap, per_domain_daily_cap=e.per_domain_cap, warmup=e.warmup,
        first_send_date=e.first_send_date or date.today(), window_start_hour=start_hour, window_end_hour=end_hour,
        bounce_pause=e.bounce_pause, spam_pause=e.spam_pause, sender_tz=e.sender_tz,
    )


def register(rt) -> None:
    from providers.sendgrid import SendGridMailer
    from storage.outbox import Outbox

    async def factory(rt) -> EmailStage:
        s = rt.settings
        e = s.email
        composer = Composer(e.from_name, e.postal_address, e.unsubscribe_base_url, e.unsubscribe_secret, e.campaign_step)
        mailer = SendGridMailer(s.sendgrid_base_url, s.sendgrid_api_key, e.from_email, e.from_name, s.http_timeout_s)
        pool = await rt.pool()
        return EmailStage(EmailDelivery(Outbox(pool), mailer, composer, guards=send_guards(pool, s)))

    rt.stage_agent(factory, EMAILS_QUEUED, "email")
