"""The email stage as configured: composer, SendGrid, the outbox and (when enabled) the deliverability guards."""

from __future__ import annotations

from datetime import date

from config import Settings
from providers.sendgrid import SendGridMailer
from stages.email.delivery import Composer, EmailDelivery
from stages.email.guards import SendGuards
from stages.email.stage import EmailStage
from storage.blobs import LocalBlobStore
from storage.db import Pool
from storage.email_events import EmailEvents
from storage.outbox import Outbox
from streams.incarnation import PROCESS_ID


def build_send_guards(settings: Settings, pool: Pool) -> SendGuards | None:
    """Deliverability guards from the settings, or None when LEADSTREAM_EMAIL__GUARDS is off."""
    e = settings.email
    if not e.guards:
        return None
    start_hour, end_hour = e.window_hours
    return SendGuards(
        pool,
        daily_cap=e.daily_cap,
        per_domain_daily_cap=e.per_domain_cap,
        warmup=e.warmup,
        first_send_date=e.first_send_date or date.today(),
        window_start_hour=start_hour,
        window_end_hour=end_hour,
        bounce_pause=e.bounce_pause,
        spam_pause=e.spam_pause,
        sender_tz=e.sender_tz,
    )


async def build_email(settings: Settings, pool: Pool) -> EmailStage:
    s, e = settings, settings.email
    composer = Composer(e.from_name, e.postal_address, e.unsubscribe_base_url, e.unsubscribe_secret, e.campaign_step)
    mailer = SendGridMailer(s.sendgrid_base_url, s.sendgrid_api_key, e.from_email, e.from_name, s.http_timeout_s)
    return EmailStage(
        EmailDelivery(
            Outbox(pool, claimant=PROCESS_ID),
            mailer,
            composer,
            guards=build_send_guards(s, pool),
            settle_after_death_s=e.settle_after_death_s,
            poll_s=e.claim_poll_s,
        ),
        LocalBlobStore(s.blob_dir),
        events=EmailEvents(pool),
    )
