"""The runner's failure policy on its own: a fake record store, a fake sender and a fake clock, no Kafka.

Every wait goes through `RetryPolicy.sleep`, which here only records the
delay and advances a virtual clock, so retry schedules are asserted exactly
and the tests take milliseconds.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
from types import SimpleNamespace

import asyncpg
import orjson
import pytest
import redis.exceptions
from faust.exceptions import PartitionsMismatch
from prometheus_client import REGISTRY

from providers.breaker import ProviderUnavailable
from providers.http import PermanentProviderError, TransientProviderError
from schemas import Lead, TerminalState
from storage.records import DeadLetter, RecordUpdate
from streams.envelope import Envelope, make_headers
from streams.failures import RetryPolicy
from streams.runner import StageRunner, encode_lead
from streams.stage import Deferred, InvalidMessage, Output, Stage
from streams.topology import LEADS_ENRICHED, LEADS_SCRAPED

STAGE = "enrich"


class FakeClock:
    """`sleep` that returns at once and moves `now` on: the retry schedule without the waiting."""

    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds
        await asyncio.sleep(0)  # still let other tasks run, as a real wait would


class FakeRecords:
    """The runner's record store (`storage.records.LeadRecords`), in memory; `fail` scripts store outages."""

    def __init__(self, ended: set[str] | None = None) -> None:
        self.updates: list[RecordUpdate] = []
        self.letters: list[DeadLetter] = []
        self.ended_ids = set(ended or ())
        self.fail: list[BaseException] = []  # raised by the next calls, one each

    def _maybe_fail(self) -> None:
        if self.fail:
            raise self.fail.pop(0)

    async def write(self, updates: list[RecordUpdate]) -> set[str]:
        """As the store: a lead's first terminal state is its only one; returns the leads this write ended."""
        self._maybe_fail()
        self.updates.extend(updates)
        return self._end({u.lead.lead_id for u in updates if u.state is not None})

    def _end(self, lead_ids: set[str]) -> set[str]:
        now = lead_ids - self.ended_ids
        self.ended_ids |= now
        return now

    async def ended(self, lead_ids: list[str]) -> set[str]:
        self._maybe_fail()
        return {lead_id for lead_id in lead_ids if lead_id in self.ended_ids}

    async def dead_letter(self, letters: list[DeadLetter]) -> set[str]:
        self._maybe_fail()
        self.letters.extend(letters)
        return self._end({d.lead_id for d in letters if d.lead_id})


class FakeSender:
    """Records what would be produced; `refuse(topic)` makes the broker refuse messages to that topic."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, bytes | None, bytes, dict[str, bytes]]] = []
        self.refused: dict[str, BaseException] = {}
        self.refuse_once: list[BaseException] = []  # the next deliveries fail with these, one each

    async def __call__(self, topic, key, value, headers):
        refusal = self.refused.get(topic) or (self.refuse_once.pop(0) if self.refuse_once else None)
        if refusal is None:
            self.sent.append((topic, key, value, headers))

        async def delivered():
            if refusal is not None:
                raise refusal

        return delivered()

    def to(self, topic: str) -> list[dict]:
        return [orjson.loads(value) for t, _, value, _ in self.sent if t == topic]


class Scripted(Stage[Lead]):
    """A stage whose `handle` raises the scripted errors in turn, then forwards the lead to leads.enriched."""

    name = STAGE

    def __init__(self, *errors: BaseException) -> None:
        self.errors = list(errors)
        self.calls = 0

    async def handle(self, lead: Lead, envelope: Envelope) -> list[Output]:
        self.calls += 1
        if self.errors:
            raise self.errors.pop(0)
        return [Output(lead, topics=(LEADS_ENRICHED,))]


def lead(lead_id: str = "ld_1") -> Lead:
    return Lead(lead_id=lead_id, geo_key="z989", source="test", name="Valley Heating")


def event(
    offset: int = 0, *, partition: int = 0, payload: bytes | None = None, lead_id="ld_1", key=b"z989", headers=None
):
    message = SimpleNamespace(
        topic=LEADS_SCRAPED,
        partition=partition,
        offset=offset,
        key=key,
        timestamp=1.0,
        headers=headers if headers is not None else make_headers(lead_id, "t" * 32, 1000),
        tp=(LEADS_SCRAPED, partition),
    )
    return SimpleNamespace(message=message, value=payload if payload is not None else encode_lead(lead(lead_id)))


def make_runner(
    stage: Stage, records: FakeRecords | None = None, **policy
) -> tuple[StageRunner, FakeRecords, FakeSender, FakeClock]:
    records = records or FakeRecords()
    sender, clock = FakeSender(), FakeClock()
    retry = RetryPolicy(sleep=clock.sleep, random=lambda: 0.5, **policy)  # jitter factor exactly 1.0
    runner = StageRunner(stage, records, sender, retry=retry, sinks=(LEADS_ENRICHED,))  # type: ignore[arg-type]
    return runner, records, sender, clock


def metric(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


# --- retry, then dead letter --------------------------------------------------------------------


async def test_transient_errors_are_retried_with_backoff_and_retry_after_then_succeed():
    stage = Scripted(
        TransientProviderError("hunter", "HTTP 503"),
        TransientProviderError("hunter", "HTTP 429", retry_after_s=3.0),
        TimeoutError("slow"),
    )
    runner, records, sender, clock = make_runner(stage)
    retries = metric("leadstream_stage_retries_total", stage=STAGE, error="TransientProviderError")
    await runner.process_batch([event()])
    assert stage.calls == 4
    assert clock.sleeps == [0.2, 3.0, 0.8]  # backoff doubles; a Retry-After longer than the backoff wins
    assert [u.lead.lead_id for u in records.updates] == ["ld_1"] and records.letters == []
    assert [t for t, *_ in sender.sent] == [LEADS_ENRICHED]
    assert metric("leadstream_stage_retries_total", stage=STAGE, error="TransientProviderError") == retries + 2


async def test_retry_after_is_capped_by_max_backoff():
    stage = Scripted(TransientProviderError("pagespeed", "HTTP 429", retry_after_s=600.0))
    runner, _, _, clock = make_runner(stage, max_backoff_s=10.0)
    await runner.process_batch([event()])
    assert clock.sleeps == [10.0] and stage.calls == 2


async def test_an_open_circuit_is_waited_out_without_counting_an_attempt():
    """A refusal sends nothing, so it spends none of the lead's attempts. Counted as attempts, three waits capped
    at 10 s fitted inside one 30 s open period, and at the half-open moment one caller got the trial and the rest
    were refused: a lead whose field only that provider could fill was dead-lettered with the provider back. The
    lead now waits until the circuit half-opens, plus up to half again so the waiters come back spread out."""
    refusals = [ProviderUnavailable("pagespeed", "circuit open", retry_after_s=20.0) for _ in range(3)]
    refusals.append(ProviderUnavailable("pagespeed", "circuit half_open", retry_after_s=0.1))  # the trial is out
    failures = [TransientProviderError("pagespeed", "HTTP 500") for _ in range(3)]
    stage = Scripted(*refusals, *failures)  # 4 refusals, then 3 failures: the 4th attempt is allowed
    runner, records, _, clock = make_runner(stage, max_attempts=4)
    before = metric("leadstream_stage_deferrals_total", stage=STAGE, reason="circuit_open")
    await runner.process_batch([event()])
    assert records.letters == [] and [u.lead.lead_id for u in records.updates] == ["ld_1"]
    assert stage.calls == 8
    assert clock.sleeps[:4] == [25.0] * 3 + [1.25]  # (retry_after, at least 1 s) × 1.25 at the test's jitter
    assert metric("leadstream_stage_deferrals_total", stage=STAGE, reason="circuit_open") == before + 4


async def test_a_circuit_open_too_long_dead_letters_the_lead_for_replay():
    stage = Scripted(*(ProviderUnavailable("hunter", "circuit open", retry_after_s=30.0) for _ in range(50)))
    runner, records, sender, clock = make_runner(stage, max_circuit_wait_s=300.0)
    before = metric("leadstream_dead_letters_total", stage=STAGE, reason="ProviderUnavailable")
    await runner.process_batch([event()])
    assert clock.sleeps == [37.5] * 8 and stage.calls == 9  # 300 s reached after the 8th wait
    [letter] = records.letters
    assert (letter.error_type, letter.attempts) == ("ProviderUnavailable", 0)  # no request ever went out
    assert letter.reason.startswith("waited 300 s on open circuits: hunter: circuit open")
    assert metric("leadstream_dead_letters_total", stage=STAGE, reason="ProviderUnavailable") == before + 1


async def test_a_lead_that_keeps_failing_is_dead_lettered_after_max_attempts():
    stage = Scripted(*(TransientProviderError("sendgrid", f"HTTP 503 #{n}") for n in range(10)))
    runner, records, sender, clock = make_runner(stage, max_attempts=4)
    before = metric("leadstream_dead_letters_total", stage=STAGE, reason="TransientProviderError")
    await runner.process_batch([event(offset=42)])
    assert stage.calls == 4 and len(clock.sleeps) == 3  # no wait after the last attempt
    [letter] = records.letters
    assert letter.error_type == "TransientProviderError" and letter.attempts == 4
    assert letter.reason.startswith("gave up after 4 attempts: sendgrid: HTTP 503 #3")
    assert (letter.topic, letter.partition, letter.offset, letter.lead_id) == (LEADS_SCRAPED, 0, 42, "ld_1")
    [message] = sender.to("deadletter.enrich")
    assert message["error_type"] == "TransientProviderError" and message["attempts"] == 4
    assert records.updates == [] and sender.to(LEADS_ENRICHED) == []
    assert metric("leadstream_dead_letters_total", stage=STAGE, reason="TransientProviderError") == before + 1


@pytest.mark.parametrize(
    "error, reason",
    [
        (PermanentProviderError("hunter", "HTTP 401"), "PermanentProviderError"),
        (FileNotFoundError(2, "No such file or directory", "/models/dedupe.json"), "FileNotFoundError"),
        (PermissionError(13, "Permission denied", "/blobs"), "PermissionError"),
        (IsADirectoryError(21, "Is a directory", "/blobs"), "IsADirectoryError"),
        (OSError(5, "Input/output error"), "OSError"),
        (KeyError("bug"), "KeyError"),
        (InvalidMessage("no website"), "InvalidMessage"),
    ],
)
async def test_permanent_failures_and_missing_files_are_dead_lettered_at_once(error, reason):
    stage = Scripted(error)
    runner, records, _, clock = make_runner(stage)
    await runner.process_batch([event()])
    assert stage.calls == 1 and clock.sleeps == []  # never retried: a missing file is missing on every retry
    assert [(d.error_type, d.attempts) for d in records.letters] == [(reason, 1)]


async def test_an_unreadable_message_is_dead_lettered_without_calling_the_stage():
    stage = Scripted()
    runner, records, sender, _ = make_runner(stage)
    await runner.process_batch([event(payload=b"{not json")])
    assert stage.calls == 0
    assert [d.error_type for d in records.letters] == ["InvalidMessage"]
    assert sender.to("deadletter.enrich")[0]["payload"] == "{not json"


# --- Deferred, infrastructure -------------------------------------------------------------------


async def test_deferred_waits_without_counting_an_attempt():
    deferrals = [Deferred("daily cap of 2000 reached", retry_after_s=7200.0, kind="send_cap") for _ in range(6)]
    deferrals += [Deferred("outside the recipient's send window", retry_after_s=0.01) for _ in range(2)]
    transient = [TransientProviderError("sendgrid", "HTTP 503") for _ in range(3)]
    stage = Scripted(*deferrals, *transient)  # 8 waits, then 3 failures: the 4th attempt is allowed
    runner, records, _, clock = make_runner(stage, max_attempts=4, max_defer_s=60.0)
    before = metric("leadstream_stage_deferrals_total", stage=STAGE, reason="send_cap")
    window = metric("leadstream_stage_deferrals_total", stage=STAGE, reason="window")
    await runner.process_batch([event()])
    assert records.letters == [] and [u.lead.lead_id for u in records.updates] == ["ld_1"]
    assert stage.calls == 12
    assert clock.sleeps[:8] == [60.0] * 6 + [1.0] * 2  # re-asked at least every 60 s, at most every 1 s
    assert metric("leadstream_stage_deferrals_total", stage=STAGE, reason="send_cap") == before + 6
    assert metric("leadstream_stage_deferrals_total", stage=STAGE, reason="window") == window + 2


@pytest.mark.parametrize(
    "outage",
    [
        ConnectionRefusedError(111, "Connection refused"),
        asyncpg.ConnectionDoesNotExistError("connection was closed in the middle of operation"),
        asyncpg.exceptions.AdminShutdownError("terminating connection due to administrator command"),
        asyncpg.exceptions.CannotConnectNowError("the database system is starting up"),
        redis.exceptions.ConnectionError("Error 111 connecting to 127.0.0.1:16379"),
        redis.exceptions.TimeoutError("Timeout reading from socket"),
        PartitionsMismatch("table changelog not ready"),
    ],
    ids=lambda e: type(e).__name__,
)
async def test_infrastructure_errors_are_retried_without_limit_and_count_no_attempt(outage):
    stage = Scripted(*([outage] * 25), TransientProviderError("x", "503"), TransientProviderError("x", "503"))
    runner, records, _, clock = make_runner(stage, max_attempts=3)
    await runner.process_batch([event()])
    assert records.letters == [] and len(records.updates) == 1  # 25 outages + 2 transient failures, then ok
    assert stage.calls == 28
    assert max(clock.sleeps[:25]) == pytest.approx(0.2 * 2**5)  # backoff grows, then stays capped


async def test_record_writes_wait_out_store_outages_before_anything_is_sent():
    records = FakeRecords()
    # ended() sees a refused connection, write() a dropped one and a timeout: all waited out.
    records.fail = [
        ConnectionResetError(104, "reset"),
        asyncpg.ConnectionDoesNotExistError("closed"),
        TimeoutError(),
    ]
    runner, _, sender, clock = make_runner(Scripted(), records)
    await runner.process_batch([event()])
    assert len(records.updates) == 1 and len(clock.sleeps) == 3
    assert [t for t, *_ in sender.sent] == [LEADS_ENRICHED]


async def test_a_store_bug_is_not_retried_for_ever():
    records = FakeRecords()
    records.fail = [asyncpg.exceptions.UndefinedTableError('relation "leads" does not exist')]
    runner, _, sender, clock = make_runner(Scripted(), records)
    runner.fail_worker = pytest.fail  # type: ignore[method-assign]
    await runner.process_batch([event()])  # settled: a dead letter, not a retry loop, not a raise
    assert clock.sleeps == [] and sender.to(LEADS_ENRICHED) == []
    [letter] = records.letters
    assert letter.error_type == "InternalError" and "UndefinedTableError" in letter.reason


# --- ended leads, ack order -------------------------------------------------------------------------


async def test_leads_that_already_ended_are_skipped():
    stage = Scripted()
    runner, records, sender, _ = make_runner(stage, records=FakeRecords(ended={"ld_done"}))
    skipped = metric("leadstream_stage_events_total", stage=STAGE, outcome="skipped_ended")
    await runner.process_batch([event(0, lead_id="ld_done"), event(1, lead_id="ld_new")])
    assert stage.calls == 1 and [u.lead.lead_id for u in records.updates] == ["ld_new"]
    assert [orjson.loads(v)["lead_id"] for _, _, v, _ in sender.sent] == ["ld_new"]
    assert metric("leadstream_stage_events_total", stage=STAGE, outcome="skipped_ended") == skipped + 1


async def test_a_batch_flushes_its_table_writes_once_after_its_last_event_before_recording_it():
    stage = Scripted()
    records = FakeRecords()
    seen: list[tuple[int, int]] = []  # (events handled, records written) at each flush
    runner = StageRunner(
        stage,
        records,  # type: ignore[arg-type]
        FakeSender(),  # type: ignore[arg-type]
        sinks=(LEADS_ENRICHED,),
        flush_state=[lambda: seen.append((stage.calls, len(records.updates)))],
    )
    await runner.process_batch([event(0, lead_id="ld_a"), event(1, lead_id="ld_b")])
    assert seen == [(2, 0)] and len(records.updates) == 2


class EndsTheSecondAtBatchEnd(Scripted):
    """An ordered stage that decides the batch's second lead only once it has seen the whole batch (as the dedupe
    stage's phone claims do); its first `complete_batch` meets a store outage."""

    ordered = True

    def __init__(self) -> None:
        super().__init__()
        self.returned: list[list[Output]] = []
        self.completions = 0

    async def handle(self, lead: Lead, envelope: Envelope) -> list[Output]:
        self.returned.append(await super().handle(lead, envelope))
        return self.returned[-1]

    async def complete_batch(self) -> None:
        self.completions += 1
        if self.completions == 1:
            raise asyncpg.ConnectionDoesNotExistError("closed")
        second = self.returned[1]
        second[:] = [Output(second[0].lead, terminal=TerminalState.duplicate, reason="decided at batch end")]


async def test_an_ordered_stage_may_change_its_outputs_when_the_batch_is_complete():
    stage = EndsTheSecondAtBatchEnd()
    runner, records, sender, clock = make_runner(stage)
    await runner.process_batch([event(0, lead_id="ld_a"), event(1, lead_id="ld_b")])
    assert stage.completions == 2 and len(clock.sleeps) == 1  # the outage is waited out, then it completes
    assert [(u.lead.lead_id, u.state) for u in records.updates] == [("ld_a", None), ("ld_b", TerminalState.duplicate)]
    assert [orjson.loads(v)["lead_id"] for _, _, v, _ in sender.sent] == ["ld_a"]


class Disqualifies(Stage[Lead]):
    name = STAGE

    async def handle(self, lead: Lead, envelope: Envelope) -> list[Output]:
        return [Output(lead, terminal=TerminalState.disqualified, reason="test")]


class RacingRecords(FakeRecords):
    """Another worker ends each lead between this worker's "already ended?" check and its write (a
    rebalance: the old owner finishes the event the new owner replays)."""

    async def ended(self, lead_ids: list[str]) -> set[str]:
        return set()


async def test_a_lead_ended_twice_in_a_race_is_counted_once():
    runner, records, _, _ = make_runner(Disqualifies(), RacingRecords())
    events = metric("leadstream_stage_events_total", stage=STAGE, outcome="terminal")
    ended = metric("leadstream_terminal_total", state="disqualified")
    observed = metric("leadstream_lead_e2e_seconds_count", state="disqualified")
    await runner.process_batch([event(0, lead_id="ld_race")])
    await runner.process_batch([event(0, lead_id="ld_race")])  # the redelivery, past the check
    assert metric("leadstream_stage_events_total", stage=STAGE, outcome="terminal") == events + 2
    assert metric("leadstream_terminal_total", state="disqualified") == ended + 1
    assert metric("leadstream_lead_e2e_seconds_count", state="disqualified") == observed + 1


async def test_a_dead_letter_for_a_lead_that_already_ended_does_not_count_a_second_end():
    runner, _, _, _ = make_runner(Scripted(InvalidMessage("bad")), RacingRecords(ended={"ld_over"}))
    letters = metric("leadstream_stage_events_total", stage=STAGE, outcome="dead_lettered")
    ended = metric("leadstream_terminal_total", state="dead_lettered")
    await runner.process_batch([event(0, lead_id="ld_over")])
    assert metric("leadstream_stage_events_total", stage=STAGE, outcome="dead_lettered") == letters + 1
    assert metric("leadstream_terminal_total", state="dead_lettered") == ended


class Gated(Stage[Lead]):
    """Each lead waits for its own gate, so the test decides the order in which events finish."""

    name = STAGE

    def __init__(self) -> None:
        self.gates: dict[str, asyncio.Event] = {}

    def gate(self, lead_id: str) -> asyncio.Event:
        return self.gates.setdefault(lead_id, asyncio.Event())

    async def handle(self, lead: Lead, envelope: Envelope) -> list[Output]:
        await self.gate(lead.lead_id).wait()
        return [Output(lead, topics=(LEADS_ENRICHED,))]


async def _settled(runner: StageRunner) -> None:
    for _ in range(50):  # let every task that can make progress do so
        await asyncio.sleep(0)


async def test_events_finishing_out_of_order_are_acked_in_offset_order_per_partition():
    stage = Gated()
    runner, _, _, _ = make_runner(stage)
    acked: list[tuple[int, int]] = []

    async def ack(ev):
        acked.append((ev.message.partition, ev.message.offset))

    events = [event(o, partition=p, lead_id=f"ld_{p}_{o}") for p in (0, 1) for o in range(3)]
    for ev in events:
        await runner.submit(ev, ack)
    for lead_id in ("ld_0_2", "ld_0_1", "ld_1_0"):
        stage.gate(lead_id).set()
    await _settled(runner)
    assert acked == [(1, 0)]  # 0:0 still in flight holds back 0:1 and 0:2
    stage.gate("ld_0_0").set()
    await _settled(runner)
    assert acked == [(1, 0), (0, 0), (0, 1), (0, 2)]
    stage.gate("ld_1_2").set()
    stage.gate("ld_1_1").set()
    await _settled(runner)
    assert acked[4:] == [(1, 1), (1, 2)]


async def test_a_dead_lettered_event_is_acked_in_its_turn():
    stage = Scripted(PermanentProviderError("hunter", "HTTP 401"))
    runner, records, _, _ = make_runner(stage)
    acked: list[int] = []

    async def ack(ev):
        acked.append(ev.message.offset)

    await runner.submit(event(0, lead_id="ld_bad"), ack)
    await runner.submit(event(1, lead_id="ld_good"), ack)
    await _settled(runner)
    assert acked == [0, 1] and [d.lead_id for d in records.letters] == ["ld_bad"]


# --- a rebalance's redelivery of messages this worker handled ------------------------------------------


class Counted(Gated):
    """`Gated`, counting how often each lead was handled."""

    def __init__(self) -> None:
        super().__init__()
        self.handled: dict[str, int] = {}

    async def handle(self, lead: Lead, envelope: Envelope) -> list[Output]:
        self.handled[lead.lead_id] = self.handled.get(lead.lead_id, 0) + 1
        return await super().handle(lead, envelope)


async def test_a_rebalance_redelivery_is_acked_in_turn_without_handling_again():
    """Offset 0 (a slow site) holds back offset 1, finished; a rebalance redelivers both to this worker:
    neither is handled again, and the redeliveries are acked once offset 0's first attempt is done."""
    stage = Counted()
    runner, records, sender, _ = make_runner(stage)
    redelivered = metric("leadstream_stage_events_total", stage=STAGE, outcome="redelivered")
    free, admitted = runner._slots._value, runner._admission._value
    acked: list[tuple[int, int]] = []

    async def ack(ev):
        acked.append((ev.message.offset, id(ev)))

    first = [event(0, lead_id="ld_slow"), event(1, lead_id="ld_fast")]
    for ev in first:
        await runner.submit(ev, ack)
    stage.gate("ld_fast").set()
    await _settled(runner)
    assert acked == []  # offset 1 is done, held back behind offset 0
    again = [event(0, lead_id="ld_slow"), event(1, lead_id="ld_fast")]  # the rebalance's redelivery
    for ev in again:
        await runner.submit(ev, ack)
    await _settled(runner)
    assert acked == [] and runner._slots._value == free - 1  # a slot for offset 0's first attempt only
    assert runner._admission._value == admitted - 1  # the redeliveries are not admitted again
    stage.gate("ld_slow").set()
    await _settled(runner)
    assert [offset for offset, _ in acked] == [0, 1, 0, 1]
    assert [ident for _, ident in acked] == [id(ev) for ev in first + again]
    assert stage.handled == {"ld_slow": 1, "ld_fast": 1}
    assert len(sender.to(LEADS_ENRICHED)) == 2 and len(records.updates) == 2
    assert metric("leadstream_stage_events_total", stage=STAGE, outcome="redelivered") == redelivered + 2


async def test_the_same_offset_of_another_partition_is_another_message():
    stage = Counted()
    runner, _, _, _ = make_runner(stage)
    acked: list[tuple[int, int]] = []

    async def ack(ev):
        acked.append((ev.message.partition, ev.message.offset))

    stage.gate("ld_a").set()
    stage.gate("ld_b").set()
    await runner.submit(event(0, partition=0, lead_id="ld_a"), ack)
    await runner.submit(event(0, partition=1, lead_id="ld_b"), ack)
    await _settled(runner)
    assert sorted(acked) == [(0, 0), (1, 0)] and stage.handled == {"ld_a": 1, "ld_b": 1}


async def test_a_redelivery_of_an_attempt_that_was_not_acked_is_handled_anew():
    stage = Counted()
    runner, records, _, _ = make_runner(stage)

    async def ack(ev):
        pass

    await runner.submit(event(0, lead_id="ld_a"), ack)
    await _settled(runner)
    for task in set(runner._tasks):  # abandoned unacked (a shutdown's cancel)
        task.cancel()
    await _settled(runner)
    await runner.submit(event(0, lead_id="ld_a"), ack)
    stage.gate("ld_a").set()
    await _settled(runner)
    assert stage.handled == {"ld_a": 2} and [u.lead.lead_id for u in records.updates] == ["ld_a"]


async def test_only_the_latest_messages_are_remembered(monkeypatch):
    monkeypatch.setattr("streams.runner.REMEMBERED_EVENTS", 2)
    stage = Counted()
    runner, _, _, _ = make_runner(stage)
    acked: list[int] = []

    async def ack(ev):
        acked.append(ev.message.offset)

    for offset in range(3):
        stage.gate(f"ld_{offset}").set()
        await runner.submit(event(offset, lead_id=f"ld_{offset}"), ack)
        await _settled(runner)
    for offset in (2, 1, 0):  # 1 and 2 are acked as they are; 0 was forgotten: handled again
        await runner.submit(event(offset, lead_id=f"ld_{offset}"), ack)
    await _settled(runner)
    assert acked == [0, 1, 2, 2, 1, 0]
    assert stage.handled == {"ld_0": 2, "ld_1": 1, "ld_2": 1}


# --- work slots and admission (issue #9): a streamed event waiting between attempts holds no work slot ---------


class HeldClock:
    """`sleep` that waits until the test sets `wake`: an event can be looked at in the middle of its backoff."""

    def __init__(self) -> None:
        self.sleeps: list[float] = []
        self.wake = asyncio.Event()

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        await self.wake.wait()


class Watched(Stage[Lead]):
    """Raises each lead's scripted errors in turn, then waits for its gate (open unless `gated`); counts how
    many events are inside `handle` at once."""

    name = STAGE

    def __init__(self, errors: dict[str, list[BaseException]] | None = None, gated: bool = False) -> None:
        self.errors = {lead_id: list(errs) for lead_id, errs in (errors or {}).items()}
        self.gated = gated
        self.gates: dict[str, asyncio.Event] = {}
        self.inside = self.most = 0
        self.handled: list[str] = []

    def gate(self, lead_id: str) -> asyncio.Event:
        return self.gates.setdefault(lead_id, asyncio.Event())

    async def handle(self, lead: Lead, envelope: Envelope) -> list[Output]:
        self.inside += 1
        self.most = max(self.most, self.inside)
        try:
            self.handled.append(lead.lead_id)
            if self.errors.get(lead.lead_id):
                raise self.errors[lead.lead_id].pop(0)
            if self.gated:
                await self.gate(lead.lead_id).wait()
            return [Output(lead, topics=(LEADS_ENRICHED,))]
        finally:
            self.inside -= 1


def streaming_runner(stage: Stage, sleep, **options) -> tuple[StageRunner, FakeRecords]:
    records = FakeRecords()
    retry = RetryPolicy(sleep=sleep, random=lambda: 0.5)
    runner = StageRunner(stage, records, FakeSender(), retry=retry, sinks=(LEADS_ENRICHED,), **options)  # type: ignore[arg-type]
    runner.fail_worker = pytest.fail  # type: ignore[method-assign]
    return runner, records


async def test_an_event_sleeping_in_backoff_lets_another_use_its_work_slot_and_acks_stay_in_order():
    stage = Watched({"ld_a": [TransientProviderError("site", "HTTP 503")]})
    clock = HeldClock()
    runner, records = streaming_runner(stage, clock.sleep, concurrency=1)
    acked: list[int] = []

    async def ack(ev):
        acked.append(ev.message.offset)

    submits = [asyncio.create_task(runner.submit(event(o, lead_id=f"ld_{c}"), ack)) for o, c in enumerate("abc")]
    await _settled(runner)
    assert clock.sleeps == [0.2]  # offset 0 waits out its backoff...
    assert all(s.done() for s in submits) and stage.handled == ["ld_a", "ld_b", "ld_c"]  # ...the others work
    assert sorted(u.lead.lead_id for u in records.updates) == ["ld_b", "ld_c"]
    assert acked == []  # 1 and 2 are done, held back behind 0
    clock.wake.set()
    await _settled(runner)
    assert acked == [0, 1, 2] and stage.handled == ["ld_a", "ld_b", "ld_c", "ld_a"] and stage.most == 1


async def test_admission_bounds_the_events_in_flight_when_all_of_them_wait():
    retry_all = {f"ld_{n}": [TransientProviderError("site", "HTTP 503")] for n in range(5)}
    stage = Watched(retry_all)
    clock = HeldClock()
    runner, records = streaming_runner(stage, clock.sleep, concurrency=2, admitted_per_slot=2)
    acked: list[int] = []

    async def ack(ev):
        acked.append(ev.message.offset)

    submits = [asyncio.create_task(runner.submit(event(n, lead_id=f"ld_{n}"), ack)) for n in range(5)]
    await _settled(runner)
    assert [s.done() for s in submits] == [True] * 4 + [False]  # 2 slots × 2: the fifth waits in submit
    assert stage.handled == ["ld_0", "ld_1", "ld_2", "ld_3"] and len(clock.sleeps) == 4  # not handled yet
    assert stage.inside == 0 and runner._slots._value == 2  # all four sleep, none holds a work slot
    clock.wake.set()
    await _settled(runner)
    assert all(s.done() for s in submits) and acked == [0, 1, 2, 3, 4]
    assert sorted(u.lead.lead_id for u in records.updates) == [f"ld_{n}" for n in range(5)] and stage.most <= 2


async def test_a_deferred_event_holds_no_work_slot():
    """The email stage's send cap or pause can defer for minutes: the other leads must not queue behind it."""
    stage = Watched({"ld_mail": [Deferred("daily send cap reached", 60.0, kind="send_cap")] * 3})
    clock = HeldClock()
    runner, records = streaming_runner(stage, clock.sleep, concurrency=1, admitted_per_slot=3)
    admitted = runner._admission._value
    acked: list[tuple[int, int]] = []

    async def ack(ev):
        acked.append((ev.message.partition, ev.message.offset))

    await runner.submit(event(0, lead_id="ld_mail"), ack)
    await _settled(runner)
    assert clock.sleeps == [60.0] and runner._slots._value == 1 and runner._admission._value == admitted - 1
    submits = [asyncio.create_task(runner.submit(event(o, partition=1, lead_id=f"ld_{o}"), ack)) for o in range(2)]
    await _settled(runner)
    assert all(s.done() for s in submits) and acked == [(1, 0), (1, 1)]  # handled while ld_mail waits
    assert stage.handled == ["ld_mail", "ld_0", "ld_1"]
    clock.wake.set()
    await _settled(runner)
    assert acked[2:] == [(0, 0)] and stage.handled.count("ld_mail") == 4 and len(records.updates) == 3
    assert runner._slots._value == 1 and runner._admission._value == admitted


async def test_a_stage_cap_is_never_exceeded_by_events_being_handled():
    """`max_concurrency` (the mockup stage's renders) still means at most that many in `handle` at once,
    with more events admitted and going back and forth between attempts."""
    errors = {f"ld_{n}": [TransientProviderError("site", "HTTP 503")] * (n % 3) for n in range(12)}
    stage = Watched(errors, gated=True)
    stage.max_concurrency = 2
    clock = FakeClock()
    runner, records = streaming_runner(stage, clock.sleep, admitted_per_slot=3)  # concurrency 32: the cap wins
    acked: list[int] = []

    async def ack(ev):
        acked.append(ev.message.offset)

    submits = [asyncio.create_task(runner.submit(event(n, lead_id=f"ld_{n}"), ack)) for n in range(12)]
    await _settled(runner)
    assert sum(s.done() for s in submits) == 6  # admitted: 2 work slots × 3
    assert stage.inside == 2 and stage.most == 2
    for n in reversed(range(12)):  # the later ones first: they finish out of order
        stage.gate(f"ld_{n}").set()
        await _settled(runner)
        assert stage.inside <= 2
    await _settled(runner)
    assert all(s.done() for s in submits) and acked == list(range(12)) and stage.most == 2
    assert len(records.updates) == 12 and len(clock.sleeps) == sum(n % 3 for n in range(12))


async def test_events_abandoned_at_shutdown_give_back_their_slot_and_admission():
    stage = Watched({"ld_0": [TransientProviderError("site", "HTTP 503")]}, gated=True)
    clock = HeldClock()
    runner, records = streaming_runner(stage, clock.sleep, concurrency=1, admitted_per_slot=3)
    acked: list[int] = []

    async def ack(ev):
        acked.append(ev.message.offset)

    for n in range(3):  # 0 sleeps in backoff, 1 is in handle, 2 waits for the work slot
        await runner.submit(event(n, lead_id=f"ld_{n}"), ack)
    await _settled(runner)
    assert stage.handled == ["ld_0", "ld_1"] and stage.inside == 1 and runner._admission._value == 0
    assert await runner.drain(grace_s=0) is False
    assert acked == [] and records.updates == []  # nothing acked: the partition's next owner gets them all
    assert runner._slots._value == 1 and runner._admission._value == 3 and not runner._tasks


async def test_an_ordered_batch_takes_no_work_slot():
    stage = Watched({"ld_a": [TransientProviderError("site", "HTTP 503")]})
    stage.ordered = True
    seen: list[int] = []
    runner, records = streaming_runner(stage, lambda _s: _record(seen, runner), concurrency=1)
    await runner.process_batch([event(0, lead_id="ld_a"), event(1, lead_id="ld_b")])
    assert seen == [1] and runner._slots._value == 1 and len(records.updates) == 2


async def _record(seen: list[int], runner: StageRunner) -> None:
    seen.append(runner._slots._value)


# --- oversized dead letters ---------------------------------------------------------------------------


async def test_an_800kb_non_utf8_message_becomes_a_small_dead_letter_with_the_original_kept():
    payload = b"\xff\xfe" + bytes(range(256)) * 3200  # ~800 KB, not UTF-8
    runner, records, sender, _ = make_runner(Scripted(), dead_letter_max_bytes=64 * 1024)
    await runner.process_batch([event(offset=85, payload=payload)])
    [letter] = records.letters
    assert letter.payload == payload and letter.error_type == "InvalidMessage"  # the whole original is stored
    [(topic, key, value, headers)] = sender.sent
    assert topic == "deadletter.enrich"
    assert len(value) + len(key or b"") + sum(len(k) + len(v) for k, v in headers.items()) <= 64 * 1024
    body = orjson.loads(value)
    assert body["payload_ref"] == {
        "table": "dead_letters",
        "stage": STAGE,
        "topic": LEADS_SCRAPED,
        "partition": 0,
        "offset": 85,
        "size": len(payload),
        "sha256": hashlib.sha256(payload).hexdigest(),
    }
    assert body["payload_truncated"] is True and "payload" not in body
    assert body["payload_preview"].startswith("\\xff\\xfe\x00\x01")  # undecodable bytes escaped
    assert body["headers"]["lead-id"] == "ld_1"


async def test_a_180kb_bad_message_and_absurd_headers_fit_too():
    payload = orjson.dumps({"source": "csv", "name": "x" * 180_000})  # valid JSON, invalid lead
    headers = {"lead-id": b"L" * 300_000, "trace-id": b"T" * 100_000, "x-junk": b"\x00" * 50_000}
    runner, records, sender, _ = make_runner(Scripted())
    await runner.process_batch([event(payload=payload, headers=headers, key=b"k" * 200_000)])
    [letter] = records.letters
    assert letter.lead_id is None and letter.geo_key == "unknown"  # not ids: they would not fit the leads index
    assert dict(letter.headers)["lead-id"] == b"L" * 300_000  # kept whole for replay
    [(_, key, value, out_headers)] = sender.sent
    assert len(value) + len(key or b"") + sum(len(k) + len(v) for k, v in out_headers.items()) <= 64 * 1024
    body = orjson.loads(value)
    assert body["headers_truncated"] is True and len(body["headers"]["lead-id"]) == 256
    assert body["payload_ref"]["size"] == len(payload)


async def test_a_small_bad_message_travels_whole_in_its_dead_letter():
    runner, _, sender, _ = make_runner(Scripted())
    await runner.process_batch([event(0, payload=b"\xffnot utf-8"), event(1, payload=b'{"half": ')])
    first, second = sender.to("deadletter.enrich")
    assert base64.b64decode(first["payload"]) == b"\xffnot utf-8" and first["payload_encoding"] == "base64"
    assert second["payload"] == '{"half": ' and second["payload_encoding"] == "utf-8"


def test_the_dead_letter_cap_is_a_validated_setting():
    from config import SettingsError, load_settings

    assert load_settings().dead_letter_max_bytes == 64 * 1024
    with pytest.raises(SettingsError, match="DEAD_LETTER_MAX_BYTES"):
        load_settings(dead_letter_max_bytes=900_000)  # not "well under" the producer's 1 MB


# --- a failure in the runner's own path -------------------------------------------------------------


async def test_a_runner_failure_is_dead_lettered_as_internal_error_and_may_be_acked():
    from aiokafka.errors import MessageSizeTooLargeError

    runner, records, sender, _ = make_runner(Scripted())
    sender.refused[LEADS_ENRICHED] = MessageSizeTooLargeError("output over the request size")
    failures: list[BaseException] = []
    runner.fail_worker = failures.append  # type: ignore[method-assign]
    before = metric("leadstream_dead_letters_total", stage=STAGE, reason="InternalError")
    internal = metric("leadstream_stage_events_total", stage=STAGE, outcome="internal_error")
    await runner.process_batch([event(7)])  # process_batch settles it itself (settle_unfinished)
    assert failures == []
    [letter] = records.letters
    assert letter.error_type == "InternalError" and "MessageSizeTooLargeError" in letter.reason
    assert sender.to("deadletter.enrich")[0]["error_type"] == "InternalError"
    assert metric("leadstream_dead_letters_total", stage=STAGE, reason="InternalError") == before + 1
    assert metric("leadstream_stage_events_total", stage=STAGE, outcome="internal_error") == internal + 1


class BuggyRecords(FakeRecords):
    """A record store whose write has a bug for one lead (not an outage: never retried)."""

    def __init__(self, bad_lead: str) -> None:
        super().__init__()
        self.bad_lead = bad_lead

    async def write(self, updates: list[RecordUpdate]) -> set[str]:
        if any(u.lead.lead_id == self.bad_lead for u in updates):
            raise TypeError("bug: cannot encode the record")
        return await super().write(updates)


async def test_a_bug_in_a_streamed_event_does_not_stall_its_partition():
    runner, records, sender, _ = make_runner(Scripted(), BuggyRecords("ld_bug"))
    runner.fail_worker = pytest.fail  # type: ignore[method-assign]
    internal = metric("leadstream_stage_events_total", stage=STAGE, outcome="internal_error")
    acked: list[int] = []

    async def ack(ev):
        acked.append(ev.message.offset)

    for offset, lead_id in enumerate(["ld_a", "ld_bug", "ld_b"]):
        await runner.submit(event(offset, lead_id=lead_id), ack)
    await _settled(runner)
    assert acked == [0, 1, 2]  # the bug's event got its outcome and its turn; the partition goes on
    assert [(d.lead_id, d.error_type) for d in records.letters] == [("ld_bug", "InternalError")]
    assert sorted(u.lead.lead_id for u in records.updates) == ["ld_a", "ld_b"]
    assert metric("leadstream_stage_events_total", stage=STAGE, outcome="internal_error") == internal + 1


async def test_a_streamed_event_that_cannot_even_be_dead_lettered_is_not_acked_and_stops_the_worker():
    runner, _, sender, _ = make_runner(Scripted(), BuggyRecords("ld_bug"))
    sender.refused["deadletter.enrich"] = RuntimeError("topic authorization failed")
    failures: list[BaseException] = []
    runner.fail_worker = failures.append  # type: ignore[method-assign]
    acked: list[int] = []

    async def ack(ev):
        acked.append(ev.message.offset)

    await runner.submit(event(0, lead_id="ld_a"), ack)
    await runner.submit(event(1, lead_id="ld_bug"), ack)
    await _settled(runner)
    assert acked == [0] and len(failures) == 1  # offset 1 stays unacked: redelivered after the restart


async def test_an_ordered_batch_with_a_runner_bug_is_dead_lettered_whole():
    runner, records, sender, _ = make_runner(Scripted(), BuggyRecords("ld_bug"))
    runner.fail_worker = pytest.fail  # type: ignore[method-assign]
    await runner.process_batch([event(0, lead_id="ld_a"), event(1, lead_id="ld_bug")])
    assert sorted(d.lead_id for d in records.letters) == ["ld_a", "ld_bug"]
    assert {d.error_type for d in records.letters} == {"InternalError"}


@pytest.mark.parametrize("error_name", ["KafkaTimeoutError", "NotEnoughReplicasError", "NotLeaderForPartitionError"])
async def test_a_degraded_cluster_is_waited_out_and_the_outputs_sent_again(error_name):
    import aiokafka.errors

    runner, records, sender, clock = make_runner(Scripted())
    sender.refuse_once = [getattr(aiokafka.errors, error_name)("broker down")]
    runner.fail_worker = pytest.fail  # type: ignore[method-assign]
    await runner.process_batch([event()])
    assert records.letters == [] and len(clock.sleeps) == 1
    assert [t for t, *_ in sender.sent] == [LEADS_ENRICHED]  # the refused send, then the one that landed


def test_kafka_send_errors_are_classified():
    import aiokafka.errors as ke

    from streams.failures import Action, action_for

    for transient in (
        ke.KafkaTimeoutError(),
        ke.NotEnoughReplicasError(),
        ke.NotEnoughReplicasAfterAppendError(),
        ke.LeaderNotAvailableError(),
        ke.RequestTimedOutError(),
        ke.KafkaConnectionError(),
    ):
        assert action_for(transient) is Action.RETRY_INFRA, transient
    for permanent in (ke.MessageSizeTooLargeError(), ke.TopicAuthorizationFailedError(), ke.InvalidTopicError()):
        assert action_for(permanent) is Action.DEAD_LETTER, permanent


@pytest.mark.parametrize(
    "payload",
    [
        rb'{"lead_id": "ld_1", "geo_key": "z989", "source": "test", "name": "Valley\u0000Heating"}',
        rb'{"lead_id": "ld_1", "geo_key": "z989", "source": "test", "name": "x", "extra": {"k\u0000": ["\u0000"]}}',
    ],
)
async def test_a_nul_character_in_a_payload_string_is_an_invalid_message(payload):
    stage = Scripted()
    runner, records, sender, _ = make_runner(stage)
    await runner.process_batch([event(payload=payload)])
    [letter] = records.letters
    assert letter.error_type == "InvalidMessage" and "NUL" in letter.reason and stage.calls == 0
    assert records.updates == []


async def test_an_escaped_backslash_before_u0000_is_not_a_nul():
    stage = Scripted()
    runner, records, _, _ = make_runner(stage)
    payload = rb'{"lead_id": "ld_1", "geo_key": "z989", "source": "test", "name": "C:\\u0000dir"}'
    await runner.process_batch([event(payload=payload)])
    assert records.letters == [] and stage.calls == 1


async def test_when_even_the_dead_letter_is_refused_the_worker_is_stopped_not_stalled():
    runner, _, sender, _ = make_runner(Scripted())
    sender.refused["deadletter.enrich"] = RuntimeError("topic authorization failed")
    failures: list[BaseException] = []
    runner.fail_worker = failures.append  # type: ignore[method-assign]
    assert await runner.settle_unfinished([event(7)], RuntimeError("bug")) is False  # do not ack: redelivered
    assert [type(f).__name__ for f in failures] == ["RuntimeError"]


async def test_even_the_smallest_allowed_cap_holds_a_hostile_dead_letter():
    error = PermanentProviderError("x", "é" * 100_000)  # a huge, multi-byte reason
    headers = {f"h{n}": b"\xff" * 10_000 for n in range(100)} | {"lead-id": b"ld_1"}
    runner, records, sender, _ = make_runner(Scripted(error), dead_letter_max_bytes=8 * 1024)
    await runner.process_batch(
        [event(payload=encode_lead(lead()) + b" " * 500_000, headers=headers, key=b"k" * 10_000)]
    )
    [(_, key, value, out_headers)] = sender.sent
    assert len(value) + len(key or b"") + sum(len(k) + len(v) for k, v in out_headers.items()) <= 8 * 1024
    body = orjson.loads(value)
    assert body["error_type"] == "PermanentProviderError" and body["payload_ref"]["size"] > 500_000
    assert records.letters[0].payload.endswith(b" " * 500_000)  # the original is whole in the store


@pytest.mark.parametrize("ingest", [b"9" * 40, b"-5", b"1e3", b"\x00", b"99999999999999999"])
async def test_an_implausible_ingest_ts_header_falls_back_to_the_kafka_timestamp(ingest):
    """Found by the chaos fuzz: forty 9s made `datetime.fromtimestamp` overflow in the record write."""
    runner, records, _, _ = make_runner(Scripted())
    headers = {"lead-id": b"ld_1", "ingest-ts": ingest}
    await runner.process_batch([event(headers=headers)])
    [update] = records.updates
    assert update.ingest_ms == 1000  # the message's Kafka timestamp (1.0 s)


async def test_an_output_is_encoded_once_for_its_topics_and_its_row():
    """The full Lead's JSON that goes to Kafka is the record the row stores (one encoding per output);
    leads.scraped still carries only the public RawLead fields."""

    class ToBoth(Stage[Lead]):
        name = STAGE

        async def handle(self, item: Lead, envelope: Envelope) -> list[Output]:
            return [Output(item, topics=(LEADS_ENRICHED, LEADS_SCRAPED))]

    records, sender = FakeRecords(), FakeSender()
    retry = RetryPolicy(sleep=FakeClock().sleep, random=lambda: 0.5)
    runner = StageRunner(ToBoth(), records, sender, retry=retry, sinks=(LEADS_ENRICHED, LEADS_SCRAPED))  # type: ignore[arg-type]
    await runner.process_batch([event()])
    [update] = records.updates
    sent = {topic: value for topic, _, value, _ in sender.sent}
    assert update.encoded is not None and sent[LEADS_ENRICHED] is update.encoded
    assert orjson.loads(update.encoded) == lead().model_dump(mode="json", exclude_none=True)
    assert sent[LEADS_SCRAPED] == encode_lead(lead(), LEADS_SCRAPED) != update.encoded
