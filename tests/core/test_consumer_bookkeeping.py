"""The lost lead of issue #10, replayed deterministically through Faust's real consumer.

Faust's own fetch loop (`Consumer._drain_messages`), ack bookkeeping (`ack`, `_new_offset`,
`_filter_committable_offsets`), revoke handler and `perform_seek` run unchanged; only the broker
is scripted (what `getmany` returns, what the committed offset is) and the commit that blocks on a
killed broker. The interleaving is the incident's:

1. partition 11 is at committed offset 84; the fetch loop gets 84, 85, 86;
2. 84 is handled and acked; 85 is delivered to the agent's buffer; before delivering 86 the fetch
   loop commits (Faust's ``broker_commit_every`` path) and that commit hangs: the broker was killed;
3. meanwhile a worker kill rebalances the group: revoke (the agent's buffer is cleared, so 85 is
   gone), assign, seek to the committed offset 85;
4. the commit returns; the fetch loop delivers 86 (stale) and records 86 as read: the seek's 85 is
   overwritten, so the refetch from 85 drops 85 as already read;
5. 86 and 87 are acked, and Faust commits 88: offset 85 never ran.

`SafeConsumer` (streams.consumer) keeps the seek's read offset, so 85 is refetched and handled, and it
never commits past an offset that is not acked.
"""

from __future__ import annotations

import asyncio
import time
from types import SimpleNamespace

import faust
import pytest
from faust.transport.drivers.aiokafka import Consumer as FaustConsumer
from faust.types import TP
from faust.types.tuples import Message

from streams.consumer import SafeConsumer
from streams.runner import InOrderAcks

TOPIC = "leads.scraped"
PART = TP(TOPIC, 11)
RACE_LOG_END = 32


def message(offset: int, tp: TP = PART) -> Message:
    return Message(
        topic=tp.topic,
        partition=tp.partition,
        offset=offset,
        timestamp=0.0,
        timestamp_type=0,
        headers=[],
        key=b"ca",
        value=b"{}",
        checksum=None,
        tp=tp,
    )


async def seek_and_resume(consumer) -> None:
    """A rebalance's end as Faust's table recovery runs it (`Recovery._resume_streams`): seek to the
    committed offsets, then resume the flow control, which empties the stream queues."""
    await consumer.perform_seek()
    consumer.app.flow_control.resume()


async def replay_incident(consumer_class: type) -> tuple[list[int], int | None]:
    """Run the interleaving on `consumer_class`; the offsets the stage handled, and the offset committed last."""
    app = faust.App(f"incident-{consumer_class.__name__}", broker="kafka://127.0.0.1:1", autodiscover=False)
    app.topics.acks_enabled_for = lambda topic: True
    app.consumer_generation_id = 1
    broker_committed = {PART: 84}
    fetches = [[84, 85, 86], [85, 86, 87]]  # the first fetch, then the refetch after the seek to 85
    commit_blocked, broker_back = asyncio.Event(), asyncio.Event()
    buffer: list[Message] = []  # the agent's incoming buffer (flow_control.clear() empties it on revoke)
    handled: list[int] = []

    async def deliver(msg: Message) -> None:  # the conductor: hand the message to the agent's buffer
        buffer.append(msg)
        if msg.offset == 85 and app.consumer_generation_id == 1:
            await stage_runs()  # the agent finishes 84 meanwhile

    async def noop(*args, **kwargs) -> None:
        return None

    consumer = consumer_class(
        app.transport, callback=deliver, on_partitions_revoked=noop, on_partitions_assigned=noop, loop=None
    )
    fetcher = SimpleNamespace(_stopped=asyncio.Event())
    acks = InOrderAcks(lambda event: _ack(consumer, event))
    tracked: dict[int, list] = {}

    async def stage_runs(*, only: int | None = 84) -> None:
        """The agent takes what is buffered and handles it (all of it, or just offset `only`)."""
        for msg in list(buffer):
            if only is None or msg.offset == only:
                buffer.remove(msg)
                event = SimpleNamespace(message=msg)
                tracked[id(event)] = acks.track(event)
                handled.append(msg.offset)
                await acks.done(tracked.pop(id(event)))

    async def next_records(timeout: float):
        if not fetches:
            fetcher._stopped.set()
            return {}, {PART}
        return {PART: [message(o) for o in fetches.pop(0)]}, {PART}

    real_commit = consumer.commit

    async def commit_on_a_dead_broker(*args, **kwargs) -> bool:
        commit_blocked.set()
        await broker_back.wait()
        return False

    async def seek_to_committed():
        return dict(broker_committed)

    consumer._wait_next_records = next_records
    consumer._to_message = lambda tp, record: record
    consumer.highwater = lambda tp: 1000
    consumer.seek_to_committed = seek_to_committed
    consumer.assignment = lambda: {PART}
    consumer._commit_every = 1  # the fetch loop commits after every ack (Faust's broker_commit_every path)
    consumer.commit = commit_on_a_dead_broker
    app.monitor.track_tp_end_offset = lambda tp, offset: None

    await seek_and_resume(consumer)  # assigned at 84
    drain = asyncio.create_task(consumer._drain_messages(fetcher))
    await asyncio.wait_for(commit_blocked.wait(), 5)  # before delivering 86, the commit hangs

    # The rebalance, while the commit hangs: revoke, clear the agent's buffer (85 goes), assign, seek.
    committed = consumer._filter_committable_offsets({PART})  # what the last good commit had taken: 85
    assert committed == {PART: 85}
    consumer._committed_offset.update(committed)
    broker_committed[PART] = 85
    await consumer.on_partitions_revoked({PART})
    buffer.clear()
    app.consumer_generation_id = 2
    await seek_and_resume(consumer)
    consumer.commit = real_commit
    consumer._commit_every = None
    broker_back.set()

    await asyncio.wait_for(drain, 5)
    await stage_runs(only=None)  # 86 (the stale delivery), then whatever the refetch delivered
    offsets = consumer._filter_committable_offsets({PART})
    return handled, offsets.get(PART)


async def _ack(consumer, event) -> None:
    consumer.ack(event.message)


async def test_stock_faust_consumer_commits_past_a_lead_it_never_delivered():
    """The bug as it is in faust-streaming 0.15.3: if this fails, Faust changed, and SafeConsumer may go."""
    handled, committed = await replay_incident(FaustConsumer)
    assert 85 not in handled and committed == 88


@pytest.mark.parametrize("run", range(3))
async def test_safe_consumer_refetches_the_lead_and_commits_only_what_ran(run):
    handled, committed = await replay_incident(SafeConsumer)
    assert committed == 88
    assert set(range(84, committed)) <= set(handled)  # nothing below the commit was skipped


async def test_safe_consumer_never_commits_past_a_missing_offset():
    """Acks that start above the committed offset hold the commit (Faust's check lets one offset through)."""
    app = faust.App("gap", broker="kafka://127.0.0.1:1", autodiscover=False)
    app.topics.acks_enabled_for = lambda topic: True

    async def noop(*args, **kwargs) -> None:
        return None

    for cls, expected in ((FaustConsumer, {PART: 88}), (SafeConsumer, {})):
        consumer = cls(app.transport, callback=noop, on_partitions_revoked=noop, on_partitions_assigned=noop, loop=None)
        consumer._committed_offset[PART] = 85
        for offset in (86, 87):
            consumer.ack(message(offset))
        assert consumer._filter_committable_offsets({PART}) == expected, cls
    consumer.ack(message(85))  # the missing one is handled at last: everything commits
    assert consumer._filter_committable_offsets({PART}) == {PART: 88}


async def test_safe_consumer_commits_nothing_between_revoke_and_seek_and_drops_stale_acks():
    app = faust.App("revoke", broker="kafka://127.0.0.1:1", autodiscover=False)
    app.topics.acks_enabled_for = lambda topic: True
    committed = {PART: 90}

    async def noop(*args, **kwargs) -> None:
        return None

    async def seek_to_committed():
        return dict(committed)

    consumer = SafeConsumer(
        app.transport, callback=noop, on_partitions_revoked=noop, on_partitions_assigned=noop, loop=None
    )
    consumer.seek_to_committed = seek_to_committed
    await seek_and_resume(consumer)
    await consumer.on_partitions_revoked({PART})
    consumer.ack(message(86))  # an event of the old assignment finishes after the revoke
    assert consumer._filter_committable_offsets({PART}) == {}  # Faust would commit 87 here
    await seek_and_resume(consumer)  # assigned again; another worker had committed 90 meanwhile
    assert consumer._filter_committable_offsets({PART}) == {}
    consumer.ack(message(90))
    assert consumer._filter_committable_offsets({PART}) == {PART: 91}


async def test_a_partition_never_committed_needs_every_offset_from_its_log_start():
    """Found by the chaos suite: emails.queued partition 1 lost offsets 0-2 (no commit yet, a stale ack of 3 first)."""
    app = faust.App("fresh", broker="kafka://127.0.0.1:1", autodiscover=False)
    app.topics.acks_enabled_for = lambda topic: True

    async def noop(*args, **kwargs) -> None:
        return None

    async def never_committed():
        return {PART: None}

    async def log_start(*tps):
        return {tp: 0 for tp in tps}

    for cls, expected in ((FaustConsumer, {PART: 4}), (SafeConsumer, {})):
        consumer = cls(app.transport, callback=noop, on_partitions_revoked=noop, on_partitions_assigned=noop, loop=None)
        consumer.seek_to_committed = never_committed
        consumer.earliest_offsets = log_start
        consumer._seek = noop  # the broker: no consumer thread runs here
        await seek_and_resume(consumer)
        consumer.ack(message(3))
        assert consumer._filter_committable_offsets({PART}) == expected, cls
    for offset in (0, 1, 2):
        consumer.ack(message(offset))
    assert consumer._filter_committable_offsets({PART}) == {PART: 4}


async def replay_seek_race(consumer_class: type) -> tuple[list[int], int | None]:
    """The scale-out test's loss (``leads.scraped`` p0: committed 22, then 74; offsets 37-72 never ran).

    The broker is scripted with a position per partition that a fetch advances and a seek resets, as
    aiokafka's is. Partition 0 comes back at committed offset 22 (23-36 were handled before it went
    away, so only their acks remain). The seek to 22 has reached the broker, and the next fetch
    (22-28) has come back, but the coroutine that seeked has not yet told the consumer (its epoch):
    so offset 22 is delivered across a seek. `SafeConsumer` then dropped the rest of the fetch
    (23-28) while the broker's position was already 29; the next fetch starts at 29, Faust's fetch
    loop records 23-29 as a gap (its own offset included), gaps count as acked, and the log end is
    committed: 23-28 never ran. (In the incident 23-36 had run before the partition moved, so the
    lost offsets were 37-72.)
    """
    app = faust.App(f"race-{consumer_class.__name__}", broker="kafka://127.0.0.1:1", autodiscover=False)
    app.topics.acks_enabled_for = lambda topic: True
    app.consumer_generation_id = 3
    log_end = RACE_LOG_END
    position = {PART: 22}
    handled: list[int] = []
    delivered_22 = asyncio.Event()

    async def noop(*args, **kwargs) -> None:
        return None

    async def deliver(msg: Message) -> None:  # the stage handles each event at once and acks it
        if msg.offset == 22 and not delivered_22.is_set():
            delivered_22.set()
            await seek_finishing()  # the seek's coroutine runs while 22 is being delivered
        handled.append(msg.offset)
        consumer.ack(msg)

    consumer = consumer_class(
        app.transport, callback=deliver, on_partitions_revoked=noop, on_partitions_assigned=noop, loop=None
    )
    fetcher = SimpleNamespace(_stopped=asyncio.Event())
    empty_fetches = 0

    async def next_records(timeout: float):
        nonlocal empty_fetches
        start = position[PART]
        batch = list(range(start, min(start + 7, log_end)))
        if not batch:
            empty_fetches += 1
            if empty_fetches > 2:
                fetcher._stopped.set()
            return {}, {PART}
        position[PART] = batch[-1] + 1
        return {PART: [message(o) for o in batch]}, {PART}

    async def seek_to_committed():
        position[PART] = 22
        return {PART: 22}

    async def seek_partition(tp: TP, offset: int) -> None:
        position[tp] = offset

    async def seek_finishing() -> None:
        """The rest of `perform_seek` (the broker was seeked already): Faust's bookkeeping, SafeConsumer's epoch."""
        real = consumer.seek_to_committed
        consumer.seek_to_committed = lambda: _value({PART: 22})
        await seek_and_resume(consumer)
        consumer.seek_to_committed = real

    consumer._wait_next_records = next_records
    consumer._to_message = lambda tp, record: record
    consumer.highwater = lambda tp: log_end
    consumer.seek_to_committed = seek_to_committed
    consumer._seek = seek_partition
    consumer.assignment = lambda: {PART}
    consumer._commit_every = None
    app.monitor.track_tp_end_offset = lambda tp, offset: None

    await seek_and_resume(consumer)  # the assignment's seek: committed 22
    await asyncio.wait_for(consumer._drain_messages(fetcher), 5)
    offsets = consumer._filter_committable_offsets({PART})
    return handled, offsets.get(PART)


async def _value(value):
    return value


async def test_safe_consumer_without_the_sequence_check_commits_what_a_raced_fetch_dropped():
    """The fault as it was (the sequence check and the gap fix switched off): offsets committed, never handled."""

    class EarlyReturn(SafeConsumer):
        async def _in_sequence(self, tp: TP, offset: int) -> bool:  # the check this fix added, switched off
            return True

        async def _add_gap(self, tp: TP, offset_from: int, offset_to: int) -> None:  # Faust's gap, as before
            await FaustConsumer._add_gap(self, tp, offset_from, offset_to)

    handled, committed = await replay_seek_race(EarlyReturn)
    assert committed == RACE_LOG_END and not set(range(23, 29)) & set(handled)


@pytest.mark.parametrize("run", range(3))
async def test_safe_consumer_refetches_what_a_raced_fetch_dropped(run):
    handled, committed = await replay_seek_race(SafeConsumer)
    assert committed == RACE_LOG_END
    assert set(range(22, committed)) <= set(handled)  # nothing below the commit was skipped


async def test_safe_consumer_lets_a_real_gap_through_on_the_second_look():
    """Offsets that do not exist (transaction markers, compaction) show the same skip after the seek back: accepted."""
    app = faust.App("real-gap", broker="kafka://127.0.0.1:1", autodiscover=False)
    app.topics.acks_enabled_for = lambda topic: True
    seeks: list[int] = []

    async def noop(*args, **kwargs) -> None:
        return None

    async def seek_partition(tp: TP, offset: int) -> None:
        seeks.append(offset)

    consumer = SafeConsumer(
        app.transport, callback=noop, on_partitions_revoked=noop, on_partitions_assigned=noop, loop=None
    )
    consumer._seek = seek_partition
    consumer._next[PART] = 40
    assert not await consumer._in_sequence(PART, 42)  # 40-41 skipped: seek back once
    assert await consumer._in_sequence(PART, 42)  # the refetch from 40 starts at 42 again: real
    assert seeks == [40]


async def replay_tail_drop(refetch: bool) -> tuple[list[int], list[int], int | None]:
    """Fault 4, the chaos suite's worker-kill stall (``emails.queued`` p0: committed 26, log end 39, idle).

    A fetch of 26-38 comes back while the partition is out of the active set (paused, or the batch
    outlived its generation): Faust's `getmany` drops it, and the broker's position is 39, the log end.
    Nothing is produced after it, so no later record shows the skip. Returns what was handled before
    the stranded-partition check, what was handled in all, and the offset committed.
    """
    app = faust.App(f"tail-{refetch}", broker="kafka://127.0.0.1:1", autodiscover=False)
    app.topics.acks_enabled_for = lambda topic: True
    app.consumer_generation_id = 1
    tail = TP("emails.queued", 0)
    log_end = 39
    position = {tail: 26}
    handled: list[int] = []
    dropped_once = False
    idle, wake = asyncio.Event(), asyncio.Event()

    async def deliver(msg: Message) -> None:
        handled.append(msg.offset)
        consumer.ack(msg)

    consumer = SafeConsumer(
        app.transport, callback=deliver, on_partitions_revoked=_noop, on_partitions_assigned=_noop, loop=None
    )
    fetcher = SimpleNamespace(_stopped=asyncio.Event())

    async def next_records(timeout: float):
        nonlocal dropped_once
        batch = list(range(position[tail], log_end))
        if not batch:
            if wake.is_set():
                fetcher._stopped.set()
            else:
                idle.set()
                await wake.wait()
            return {}, {tail}
        position[tail] = log_end
        active = {tail} if dropped_once else set()  # the first fetch: the partition left the active set meanwhile
        dropped_once = True
        return {tail: [message(o, tail) for o in batch]}, active

    async def seek_partition(tp: TP, offset: int) -> None:
        position[tp] = offset

    consumer._wait_next_records = next_records
    consumer._to_message = lambda tp, record: record
    consumer.highwater = lambda tp: log_end
    consumer.highwaters = lambda *tps: _value({tp: log_end for tp in tps})
    consumer.position = lambda tp: _value(position[tp])
    consumer.seek_to_committed = lambda: _value({tail: 26})
    consumer._seek = seek_partition
    consumer.assignment = lambda: {tail}
    consumer._commit_every = None
    app.monitor.track_tp_end_offset = lambda tp, offset: None

    await seek_and_resume(consumer)
    drain = asyncio.create_task(consumer._drain_messages(fetcher))
    await asyncio.wait_for(idle.wait(), 5)  # the dropped fetch is behind; the loop polls an empty partition
    before = list(handled)
    assert await consumer.refetch_stranded(now=time.monotonic()) == []  # just seeked: not stranded yet
    if refetch:
        later = time.monotonic() + SafeConsumer.STRANDED_AFTER_S + 1  # an injected clock, not a wait
        assert await consumer.refetch_stranded(now=later) == [tail]
    wake.set()
    await asyncio.wait_for(drain, 5)
    return before, handled, consumer._filter_committable_offsets({tail}).get(tail)


async def _noop(*args, **kwargs) -> None:
    return None


async def test_records_dropped_at_the_tail_stay_stranded_without_the_check():
    """The fault as it is: nothing after the dropped batch, so nothing is ever delivered or committed."""
    before, handled, committed = await replay_tail_drop(refetch=False)
    assert before == [] and handled == [] and committed is None


@pytest.mark.parametrize("run", range(3))
async def test_records_dropped_at_the_tail_are_fetched_again(run):
    before, handled, committed = await replay_tail_drop(refetch=True)
    assert before == []  # the batch really was dropped (the check is what brings it back)
    assert handled == list(range(26, 39)) and committed == 39


async def commit_discarded_mid_rebalance(consumer_class: type) -> tuple[dict, dict]:
    """Fault 5: Faust's commit path (`_commit_tps`) with one commit discarded, then the next one.

    Offsets 47-51 are acked; the commit timer fires while aiokafka's assignment is momentarily empty
    (a rebalance starting), so `_commit_offsets` discards the partition ("will be processed again").
    No revoke follows (the partition stays), 52-55 are acked, and the timer fires again.
    Returns (offsets Faust's path committed, what is committable after that).
    """
    app = faust.App(f"discarded-{consumer_class.__name__}", broker="kafka://127.0.0.1:1", autodiscover=False)
    app.topics.acks_enabled_for = lambda topic: True
    tp = TP("leads.deduplicated", 1)
    assignment: set[TP] = set()
    committed_on_broker: dict[TP, int] = {}

    async def broker_commit(offsets) -> bool:
        committed_on_broker.update(offsets)
        return True

    consumer = consumer_class(
        app.transport, callback=_noop, on_partitions_revoked=_noop, on_partitions_assigned=_noop, loop=None
    )
    consumer.seek_to_committed = lambda: _value({tp: 47})
    consumer.assignment = lambda: set(assignment)
    consumer._commit = broker_commit
    app.producer.flush = _noop  # nothing is produced in this test: the flush before a commit has nothing to do
    assignment.add(tp)
    await seek_and_resume(consumer)
    for offset in range(47, 52):
        consumer.ack(message(offset, tp))
    assignment.clear()  # the commit lands in a rebalance's window: aiokafka has no assignment for a moment
    assert not await consumer._commit_tps([tp], start_new_transaction=False)
    assignment.add(tp)
    for offset in range(52, 56):
        consumer.ack(message(offset, tp))
    await consumer._commit_tps([tp], start_new_transaction=False)
    return dict(committed_on_broker), consumer._filter_committable_offsets({tp})


async def test_stock_bookkeeping_loses_acks_of_a_discarded_commit():
    """Faust's `_new_offset` (SafeConsumer's head check kept) dropped 47-51 before the discarded commit: stuck."""

    class DestructiveNewOffset(SafeConsumer):
        def _new_offset(self, tp: TP) -> int | None:
            offset = super()._new_offset(tp)
            if offset is not None:  # what Faust does with the run it returns: drop it before the commit
                run = [o for o in self._acked[tp] if o < offset]
                del self._acked[tp][: len(run)]
                self._acked_index[tp].difference_update(run)
            return offset

    committed, committable = await commit_discarded_mid_rebalance(DestructiveNewOffset)
    assert committed == {} and committable == {}


async def test_acks_of_a_discarded_commit_are_committed_next_time():
    committed, committable = await commit_discarded_mid_rebalance(SafeConsumer)
    assert committed == {TP("leads.deduplicated", 1): 56}
    assert committable == {}  # committed: nothing left over, the list is pruned


async def test_the_stranded_check_survives_a_partition_a_rebalance_took_away():
    """Found by the chaos suite: aiokafka asserts on `highwater` of an unassigned partition; the timer crashed the worker."""
    app = faust.App("taken-away", broker="kafka://127.0.0.1:1", autodiscover=False)
    app.topics.acks_enabled_for = lambda topic: True
    tp = TP("emails.queued", 2)

    def highwater(tp: TP) -> int:
        raise AssertionError("Partition is not assigned")

    consumer = SafeConsumer(
        app.transport, callback=_noop, on_partitions_revoked=_noop, on_partitions_assigned=_noop, loop=None
    )
    consumer.seek_to_committed = lambda: _value({tp: 5})
    await seek_and_resume(consumer)
    consumer.highwater = highwater

    async def highwaters(*tps: TP) -> dict[TP, int]:
        raise AssertionError("Partition is not assigned")

    consumer.highwaters = highwaters
    later = time.monotonic() + SafeConsumer.STRANDED_AFTER_S + 1
    assert await consumer.refetch_stranded(now=later) == []

    async def anything_else(now=None):
        raise RuntimeError("anything else")

    consumer.refetch_stranded = anything_else
    await consumer.check_stranded()  # the timer's body logs it and goes on


async def replay_clear_after_seek(consumer_class: type) -> tuple[list[int], int | None]:
    """Fault 6, the worker-kill stall (``leads.deduplicated`` p0: committed 42, acks 43-105, nothing in flight).

    Faust's table recovery ends a rebalance with the seek to the committed offsets, then
    ``flow_control.resume()``, which empties the stream queues; the fetch loop is already flowing. What it
    hands on between the two is thrown away. Returns the offsets the stage handled, and the commit.
    """
    from mode.utils.queues import FlowControlQueue

    app = faust.App(f"clear-{consumer_class.__name__}", broker="kafka://127.0.0.1:1", autodiscover=False)
    app.topics.acks_enabled_for = lambda topic: True
    app.consumer_generation_id = 1
    part = TP("leads.deduplicated", 0)
    queue: FlowControlQueue = FlowControlQueue(maxsize=100, flow_control=app.flow_control, clear_on_resume=True)
    batches = [[42, 43, 44], [45, 46, 47, 48, 49]]
    resumed = asyncio.Event()
    handled: list[int] = []

    async def deliver(msg: Message) -> None:  # the conductor: into the stream's queue
        queue.force_put_nowait(msg)

    consumer = consumer_class(
        app.transport, callback=deliver, on_partitions_revoked=_noop, on_partitions_assigned=_noop, loop=None
    )
    fetcher = SimpleNamespace(_stopped=asyncio.Event())

    async def next_records(timeout: float):
        if not batches:
            fetcher._stopped.set()
            return {}, {part}
        if len(batches) == 1:
            await resumed.wait()  # the later fetch comes after the recovery finished
        return {part: [message(o, part) for o in batches.pop(0)]}, {part}

    consumer._wait_next_records = next_records
    consumer._to_message = lambda tp, record: record
    consumer.highwater = lambda tp: 50
    consumer.seek_to_committed = lambda: _value({part: 42})
    consumer.assignment = lambda: {part}
    consumer._commit_every = None
    app.monitor.track_tp_end_offset = lambda tp, offset: None

    drain = asyncio.create_task(consumer._drain_messages(fetcher))
    await consumer.perform_seek()  # the recovery's seek; the fetch loop runs beside it
    for _ in range(200):  # let the fetch loop hand on what it will before the clear (no clock: loop turns)
        if queue.qsize() == 3:
            break
        await asyncio.sleep(0)
    app.flow_control.resume()  # the recovery's next step: the stream queues are emptied
    resumed.set()
    while not drain.done() or not queue.empty():  # the stage: handle and ack what reaches it
        if queue.empty():
            await asyncio.sleep(0)
            continue
        msg = queue.get_nowait()
        handled.append(msg.offset)
        consumer.ack(msg)
    await drain
    return handled, consumer._filter_committable_offsets({part}).get(part)


async def test_stock_faust_consumer_throws_away_what_it_delivered_between_seek_and_clear():
    """The fault as it is in faust-streaming 0.15.3: 42-44 are read and never handled; commits stop at 42."""
    handled, committed = await replay_clear_after_seek(FaustConsumer)
    assert handled == [45, 46, 47, 48, 49] and committed is None


@pytest.mark.parametrize("run", range(3))
async def test_safe_consumer_delivers_nothing_between_seek_and_clear(run):
    handled, committed = await replay_clear_after_seek(SafeConsumer)
    assert handled == list(range(42, 50)) and committed == 50


async def test_a_partition_left_without_a_next_offset_is_watched_from_its_commit():
    """Fault 12, as a CI stall report showed it: assigned, committed 16, nothing read or delivered (no next
    offset), records up to 91 at the broker. The stranded check seeks it to its commit once it stays idle."""
    app = faust.App("no-next", broker="kafka://127.0.0.1:1", autodiscover=False)
    app.topics.acks_enabled_for = lambda topic: topic == TOPIC
    tp, changelog = TP(TOPIC, 3), TP("no-next-dedupe-state-changelog", 3)
    consumer = SafeConsumer(
        app.transport, callback=_noop, on_partitions_revoked=_noop, on_partitions_assigned=_noop, loop=None
    )
    consumer.seek_to_committed = lambda: _value({})
    await seek_and_resume(consumer)
    consumer._committed_offset[tp] = consumer._committed_offset[changelog] = 16
    consumer.assignment = lambda: {tp, changelog}

    async def highwaters(*tps: TP) -> dict[TP, int]:
        return {t: 91 for t in tps}

    seeks: list[tuple[TP, int]] = []

    async def seek(partition: TP, offset: int) -> None:
        seeks.append((partition, offset))

    consumer.highwaters, consumer.seek = highwaters, seek
    now = time.monotonic()
    assert await consumer.refetch_stranded(now=now) == []  # first seen now: not idle long enough yet
    assert consumer._next == {tp: 16}  # the changelog partition is not a stream's: not watched
    later = now + SafeConsumer.STRANDED_AFTER_S + 1  # an injected clock, not a wait
    assert await consumer.refetch_stranded(now=later) == [tp]
    assert seeks == [(tp, 16)]
