"""The address that is checked is the address that is mailed: suppression bypasses, invalid
recipients and header injection, against real PostgreSQL and the SendGrid simulator."""

from __future__ import annotations

import pytest

from schemas import TerminalState
from schemas.address import InvalidAddress, mailbox
from simulator import sendgrid as sim_sendgrid
from stages.email.delivery import read_unsubscribe_token
from storage.outbox import Outbox
from tests.email.test_delivery import SECRET, delivery, lead

pytestmark = pytest.mark.services

VICTIM = "victim@victim-plumbing.com"


def _recipients(sim) -> list[str]:
    return [row["to_email"] for row in sim_sendgrid.deliveries(sim)]


async def _outbox_rows(pool) -> list[tuple[str, str]]:
    return [(r["recipient"], r["status"]) for r in await pool.fetch("SELECT recipient, status FROM email_outbox")]


@pytest.mark.parametrize(
    "given",
    [
        f"Victim <{VICTIM}>",
        f"{VICTIM}, someone@other-plumbing.com",
        f"someone@other-plumbing.com, {VICTIM}",
        f"{VICTIM}\r\nBcc: someone@other-plumbing.com",
        f'"Victim" <{VICTIM}>',
    ],
)
async def test_a_suppressed_address_cannot_be_mailed_in_another_spelling(pool, fresh_sim, given):
    base_url, sim = fresh_sim
    await Outbox(pool).suppress(VICTIM, "unsubscribe")
    state, reason, outcome = await delivery(pool, base_url).deliver(lead("ld_v1", given), None)
    assert (state, reason, outcome) == (TerminalState.disqualified, "invalid_recipient", None)
    assert _recipients(sim) == [] and await _outbox_rows(pool) == []


async def test_case_and_spaces_are_one_address_for_suppression_outbox_token_and_sendgrid(pool, fresh_sim):
    base_url, sim = fresh_sim
    sender = delivery(pool, base_url)
    await Outbox(pool).suppress(VICTIM, "unsubscribe")
    state, reason, _ = await sender.deliver(lead("ld_v2", "  VICTIM@Victim-Plumbing.COM "), None)
    assert (state, reason) == (TerminalState.suppressed, "unsubscribe")

    state, _, outcome = await sender.deliver(lead("ld_v3", " Owner@AcmePlumbing.COM"), None)
    assert state is TerminalState.emailed and outcome is not None and outcome.to == "owner@acmeplumbing.com"
    assert _recipients(sim) == ["owner@acmeplumbing.com"]
    assert await _outbox_rows(pool) == [("owner@acmeplumbing.com", "sent")]
    payload = sim_sendgrid.sent_messages(sim)[0]["payload"]
    token = payload["headers"]["List-Unsubscribe"].strip("<>").rsplit("/", 1)[1]
    assert read_unsubscribe_token(SECRET, token) == ("owner@acmeplumbing.com", "ld_v3")


@pytest.mark.parametrize("given", ["not-an-address", "owner@", "owner@localhost", "owner@[10.0.0.1]", "a b@acme.com"])
async def test_an_invalid_recipient_ends_the_lead_before_the_outbox_claim(pool, fresh_sim, given):
    base_url, sim = fresh_sim
    state, reason, _ = await delivery(pool, base_url).deliver(lead("ld_bad", given), None)
    assert (state, reason) == (TerminalState.disqualified, "invalid_recipient")
    assert await _outbox_rows(pool) == [] and _recipients(sim) == []  # nothing left pending


async def test_line_breaks_in_a_lead_name_never_reach_a_header(pool, fresh_sim):
    base_url, sim = fresh_sim
    hostile = lead("ld_h1").model_copy(
        update={"name": "Acme\r\nBcc: attacker@evil-plumbing.com\r\n\r\n<b>hi</b>\u2028X-Evil: 1\x00"}
    )
    state, _, _ = await delivery(pool, base_url).deliver(hostile, None)
    assert state is TerminalState.emailed
    payload = sim_sendgrid.sent_messages(sim)[0]["payload"]
    subject = payload["subject"]
    assert not any(c in subject for c in "\r\n\u2028\x00")
    assert (
        subject == "Acme Bcc: attacker@evil-plumbing.com <b>hi</b> X-Evil: 1: a website that books the emergency calls"
    )
    assert _recipients(sim) == ["owner@acmeplumbing.com"]
    assert set(payload.get("headers", {})) == {"List-Unsubscribe", "List-Unsubscribe-Post"}


def test_mailbox_forms() -> None:
    assert mailbox(" Owner@Acme.COM ") == "owner@acme.com"
    assert mailbox("info@bücher.de") == "info@xn--bcher-kva.de"
    for bad in ("Victim <v@a.com>", "v@a.com, w@b.com", "v@a.com;w@b.com", "v@x.test", "", "v\n@a.com"):
        with pytest.raises(InvalidAddress):
            mailbox(bad)
