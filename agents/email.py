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
    if not s.email_guards:
        return None
    from datetime import date

    from stages.email_guards import SendGuards

    start, _, end = s.email_window_hours.partition("-")
    return SendGuards(
        pool, daily_cap=s.email_daily_cap, per_domain_daily_cap=s.email_per_domain_cap,
        warmup=[int(x) for x in s.email_warmup.split(",") if x.strip()],
        first_send_date=date.fromisoformat(s.email_first_send_date) if s.email_first_send_date else date.today(),
        window_start_hour=int(start), window_end_hour=int(end or 24), bounce_pause=s.email_bounce_pause,
        spam_pause=s.email_spam_pause, sender_tz=s.email_sender_tz,
    )


def register(rt) -> None:
    from providers.sendgrid import SendGridMailer
    from storage.outbox import Outbox

    async def factory(rt) -> EmailStage:
        s = rt.settings
        composer = Composer(s.from_name, s.postal_address, s.unsubscribe_base_url, s.unsubscribe_secret, s.campaign_step)
        mailer = SendGridMailer(s.sendgrid_base_url, s.sendgrid_api_key, s.from_email, s.from_name, s.http_timeout_s)
        pool = await rt.pool()
        return EmailStage(EmailDelivery(Outbox(pool), mailer, composer, guards=send_guards(pool, s)))

    rt.stage_agent(factory, EMAILS_QUEUED, "email")
