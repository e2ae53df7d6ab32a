"""A pending outbox key whose claimant process has ended is reconciled at once, never sent twice
(issue #10: a worker killed mid-send held its email partition until 30 s after the stamp).

Real PostgreSQL, the SendGrid simulator over HTTP, and a real process killed with SIGKILL holding a
data directory's lock. Time is injected: `reconcile_after_s` and `settle_after_death_s` are chosen, and
the stamp and the death record are backdated in their tables, so nothing waits and nothing depends on
the wall clock.
"""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

import pytest

from providers.sendgrid import SendGridMailer
from schemas import Lead, TerminalState
from simulator import sendgrid as sim_sendgrid
from stages.email.delivery import Composer, EmailDelivery, idempotency_key
from storage.outbox import Outbox
from streams.incarnation import claim_data_dir
from streams.stage import Deferred
from tests.email.test_delivery import lead as mail_lead

pytestmark = pytest.mark.services

HOUR = 3600.0  # a fixed wait that never passes within a test
CHILD = """
import sys
from pathlib import Path
from streams.incarnation import lock_data_dir, write_process_id
data_dir = Path(sys.argv[1])
assert lock_data_dir(data_dir)
write_process_id(data_dir, sys.argv[2])
print("locked", flush=True)
sys.stdin.read()  # until killed
"""


def delivery(pool, base_url: str, process_id: str, settle_after_death_s: float = 0.0) -> EmailDelivery:
    composer = Composer("leadstream", "1 Test Way, Testville, IL 60000", "https://leadstream.example/u", "s", "intro")
    mailer = SendGridMailer(base_url, "SG.test", "hello@leadstream.example", "leadstream", timeout_s=5)
    return EmailDelivery(
        Outbox(pool, claimant=process_id),
        mailer,
        composer,
        reconcile_after_s=HOUR,
        settle_after_death_s=settle_after_death_s,
    )


def lead(lead_id: str = "ld_dead1", email: str = "owner@deadclaim.com") -> Lead:
    return mail_lead(lead_id, email)


class Worker:
    """A worker process that holds `data_dir`'s lock under `process_id` until it is killed (SIGKILL)."""

    def __init__(self, data_dir: Path, process_id: str) -> None:
        self.data_dir, self.process_id = data_dir, process_id
        self.proc: asyncio.subprocess.Process | None = None

    async def __aenter__(self) -> Worker:
        self.proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-c",
            CHILD,
            str(self.data_dir),
            self.process_id,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)},
        )
        assert self.proc.stdout is not None
        assert (await self.proc.stdout.readline()).strip() == b"locked"
        return self

    async def kill(self) -> None:
        assert self.proc is not None
        self.proc.kill()
        await self.proc.wait()

    async def __aexit__(self, *exc: object) -> None:
        if self.proc is not None and self.proc.returncode is None:
            await self.kill()


async def claimed_and_stamped(pool, process_id: str, key: str, lead_id: str, to: str) -> int:
    """What a sender does just before its request leaves: claim the key and stamp its send."""
    entry = await Outbox(pool, claimant=process_id).claim(key, lead_id, "z100", "intro", to)
    assert entry is not None and entry.owned
    assert await Outbox(pool, claimant=process_id).stamp(key, entry.attempts)
    return entry.attempts


async def backdate_stamp(pool, key: str, seconds: float) -> None:
    await pool.execute(
        "UPDATE email_outbox SET claimed_at = claimed_at - make_interval(secs => $2) WHERE idempotency_key = $1",
        key,
        seconds,
    )


async def test_a_dead_claimants_key_is_reconciled_at_once_and_a_live_ones_waits(pool, fresh_sim, tmp_path, caplog):
    caplog.set_level("INFO", logger="stages.email.delivery")
    base_url, sim = fresh_sim
    key = idempotency_key("ld_dead1", "intro")
    async with Worker(tmp_path, "proc-A") as worker_a:
        await claimed_and_stamped(pool, "proc-A", key, "ld_dead1", "owner@deadclaim.com")
        successor = delivery(pool, base_url, "proc-B")
        # (b) proc-A is alive, its send may be in flight: the key waits, and a worker restarted on its data
        # directory (two configured with one) cannot take the lock, so it records nothing.
        with pytest.raises(Deferred) as deferred:
            await successor.deliver(lead(), None)
        assert deferred.value.retry_after_s <= successor.poll_s  # looked at again soon: it may yet end
        assert await claim_data_dir(tmp_path, pool, process_id="proc-A2") is None
        assert await pool.fetchval("SELECT count(*) FROM ended_processes") == 0
        with pytest.raises(Deferred):
            await successor.deliver(lead(), None)
        assert sim_sendgrid.sent_messages(sim) == []

        # (a) proc-A is killed; its restart takes the lock and records it as ended: the key goes out now,
        # not an hour (the fixed wait) after its stamp.
        await worker_a.kill()
    assert await claim_data_dir(tmp_path, pool, process_id="proc-A2") == "proc-A"
    # Its send's own deadline (mailer.timeout_s, 5 s here) still holds from the stamp: the second line.
    with pytest.raises(Deferred) as deferred:
        await successor.deliver(lead(), None)
    assert 4.0 < deferred.value.retry_after_s <= successor.mailer.timeout_s
    await backdate_stamp(pool, key, successor.mailer.timeout_s)
    state, _, outcome = await successor.deliver(lead(), None)
    assert (state, outcome.status) == (TerminalState.emailed, "sent")
    assert sim_sendgrid.summary(sim)["by_idempotency_key"] == {key: 1}
    row = await pool.fetchrow("SELECT status, attempts, claimant FROM email_outbox")
    assert (row["status"], row["attempts"], row["claimant"]) == ("sent", 2, "proc-B")  # taken over, then sent
    assert "claimant proc-A ended" in caplog.text
    # A redelivery after that sends nothing more.
    again = await delivery(pool, base_url, "proc-C").deliver(lead(), None)
    assert again[2].status == "skipped_already_sent"
    assert len(sim_sendgrid.sent_messages(sim)) == 1


async def test_a_dead_claimants_key_waits_the_settle_time_after_its_end_is_recorded(pool, fresh_sim, tmp_path):
    base_url, sim = fresh_sim
    key = idempotency_key("ld_dead1", "intro")
    async with Worker(tmp_path, "proc-A") as worker_a:
        await claimed_and_stamped(pool, "proc-A", key, "ld_dead1", "owner@deadclaim.com")
        await worker_a.kill()
    await backdate_stamp(pool, key, 10.0)  # past its send deadline: only the settle time is left
    assert await claim_data_dir(tmp_path, pool, process_id="proc-A2") == "proc-A"
    successor = delivery(pool, base_url, "proc-B", settle_after_death_s=60.0)
    with pytest.raises(Deferred) as deferred:
        await successor.deliver(lead(), None)
    assert 55.0 < deferred.value.retry_after_s <= 60.0  # not polled: only the settle time is left
    assert sim_sendgrid.sent_messages(sim) == []
    await pool.execute("UPDATE ended_processes SET recorded_at = recorded_at - interval '61 seconds'")
    state, _, outcome = await successor.deliver(lead(), None)
    assert (state, outcome.status) == (TerminalState.emailed, "sent")
    assert len(sim_sendgrid.sent_messages(sim)) == 1


async def test_a_send_that_reached_sendgrid_before_the_kill_is_not_resent(pool, fresh_sim, tmp_path):
    """(c) Both orders: the message is at SendGrid when the successor first looks, or arrives only after
    that look (a request the dead process had handed to its kernel): the look after the wait finds it."""
    base_url, sim = fresh_sim
    for n, arrives_late in ((1, False), (2, True)):
        lead_n, data_dir = lead(f"ld_dead{n}", f"owner{n}@deadclaim.com"), tmp_path / str(n)
        key, process_id = idempotency_key(lead_n.lead_id, "intro"), f"proc-A{n}"
        dead = delivery(pool, base_url, process_id)
        email = dead.composer.compose(lead_n, f"owner{n}@deadclaim.com", None)
        successor = delivery(pool, base_url, f"proc-B{n}")
        async with Worker(data_dir, process_id) as worker_a:
            await claimed_and_stamped(pool, process_id, key, lead_n.lead_id, email.to)
            if arrives_late:
                with pytest.raises(Deferred):  # first look: not at SendGrid yet, and proc-A is alive
                    await successor.deliver(lead_n, None)
            assert await dead.mailer.send(email)  # SendGrid took it; proc-A dies before marking it sent
            await worker_a.kill()
        assert await claim_data_dir(data_dir, pool, process_id=f"proc-C{n}") == process_id
        await backdate_stamp(pool, key, 10.0)
        state, _, outcome = await successor.deliver(lead_n, None)
        assert (state, outcome.status) == (TerminalState.emailed, "skipped_already_sent")
        assert outcome.message_id
        assert sim_sendgrid.summary(sim)["by_idempotency_key"][key] == 1
        assert await pool.fetchval("SELECT status FROM email_outbox WHERE idempotency_key = $1", key) == "sent"
    assert len(sim_sendgrid.sent_messages(sim)) == 2


class InterleavingOutbox(Outbox):
    """The live sender's outbox: right after its stamp, before its request leaves, `meanwhile` runs (the
    successor handling the redelivered event after a rebalance)."""

    def __init__(self, pool, claimant: str, meanwhile) -> None:
        super().__init__(pool, claimant=claimant)
        self.meanwhile = meanwhile

    async def stamp(self, key: str, attempts: int) -> bool:
        stamped = await super().stamp(key, attempts)
        await self.meanwhile()
        return stamped


async def test_a_live_in_flight_send_is_never_duplicated(pool, fresh_sim, tmp_path):
    """(b) The successor looks while the live sender's send is in flight, even with another process (the
    sender's predecessor) recorded as ended and no settle time: it waits, and then finds the send."""
    base_url, sim = fresh_sim
    async with Worker(tmp_path, "proc-old"):
        pass  # a process of this data directory that ended before
    assert await claim_data_dir(tmp_path, pool, process_id="proc-A") == "proc-old"
    successor = delivery(pool, base_url, "proc-B")
    looks: list[BaseException] = []

    async def successor_looks() -> None:
        with pytest.raises(Deferred) as deferred:
            await successor.deliver(lead(), None)
        looks.append(deferred.value)

    live = delivery(pool, base_url, "proc-A")
    live.outbox = InterleavingOutbox(pool, "proc-A", successor_looks)
    state, _, outcome = await live.deliver(lead(), None)
    assert (state, outcome.status) == (TerminalState.emailed, "sent")
    assert len(looks) == 1 and len(sim_sendgrid.sent_messages(sim)) == 1
    state, _, outcome = await successor.deliver(lead(), None)
    assert (state, outcome.status) == (TerminalState.emailed, "skipped_already_sent")
    assert len(sim_sendgrid.sent_messages(sim)) == 1


async def test_a_claim_an_earlier_version_took_over_waits_the_fixed_time(pool, fresh_sim, tmp_path):
    """Rolling upgrade: a worker of the previous release takes the key over (its SQL leaves the claimant
    columns alone). The claimant recorded before is ended, but it is not this claim's: the fixed wait holds."""
    base_url, sim = fresh_sim
    key = idempotency_key("ld_dead1", "intro")
    async with Worker(tmp_path, "proc-A") as worker_a:
        attempts = await claimed_and_stamped(pool, "proc-A", key, "ld_dead1", "owner@deadclaim.com")
        await worker_a.kill()
    assert await claim_data_dir(tmp_path, pool, process_id="proc-A2") == "proc-A"
    previous_release_take_over = """UPDATE email_outbox SET attempts = attempts + 1, claimed_at = now(), last_error = $3
        WHERE idempotency_key = $1 AND status = 'pending' AND attempts = $2"""
    assert await pool.execute(previous_release_take_over, key, attempts, "reconciled") == "UPDATE 1"
    await backdate_stamp(pool, key, 10.0)
    successor = delivery(pool, base_url, "proc-B")
    with pytest.raises(Deferred) as deferred:
        await successor.deliver(lead(), None)
    assert deferred.value.retry_after_s > HOUR - 60  # no claimant known: not polled, the fixed wait
    assert sim_sendgrid.sent_messages(sim) == []
