"""Two copies of one lead that parted ways upstream, against real PostgreSQL and the SendGrid simulator.

A redelivery after a rebalance handles a lead a second time while the first copy goes on. Under provider
faults the copies can differ: one enrichment found the owner's address, the other's call failed, so the
second copy ends the lead as ``disqualified``/``no_contact`` at the score stage. The e2e test once saw
such a lead's email go out while its record said otherwise. The claim of the email key fences the
lead's record (`storage.outbox`): its record says ``emailed`` exactly when its email went out.
"""

from __future__ import annotations

import pytest

from providers.http import TransientProviderError
from schemas import TerminalState
from simulator import sendgrid as sim_sendgrid
from stages.email.delivery import idempotency_key
from stages.email.stage import EmailStage
from storage.blobs import LocalBlobStore
from storage.outbox import LeadEnded, Outbox
from storage.records import DeadLetter, LeadRecords, RecordUpdate
from streams import metrics
from tests.email.test_delivery import delivery, lead
from tests.waiting import while_held

pytestmark = pytest.mark.services

FOUND = lead("ld_part1", "owner@partedways.com")  # the copy whose enrichment found the address
MISSED = lead("ld_part1", None)  # the copy whose enrichment call failed
KEY = idempotency_key("ld_part1", "intro")


def update(copy, stage: str, state: TerminalState | None = None, reason: str | None = None) -> RecordUpdate:
    return RecordUpdate(copy, stage, "trace", 0, state, reason)


def dead_letter(stage: str) -> DeadLetter:
    return DeadLetter(stage, "ld_part1", "z100", f"leads.{stage}", 0, 7, "ProviderError", "gave up", 5, b"{}", "t", 0)


async def record(pool) -> tuple[str | None, str | None]:
    row = await pool.fetchrow("SELECT state, state_reason FROM leads WHERE lead_id = 'ld_part1'")
    return row["state"], row["state_reason"]


async def test_once_its_email_is_claimed_only_the_email_stage_ends_a_lead(pool, fresh_sim):
    base_url, sim = fresh_sim
    records = LeadRecords(pool)
    assert await records.write([update(FOUND, "score")]) == set()
    state, _, outcome = await delivery(pool, base_url).deliver(FOUND, None)
    assert (state, outcome.status) == (TerminalState.emailed, "sent")
    # The other copy's ends, from the stages it reaches later, change nothing now.
    assert await records.write([update(MISSED, "score", TerminalState.disqualified, "no_contact")]) == set()
    assert await records.dead_letter([dead_letter("enrich")]) == set()
    assert await record(pool) == (None, None)
    # At the email stage it finds the lead's key sent: no address of its own is needed, nothing is sent again.
    state, _, outcome = await delivery(pool, base_url).deliver(MISSED, None)
    assert (state, outcome.status, outcome.to) == (TerminalState.emailed, "skipped_already_sent", FOUND.best_email())
    assert await Outbox(pool).sent_not_emailed() == {"ld_part1": None}  # sent, its record not yet written
    assert await records.write([update(FOUND, "email", TerminalState.emailed)]) == {"ld_part1"}
    assert await record(pool) == ("emailed", None)
    assert await Outbox(pool).sent_not_emailed() == {}
    assert sim_sendgrid.summary(sim)["by_idempotency_key"] == {KEY: 1}


async def test_a_lead_whose_key_was_sent_is_emailed_though_its_address_was_suppressed_since(pool, fresh_sim):
    base_url, sim = fresh_sim
    await LeadRecords(pool).write([update(FOUND, "score")])
    await delivery(pool, base_url).deliver(FOUND, None)
    await Outbox(pool).suppress("partedways.com", "unsubscribed")  # the recipient's click, before the record
    state, _, outcome = await delivery(pool, base_url).deliver(FOUND, None)  # the redelivery
    assert (state, outcome.status) == (TerminalState.emailed, "skipped_already_sent")
    assert len(sim_sendgrid.sent_messages(sim)) == 1


async def test_a_dead_letter_of_the_email_stage_still_ends_a_claimed_lead(pool, fresh_sim):
    base_url, _ = fresh_sim
    records = LeadRecords(pool)
    await records.write([update(FOUND, "score")])
    entry = await Outbox(pool).claim(KEY, "ld_part1", "z100", "intro", "owner@partedways.com")
    assert entry is not None and not isinstance(entry, LeadEnded) and entry.owned
    assert await records.dead_letter([dead_letter("email")]) == {"ld_part1"}
    assert (await record(pool))[0] == "dead_lettered"


async def test_a_retryable_refusal_lifts_the_fence_so_a_later_end_still_ends_the_lead(pool, fresh_sim):
    """Nothing of a retryable key is in flight: were the fence kept, the retry's end (the address suppressed
    meanwhile) would be refused and the lead would never end."""
    base_url, sim = fresh_sim
    records = LeadRecords(pool)
    await records.write([update(FOUND, "score")])
    sim.config.update({"sendgrid": {"error_rate": 1.0}})
    with pytest.raises(TransientProviderError):
        await delivery(pool, base_url).deliver(FOUND, None)
    stale = await Outbox(pool).entry(KEY)
    assert stale is not None and stale.status == "retryable"
    await Outbox(pool).suppress("owner@partedways.com", "unsubscribed")
    state, reason, _ = await delivery(pool, base_url).deliver(FOUND, None)  # the runner's retry
    assert (state, reason) == (TerminalState.suppressed, "unsubscribed")
    assert await records.write([update(FOUND, "email", state, reason)]) == {"ld_part1"}
    assert sim_sendgrid.sent_messages(sim) == []


async def test_a_retry_goes_to_the_address_its_key_was_claimed_for(pool, fresh_sim):
    base_url, sim = fresh_sim
    sim.config.update({"sendgrid": {"error_rate": 1.0}})
    with pytest.raises(TransientProviderError):
        await delivery(pool, base_url).deliver(FOUND, None)
    sim.config.update({"sendgrid": {"error_rate": 0.0}})
    other = lead("ld_part1", "bookings@partedways.com")  # a copy whose enrichment found another address
    state, _, outcome = await delivery(pool, base_url).deliver(other, None)
    assert (state, outcome.status, outcome.to) == (TerminalState.emailed, "sent", FOUND.best_email())
    [message] = sim_sendgrid.sent_messages(sim)
    assert [to["email"] for to in message["payload"]["personalizations"][0]["to"]] == [FOUND.best_email()]


async def test_a_stale_holders_refusal_lifts_nothing(pool, fresh_sim):
    records = LeadRecords(pool)
    await records.write([update(FOUND, "score")])
    outbox = Outbox(pool)
    first = await outbox.claim(KEY, "ld_part1", "z100", "intro", "owner@partedways.com")
    assert first is not None and not isinstance(first, LeadEnded)
    assert await outbox.take_over(KEY, first.attempts, "test") is not None
    await outbox.mark_retryable(KEY, "stale", first.attempts)  # the old holder's refusal, after the take-over
    assert await records.write([update(MISSED, "score", TerminalState.disqualified, "no_contact")]) == set()


async def test_a_lead_another_copy_ended_first_is_neither_claimed_nor_sent(pool, fresh_sim):
    base_url, sim = fresh_sim
    records = LeadRecords(pool)
    await records.write([update(FOUND, "score")])
    assert await records.write([update(MISSED, "score", TerminalState.disqualified, "no_contact")]) == {"ld_part1"}
    assert await delivery(pool, base_url).deliver(FOUND, None) is None
    assert await Outbox(pool).entry(KEY) is None
    assert sim_sendgrid.sent_messages(sim) == []
    assert await record(pool) == ("disqualified", "no_contact")


async def test_a_claim_waits_for_a_copy_ending_the_lead_then_claims_nothing(pool, fresh_sim):
    """The other copy's end is in flight (its transaction holds the row) when the claim starts."""
    await LeadRecords(pool).write([update(FOUND, "score")])
    claim = Outbox(pool).claim(KEY, "ld_part1", "z100", "intro", "owner@partedways.com")
    ending = ["UPDATE leads SET state = 'disqualified' WHERE lead_id = 'ld_part1'"]
    assert await while_held(pool, ending, claim, waits_in="FOR UPDATE") == LeadEnded("disqualified")
    assert await Outbox(pool).entry(KEY) is None


async def test_a_copy_ending_the_lead_waits_for_a_claim_then_ends_nothing(pool, fresh_sim):
    """A claim holds the row, as `Outbox.claim`'s statement does, when the other copy's end starts."""
    records = LeadRecords(pool)
    await records.write([update(FOUND, "score")])
    claiming = [
        "SELECT state FROM leads WHERE lead_id = 'ld_part1' FOR UPDATE",
        "UPDATE leads SET email_claimed = true WHERE lead_id = 'ld_part1'",
    ]
    ending = records.write([update(MISSED, "score", TerminalState.disqualified, "no_contact")])
    assert await while_held(pool, claiming, ending, waits_in="INSERT INTO leads") == set()
    assert await record(pool) == (None, None)


async def test_a_release_takes_the_leads_row_before_the_keys_as_a_claim_does(pool, fresh_sim):
    """The other order deadlocks with a claim of the same key by another copy of the lead (which holds the lead's
    row and then needs the key's)."""
    await LeadRecords(pool).write([update(FOUND, "score")])
    outbox = Outbox(pool)
    entry = await outbox.claim(KEY, "ld_part1", "z100", "intro", "owner@partedways.com")
    assert entry is not None and not isinstance(entry, LeadEnded)
    release = outbox.mark_retryable(KEY, "refused", entry.attempts)
    # While the release waits for the lead's row, it holds no lock on the key's: the claim takes it (NOWAIT).
    claims_the_key = (f"SELECT 1 FROM email_outbox WHERE idempotency_key = '{KEY}' FOR UPDATE NOWAIT",)
    claiming = ["SELECT 1 FROM leads WHERE lead_id = 'ld_part1' FOR UPDATE"]
    await while_held(pool, claiming, release, waits_in="FOR UPDATE", then=claims_the_key)
    assert (await outbox.entry(KEY)).status == "retryable"


async def test_the_email_workers_count_emailed_leads_whose_record_ended_otherwise(pool, fresh_sim, tmp_path):
    """The gauge behind LeadstreamEmailRecordDisagrees: sends of the last hour whose lead ended as another state."""
    base_url, _ = fresh_sim
    sender = delivery(pool, base_url)
    stage = EmailStage(sender, LocalBlobStore(tmp_path))
    await LeadRecords(pool).write([update(FOUND, "score")])
    await sender.deliver(FOUND, None)
    await stage.sample()
    assert metrics.EMAIL_SENT_ENDED_OTHERWISE._value.get() == 0  # sent, its record in flight: not counted
    # What the fence prevents, written by hand: an earlier release's worker ending the lead otherwise.
    await pool.execute("UPDATE leads SET state = 'disqualified' WHERE lead_id = 'ld_part1'")
    await stage.sample()
    assert metrics.EMAIL_SENT_ENDED_OTHERWISE._value.get() == 1
    await pool.execute("UPDATE email_outbox SET sent_at = now() - interval '2 hours'")  # out of the window
    await stage.sample()
    assert metrics.EMAIL_SENT_ENDED_OTHERWISE._value.get() == 0
