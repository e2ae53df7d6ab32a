"""The email stage's logic: compose a personal email, then send it at most once.

Flow for one lead: the lead's own key first (a key already claimed settles the lead, whatever
this copy of it or the suppression list says now) → the recipient as one bare address
(`schemas.address.mailbox`; anything else ends the lead as ``disqualified``/``invalid_recipient``
before any claim) → suppression check → claim the idempotency key in the outbox → send through
SendGrid → mark sent. That one address is what is checked, claimed, put in the unsubscribe token
and mailed; a claimed key is only ever sent to the address it was claimed for. A key found already
sent is skipped; a key left ``pending`` by a crashed attempt is reconciled with SendGrid's
activity API before anything is sent again (never blindly retried). A lead that another copy of
it ended first (a redelivery that parted ways upstream) is left as that copy ended it, unsent
(`deliver` answers None); while its key is claimed, only its email or this stage's dead letter
ends it (`storage.outbox`).

The claim is fenced (`storage.outbox`): the sender stamps its claim just before the
request, and the request leaves before the mailer's deadline (`SendGridMailer.send`) or
never. Another worker (a redelivery after a rebalance, while the first one may still be
sending) takes a ``pending`` key over only once `reconcile_after_s` has passed since that
stamp, longer than the deadline, and only if SendGrid has no message with the key. A live
but slow first sender then finds its claim gone and sends nothing. For real SendGrid,
`reconcile_after_s` must also cover the Email Activity feed's delay.

Sooner when the claimant is known to be dead. The outbox records which worker process
claimed and stamped a key (`streams.incarnation.PROCESS_ID`); a restarted worker that
holds its data directory's lock records the process before it as ended (the kernel
released that lock, so that process runs no more code: `streams.incarnation`). A key
whose claimant has ended is reconciled `settle_after_death_s` after that record (what
the dead process had already handed to its kernel arrives meanwhile; for real SendGrid
this too must cover the activity feed's delay), and no sooner than the mailer's deadline
after its stamp (a second line should the lock be wrong; a successor usually gets the
partition later than that anyway), instead of `reconcile_after_s`. A claimant not known
to have ended, however silent, may be a paused sender: its key waits `reconcile_after_s`
as before. Either way SendGrid is asked after the wait, just before the take-over.
While it waits, the lead is `Deferred` (only it: the email stage streams its events, so
the partition's other leads go on; its commits wait for it, as commits are in order).
"""

from __future__ import annotations

import asyncio
import logging
import unicodedata
from dataclasses import dataclass

from jinja2 import Environment, PackageLoader, select_autoescape

from providers.http import PermanentProviderError, TransientProviderError
from providers.sendgrid import InlineImage, OutgoingEmail, SendGridMailer, SendOutcomeUnknown
from schemas import EmailOutcome, Lead, TerminalState
from schemas.address import InvalidAddress, mailbox
from schemas.concept import problems_for
from stages.email.guards import SendGuards, timezone_for_state
from stages.email.tokens import read_unsubscribe_token, unsubscribe_token
from storage.outbox import ClaimState, LeadEnded, Outbox, OutboxEntry
from streams import metrics
from streams.stage import Deferred

__all__ = ["Composer", "EmailDelivery", "idempotency_key", "read_unsubscribe_token", "unsubscribe_token"]

log = logging.getLogger(__name__)

# HTML templates are autoescaped; the plain-text part must not be (it would show &lt;b&gt;).
_env = Environment(
    loader=PackageLoader("stages.email", "templates"),
    autoescape=select_autoescape(enabled_extensions=("html.j2",), default=False),
)

SUBJECTS = {
    "hvac": "A faster website for {name} before the next heat wave",
    "plumber": "{name}: a website that books the emergency calls",
    "vet": "A friendlier website for {name}'s pet owners",
}
DEFAULT_SUBJECT = "A fresh website idea for {name}"
PITCHES = {
    "hvac": "When a furnace quits on a cold night, people call the first company whose site loads fast on a phone and makes booking easy.",
    "plumber": "Emergency jobs go to whoever answers first: a site with the phone number up top and a quick booking form wins those calls.",
    "vet": "Pet owners choose a clinic they trust: clear hours, online appointments and friendly photos do a lot of that work.",
}
DEFAULT_PITCH = "Most customers meet a local business on its website first, usually on a phone."


def header_text(value: str, max_chars: int) -> str:
    """`value` as one line fit for a mail header: control characters and line breaks become spaces.

    A lead's name comes from third parties; CR/LF in it must never start a new
    header (``Bcc:``) or end the subject early.
    """
    cleaned = "".join(" " if unicodedata.category(c) in ("Cc", "Zl", "Zp") else c for c in value)
    return " ".join(cleaned.split())[:max_chars]


PREVIEW_CID = "mockup"  # the content id of the inline preview, which intro.html.j2 shows (`cid:...`)


def idempotency_key(lead_id: str, campaign_step: str) -> str:
    return f"{lead_id}:{campaign_step}"


@dataclass
class Composer:
    from_name: str
    postal_address: str
    unsubscribe_base_url: str
    unsubscribe_secret: str
    campaign_step: str

    def compose(self, lead: Lead, to: str, preview: bytes | None) -> OutgoingEmail:
        """The email; `preview` (the mockup preview JPEG, `stages.mockup.maker.PREVIEW`) goes inline as ``cid:mockup``."""
        key = idempotency_key(lead.lead_id, self.campaign_step)
        token = unsubscribe_token(self.unsubscribe_secret, to, lead.lead_id)
        unsubscribe_url = f"{self.unsubscribe_base_url.rstrip('/')}/{token}"
        problems = _problems(lead)
        context = {
            "lead": lead,
            "problems": problems,
            "has_preview": preview is not None,
            "preview_cid": PREVIEW_CID,
            "sender": self.from_name,
            "pitch": PITCHES.get(lead.vertical or "", DEFAULT_PITCH),
            "postal_address": self.postal_address,
            "unsubscribe_url": unsubscribe_url,
        }
        subject = SUBJECTS.get(lead.vertical or "", DEFAULT_SUBJECT).format(name=header_text(lead.name, 120))
        images = [InlineImage(preview, "mockup.jpg", PREVIEW_CID, "image/jpeg")] if preview else []
        return OutgoingEmail(
            to=to,
            subject=subject,
            html=_env.get_template("intro.html.j2").render(context),
            text=_env.get_template("intro.txt.j2").render(context),
            idempotency_key=key,
            lead_id=lead.lead_id,
            categories=["leadstream", self.campaign_step, lead.vertical or "general"],
            headers={  # RFC 8058 one-click unsubscribe
                "List-Unsubscribe": f"<{unsubscribe_url}>",
                "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
            },
            images=images,
        )


# What the email says it noticed, per problem code of `schemas.concept.problems_for` (the
# same codes the mockup answers, so the email and its mockup talk about the same things).
NOTICED = {
    "slow_lcp": "pages take a while to load",
    "heavy_page": "the pages are heavy, so they crawl on mobile data",
    "outdated_jquery": "it runs an old jQuery version with known security holes",
    "outdated_cms": "it runs an outdated WordPress without current security patches",
    "not_mobile_friendly": "the site is hard to use on a phone",
    "no_https": "the site is not served over HTTPS, so browsers mark it 'Not secure'",
}


def _problems(lead: Lead) -> list[str]:
    return [NOTICED[code] for code in problems_for(lead) if code in NOTICED]


def _recipient_tz(state: str | None) -> str | None:
    try:
        return timezone_for_state(state) if state else None
    except KeyError:
        return None


class EmailDelivery:
    """Sends one lead's email exactly once per idempotency key."""

    def __init__(
        self,
        outbox: Outbox,
        mailer: SendGridMailer,
        composer: Composer,
        reconcile_after_s: float | None = None,
        guards: SendGuards | None = None,
        settle_after_death_s: float = 2.0,
        poll_s: float = 2.0,
    ) -> None:
        """`settle_after_death_s`: how long after its claimant was recorded as ended a pending key waits
        (module docstring); `poll_s`: how often a key whose claimant may yet be recorded as ended is looked at
        again (the outbox only; SendGrid is asked once a wait is over)."""
        self.outbox, self.mailer, self.composer = outbox, mailer, composer
        # Past the mailer's send deadline, with a margin for a starved event loop (module docstring).
        self.reconcile_after_s = mailer.timeout_s + 20.0 if reconcile_after_s is None else reconcile_after_s
        self.settle_after_death_s, self.poll_s = settle_after_death_s, poll_s
        self.guards = guards
        self._asked: dict[str, int] = {}  # pending keys (their claim's attempts) SendGrid had no message for

    async def deliver(
        self, lead: Lead, preview: bytes | None
    ) -> tuple[TerminalState, str | None, EmailOutcome | None] | None:
        """Send `lead`'s email once, with `preview` (the mockup preview JPEG) inline when given; None when
        another copy of the lead ended it before its key was claimed (nothing was sent: leave it so)."""
        key = idempotency_key(lead.lead_id, self.composer.campaign_step)
        entry = await self.outbox.entry(key)
        if entry is not None and entry.status != "retryable":  # sent, in flight or refused: that settles it
            return await self._settle_existing(lead, key, entry, entry.recipient, preview)
        raw = entry.recipient if entry is not None else lead.best_email()  # a retry keeps its claim's address
        if raw is None:
            return TerminalState.disqualified, "no_contact", None
        try:  # from here on only this form is checked, claimed, tokenised and mailed
            to = mailbox(raw)
        except InvalidAddress as exc:
            log.info("lead %s: recipient refused before any claim: %s", lead.lead_id, exc)
            return TerminalState.disqualified, "invalid_recipient", None
        reason = await self.outbox.suppression_reason(to)
        if reason:
            return TerminalState.suppressed, reason, EmailOutcome(idempotency_key=key, status="suppressed", to=to)
        if self.guards is not None:  # checked before the claim: a deferred email never holds its key
            decision = await self.guards.check(to, _recipient_tz(lead.state))
            if not decision.allowed:
                raise Deferred(f"sending deferred: {decision.reason}", decision.retry_after_s)
        claim = await self.outbox.claim(key, lead.lead_id, lead.geo_key, self.composer.campaign_step, to)
        if isinstance(claim, LeadEnded):
            log.info("lead %s: another copy of it ended it as %s first; not sending", lead.lead_id, claim.state)
            return None
        if claim is None:  # another lead already wrote to this person in this step
            return (
                TerminalState.suppressed,
                "already_contacted",
                EmailOutcome(idempotency_key=key, status="suppressed", to=to),
            )
        if not claim.owned:
            return await self._settle_existing(lead, key, claim, claim.recipient, preview)
        return await self._send(lead, key, to, preview, claim.attempts)

    async def _send(self, lead: Lead, key: str, to: str, preview: bytes | None, attempts: int):
        email = self.composer.compose(lead, to, preview)
        deadline = asyncio.get_running_loop().time() + self.mailer.timeout_s  # before the stamp: see the docstring
        if not await self.outbox.stamp(key, attempts):
            raise Deferred(f"{key}: the claim was taken over; settling it again", 1.0, kind="other")
        try:
            message_id = await self.mailer.send(email, deadline)
        except SendOutcomeUnknown:
            raise  # stays pending: the retry reconciles it
        except TransientProviderError as exc:
            await self.outbox.mark_retryable(key, str(exc), attempts)
            raise
        except PermanentProviderError as exc:
            await self.outbox.mark_failed(key, str(exc), attempts)
            raise
        await self.outbox.mark_sent(key, message_id)
        metrics.EMAILS_SENT.inc()
        return (
            TerminalState.emailed,
            None,
            EmailOutcome(idempotency_key=key, status="sent", message_id=message_id, to=to),
        )

    async def _settle_existing(self, lead: Lead, key: str, entry: OutboxEntry, to: str, preview: bytes | None):
        status, message_id = entry.status, entry.message_id
        if status == "sent":
            return (
                TerminalState.emailed,
                None,
                EmailOutcome(idempotency_key=key, status="skipped_already_sent", message_id=message_id, to=to),
            )
        if status == "failed":
            raise PermanentProviderError("sendgrid", f"key {key} was refused earlier; not sending again")
        # pending: an earlier attempt's outcome is unknown. Ask SendGrid first (the common case: the send
        # arrived and its holder died before marking it), once per claim.
        if self._asked.get(key) != entry.attempts:
            if found := await self.mailer.find_sent(key):
                return await self._already_sent(key, found, to)
            if len(self._asked) >= 10_000:  # keys settled elsewhere are never removed one by one
                self._asked.clear()
            self._asked[key] = entry.attempts
            log.info("%s: pending and not at SendGrid; waiting until its claim's send can no longer arrive", key)
        claim = await self.outbox.claim_state(key)
        if claim is None or claim.status != "pending":
            raise Deferred(f"{key} was settled concurrently", 1.0, kind="other")
        wait = self._wait_s(claim)
        if wait > 0:  # its sender may be alive and sending: wait, never a dead letter
            may_end = claim.claimant is not None and claim.claimant_ended_s is None
            raise Deferred(
                f"send of {key} may still be in flight elsewhere",
                min(wait, self.poll_s) if may_end else wait,
                kind="other",
            )
        # That claim's send can no longer arrive. Ask SendGrid now, after the wait, then take the key over.
        found = await self.mailer.find_sent(key)
        if found:
            return await self._already_sent(key, found, to)
        reason = "reconciled: not found at provider" + (
            f"; claimant {claim.claimant} ended" if claim.claimant_ended_s is not None else ""
        )
        taken = await self.outbox.take_over(key, claim.attempts, reason)
        if taken is None:
            raise Deferred(f"{key} was settled or taken over concurrently", 1.0, kind="other")
        self._asked.pop(key, None)
        log.info("%s: %s, %.1f s after its claim's stamp", key, reason, claim.age_s)
        return await self._send(lead, key, to, preview, taken.attempts)

    def _wait_s(self, claim: ClaimState) -> float:
        """How much longer `claim`'s send may still arrive at SendGrid (module docstring)."""
        wait = self.reconcile_after_s - claim.age_s
        if claim.claimant_ended_s is not None:  # its process has ended: only what it had already sent remains
            # and, as a second line, its send's own deadline: were the data directory's lock wrong (a copied
            # directory, a force-deleted pod whose node still runs it), a live sender's request leaves by then.
            wait = min(
                wait, max(self.settle_after_death_s - claim.claimant_ended_s, self.mailer.timeout_s - claim.age_s)
            )
        return wait

    async def _already_sent(self, key: str, message_id: str, to: str):
        self._asked.pop(key, None)
        await self.outbox.mark_sent(key, message_id)
        return (
            TerminalState.emailed,
            None,
            EmailOutcome(idempotency_key=key, status="skipped_already_sent", message_id=message_id, to=to),
        )
