"""The email stage, the last one. Sends once per idempotency key; every lead ends here
as emailed, suppressed or disqualified (no contact).

The email's image is the mockup's preview (`MockupRef.preview_uri`: a ~27 KB JPEG of the
desktop view's first screen, made by the mockup stage), read from the blob store. The full
desktop PNG (~0.5 MB) is never sent. A lead whose mockup was made before previews existed
has no preview: its email goes out without an image rather than with the PNG.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from schemas import Lead
from stages.email.delivery import EmailDelivery
from storage.blobs import BlobStore
from storage.email_events import EmailEvents
from streams import metrics
from streams.envelope import Envelope
from streams.stage import Output, Stage

log = logging.getLogger(__name__)

SAMPLE_S = 15.0  # how often the outbox and the deliverability rates are read for /metrics
RATE_WINDOW_S = 3600.0  # the guards' default sliding window


class EmailStage(Stage[Lead]):
    name = "email"

    def __init__(self, delivery: EmailDelivery, blobs: BlobStore, events: EmailEvents | None = None) -> None:
        """`blobs`: where the mockup stage stored the previews; `events`: where the rates come from when the
        guards are off (they then never pause)."""
        self.delivery = delivery
        self.blobs = blobs
        self.events = events
        self._sampler: asyncio.Task[None] | None = None

    async def start(self) -> None:
        metrics.init_email()
        self._sampler = asyncio.create_task(self._sample_forever(), name="leadstream-email-sampler")

    async def stop(self) -> None:
        if self._sampler is not None:
            self._sampler.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._sampler

    async def sample(self) -> None:
        """Outbox entries by status, and the bounce/spam rates that drive the auto-pause."""
        counts = await self.delivery.outbox.count_by_status()
        for status in {*metrics.OUTBOX_STATUSES, *counts}:
            metrics.OUTBOX_ENTRIES.labels(status).set(counts.get(status, 0))
        # Ended ones only: a lead sent a moment ago has its record still in flight (None).
        disagree = await self.delivery.outbox.sent_not_emailed(RATE_WINDOW_S)
        metrics.EMAIL_SENT_ENDED_OTHERWISE.set(sum(1 for state in disagree.values() if state is not None))
        if self.delivery.guards is not None:
            await self.delivery.guards.health()
        elif self.events is not None:
            sent, bounced, spam = await self.events.rates(RATE_WINDOW_S)
            metrics.EMAIL_BOUNCE_RATE.set(bounced / sent if sent else 0.0)
            metrics.EMAIL_SPAM_RATE.set(spam / sent if sent else 0.0)
            metrics.EMAIL_SENDING_PAUSED.set(0)

    async def _sample_forever(self) -> None:
        while True:
            try:
                await self.sample()
            except Exception as exc:  # the store restarting: the gauges keep their last values
                log.warning("email metrics: could not sample: %r", exc)
            await asyncio.sleep(SAMPLE_S)

    async def preview(self, lead: Lead) -> bytes | None:
        """The preview JPEG the email shows; None without a mockup or for a mockup made before previews."""
        if lead.mockup is None:
            return None
        if lead.mockup.preview_uri is None:
            log.info(
                "lead %s: its mockup has no preview (made before previews); emailing without an image", lead.lead_id
            )
            return None
        return await self.blobs.get(lead.mockup.preview_uri)

    async def handle(self, lead: Lead, envelope: Envelope) -> list[Output]:
        delivered = await self.delivery.deliver(lead, await self.preview(lead))
        if delivered is None:  # another copy of the lead ended it first: it goes no further (`Runner._process`)
            metrics.series(metrics.EVENTS, self.name, "skipped_ended").inc()
            return []
        state, reason, outcome = delivered
        if outcome is not None:
            lead = lead.model_copy(update={"email_outcome": outcome})
        return [Output(lead, terminal=state, reason=reason)]
