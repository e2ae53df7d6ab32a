"""The email stage's logic against real PostgreSQL and the SendGrid simulator:
a key is sent at most once, whatever is redelivered or left half-done."""

from __future__ import annotations

import base64

import pytest

from providers.http import PermanentProviderError, TransientProviderError
from providers.sendgrid import SendGridMailer
from schemas import Contact, Enrichment, Lead, TerminalState
from simulator import sendgrid as sim_sendgrid
from stages.email.delivery import Composer, EmailDelivery, idempotency_key, read_unsubscribe_token
from storage.outbox import Outbox
from streams.stage import Deferred

pytestmark = pytest.mark.services

SECRET = "test-secret"
JPEG = (
    b"\xff\xd8\xff\xe0 a preview"  # stands in for the mockup preview (tests/email/test_preview_email.py has real ones)
)


def delivery(pool, base_url: str, reconcile_after_s: float | None = 5.0) -> EmailDelivery:
    composer = Composer(
        "leadstream", "1 Test Way, Testville, IL 60000", "https://leadstream.example/u", SECRET, "intro"
    )
    mailer = SendGridMailer(base_url, "SG.test", "hello@leadstream.example", "leadstream", timeout_s=5)
    return EmailDelivery(Outbox(pool), mailer, composer, reconcile_after_s=reconcile_after_s)


def lead(lead_id: str = "ld_mail1", email: str | None = "owner@acmeplumbing.com") -> Lead:
    return Lead(
        lead_id=lead_id,
        geo_key="z100",
        source="csv",
        name="Acme Plumbing",
        zip="10002",
        vertical="plumber",
        enrichment=Enrichment(contacts=[Contact(email=email, kind="personal")] if email else []),
    )


async def test_redelivery_never_sends_a_key_twice(pool, fresh_sim):
    base_url, sim = fresh_sim
    sender = delivery(pool, base_url)
    first = await sender.deliver(lead(), JPEG)
    again = await sender.deliver(lead(), JPEG)
    assert first[0] == again[0] == TerminalState.emailed
    assert (first[2].status, again[2].status) == ("sent", "skipped_already_sent")
    summary = sim_sendgrid.summary(sim)
    assert summary["by_idempotency_key"] == {idempotency_key("ld_mail1", "intro"): 1}
    payload = sim_sendgrid.sent_messages(sim)[0]["payload"]
    assert payload["custom_args"] == {"idempotency_key": "ld_mail1:intro", "lead_id": "ld_mail1"}
    assert payload["headers"]["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    token = payload["headers"]["List-Unsubscribe"].strip("<>").rsplit("/", 1)[1]
    assert read_unsubscribe_token(SECRET, token) == ("owner@acmeplumbing.com", "ld_mail1")
    assert read_unsubscribe_token("other-secret", token) is None
    [image] = payload["attachments"]
    assert (image["content_id"], image["type"], image["disposition"]) == ("mockup", "image/jpeg", "inline")
    assert base64.b64decode(image["content"]) == JPEG
    assert 'src="cid:mockup"' in payload["content"][1]["value"]


async def test_pending_claim_is_reconciled_not_resent(pool, fresh_sim):
    base_url, sim = fresh_sim
    sender = delivery(pool, base_url, reconcile_after_s=0.0)
    await sender.deliver(lead(), None)
    # Simulate a crash between SendGrid's 202 and marking the row sent.
    await pool.execute("UPDATE email_outbox SET status = 'pending', message_id = NULL")
    state, _, outcome = await sender.deliver(lead(), None)
    assert state == TerminalState.emailed and outcome.status == "skipped_already_sent" and outcome.message_id
    assert len(sim_sendgrid.sent_messages(sim)) == 1


async def test_pending_claim_that_never_reached_sendgrid_is_sent_after_grace(pool, fresh_sim):
    base_url, sim = fresh_sim
    outbox = Outbox(pool)
    await outbox.claim("ld_mail2:intro", "ld_mail2", "z100", "intro", "owner2@acme.com")  # crashed before sending
    young = delivery(pool, base_url, reconcile_after_s=60.0)
    with pytest.raises(Deferred):  # its sender may still be sending: wait, never a dead letter
        await young.deliver(lead("ld_mail2", "owner2@acme.com"), None)
    assert sim_sendgrid.sent_messages(sim) == []
    state, _, outcome = await delivery(pool, base_url, reconcile_after_s=0.0).deliver(
        lead("ld_mail2", "owner2@acme.com"), None
    )
    assert state == TerminalState.emailed and outcome.status == "sent"
    assert len(sim_sendgrid.sent_messages(sim)) == 1


class SlowOutbox(Outbox):
    """An outbox whose holder is slow: between its claim and its send, `meanwhile` runs (another worker
    handling the redelivered event after a rebalance, on the same key)."""

    def __init__(self, pool, meanwhile) -> None:
        super().__init__(pool)
        self.meanwhile = meanwhile

    async def stamp(self, key: str, attempts: int) -> bool:
        await self.meanwhile()
        return await super().stamp(key, attempts)


async def test_a_slow_holder_whose_claim_was_taken_over_sends_nothing(pool, fresh_sim):
    """CI's scale-out test mailed one key twice: a worker took over a pending key after 5 s while the
    first holder, alive but slow on a loaded machine, still sent. The claim is now fenced."""
    base_url, sim = fresh_sim
    other = delivery(pool, base_url, reconcile_after_s=0.0)  # as if the grace had passed
    results = []

    async def other_worker_takes_over():
        results.append(await other.deliver(lead(), None))

    slow = delivery(pool, base_url)
    slow.outbox = SlowOutbox(pool, other_worker_takes_over)
    with pytest.raises(Deferred):
        await slow.deliver(lead(), None)
    assert [(r[0], r[2].status) for r in results] == [(TerminalState.emailed, "sent")]
    assert len(sim_sendgrid.sent_messages(sim)) == 1
    # Its retry settles the key as sent, without a second message.
    state, _, outcome = await slow.deliver(lead(), None)
    assert (state, outcome.status) == (TerminalState.emailed, "skipped_already_sent")
    assert len(sim_sendgrid.sent_messages(sim)) == 1


async def test_a_pending_key_is_not_taken_over_within_the_send_deadline(pool, fresh_sim):
    base_url, sim = fresh_sim
    outbox = Outbox(pool)
    entry = await outbox.claim("ld_mail3:intro", "ld_mail3", "z100", "intro", "owner3@acme.com")
    assert entry is not None and await outbox.stamp("ld_mail3:intro", entry.attempts)  # its send starts now
    default = delivery(pool, base_url, reconcile_after_s=None)
    assert default.reconcile_after_s > default.mailer.timeout_s
    with pytest.raises(Deferred):
        await default.deliver(lead("ld_mail3", "owner3@acme.com"), None)
    assert sim_sendgrid.sent_messages(sim) == []
    # A stale holder can neither stamp nor free the key once it was taken over.
    taken = await outbox.take_over("ld_mail3:intro", entry.attempts, "test")
    assert taken is not None and taken.attempts == entry.attempts + 1
    assert not await outbox.stamp("ld_mail3:intro", entry.attempts)
    await outbox.mark_retryable("ld_mail3:intro", "stale", entry.attempts)
    assert await pool.fetchval("SELECT status FROM email_outbox WHERE idempotency_key = 'ld_mail3:intro'") == "pending"


async def test_one_email_per_address_and_suppression(pool, fresh_sim):
    base_url, sim = fresh_sim
    sender = delivery(pool, base_url)
    await sender.deliver(lead("ld_a", "info@chain.com"), None)
    state, reason, _ = await sender.deliver(lead("ld_b", "INFO@chain.com"), None)
    assert (state, reason) == (TerminalState.suppressed, "already_contacted")
    await Outbox(pool).suppress("*.blocked.com", "blocklist")
    state, reason, _ = await sender.deliver(lead("ld_c", "x@mail.blocked.com"), None)
    assert (state, reason) == (TerminalState.suppressed, "blocklist")
    state, reason, _ = await sender.deliver(lead("ld_d", None), None)
    assert (state, reason) == (TerminalState.disqualified, "no_contact")
    assert len(sim_sendgrid.sent_messages(sim)) == 1


async def test_refusals_map_to_retry_or_failure(pool, fresh_sim):
    base_url, sim = fresh_sim
    sim.config.update({"sendgrid": {"error_rate": 1.0}})
    sender = delivery(pool, base_url)
    with pytest.raises(TransientProviderError):
        await sender.deliver(lead("ld_e", "e@acme.com"), None)
    assert await pool.fetchval("SELECT status FROM email_outbox WHERE lead_id = 'ld_e'") == "retryable"
    sim.config.update({"sendgrid": {"error_rate": 0.0}})
    state, _, outcome = await sender.deliver(lead("ld_e", "e@acme.com"), None)
    assert state == TerminalState.emailed and outcome.status == "sent"
    bad = EmailDelivery(Outbox(pool), SendGridMailer(base_url, "invalid-key", "a@b.com", "x"), sender.composer)
    with pytest.raises(PermanentProviderError):
        await bad.deliver(lead("ld_f", "f@acme.com"), None)
    assert await pool.fetchval("SELECT status FROM email_outbox WHERE lead_id = 'ld_f'") == "failed"


async def test_guards_defer_before_claiming_so_nothing_is_dropped(pool, fresh_sim):
    from datetime import date

    from stages.email.guards import SendGuards
    from streams.stage import Deferred

    base_url, sim = fresh_sim
    sender = delivery(pool, base_url)
    sender.guards = SendGuards(
        pool,
        daily_cap=0,
        per_domain_daily_cap=10,
        warmup=[],
        first_send_date=date.today(),
        window_start_hour=0,
        window_end_hour=24,
    )
    with pytest.raises(Deferred, match="cap"):
        await sender.deliver(lead("ld_g", "g@acme.com"), None)
    assert await pool.fetchval("SELECT count(*) FROM email_outbox") == 0  # the key stays free
    sender.guards.daily_cap = 10
    state, _, outcome = await sender.deliver(lead("ld_g", "g@acme.com"), None)
    assert state == TerminalState.emailed and outcome.status == "sent"


def test_copy_is_per_vertical_and_only_the_html_is_escaped():
    from stages.email.delivery import PITCHES, Composer

    composer = Composer(
        "leadstream", "1 Test Way, Testville, IL 60000", "https://leadstream.example/u", SECRET, "intro"
    )
    vet = lead("ld_v").model_copy(update={"vertical": "vet", "name": "Paws & <Claws>"})
    email = composer.compose(vet, "owner@paws.com", None)
    assert PITCHES["vet"] in email.text and PITCHES["vet"] in email.html
    assert "Paws & <Claws>" in email.text and "Paws &amp; &lt;Claws&gt;" in email.html
    assert "1 Test Way, Testville, IL 60000" in email.html and "1 Test Way" in email.text  # CAN-SPAM address
    assert composer.compose(lead("ld_p"), "o@acme.com", None).subject.startswith("Acme Plumbing: a website")


@pytest.mark.parametrize(
    "lead_id",
    ['ld_q" AND to_email="someone@other.com', 'ld_\\"x', 'ld_ü AND status="delivered"', "ld_a'b]c"],
)
async def test_a_hostile_lead_id_cannot_change_the_activity_query(pool, fresh_sim, lead_id):
    """The reconcile lookup of a pending key finds exactly its own send, whatever the lead id holds."""
    base_url, sim = fresh_sim
    sender = delivery(pool, base_url, reconcile_after_s=0.0)
    await sender.deliver(lead("ld_other", "someone@other.com"), None)  # a send the injected terms would match
    await sender.deliver(lead(lead_id), None)
    await pool.execute("UPDATE email_outbox SET status = 'pending', message_id = NULL WHERE lead_id = $1", lead_id)
    state, _, outcome = await sender.deliver(lead(lead_id), None)
    assert state == TerminalState.emailed and outcome.status == "skipped_already_sent"
    mine = next(r for r in sim_sendgrid.deliveries(sim) if r["to_email"] == "owner@acmeplumbing.com")
    assert outcome.message_id == mine["msg_id"]
    [query] = [r["query"] for r in sim.records["sendgrid.activity_query"]]
    assert query.count('"') == 2 and " AND " not in query  # one term, one quoted value
    assert len(sim_sendgrid.sent_messages(sim)) == 2
