"""Faults 7 and 8 of `streams.consumer` (the API benchmark's stalled worker), replayed through Faust's real fetch loop.

Both stalls look the same from outside: a worker idle on empty stream queues, its partitions lagging,
the flow resumed and nothing paused. Each test runs the stock behaviour first (the stall is real: nothing
is handled, nothing committed) and then `SafeConsumer`'s (everything handled once, committed to the end).
Only the broker is scripted; Faust's `_drain_messages`, ack bookkeeping and `perform_seek` run unchanged.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import threading
import time
from collections.abc import Mapping
from types import SimpleNamespace
from typing import Any

import faust
import pytest
from faust.types import TP
from faust.types.tuples import Message

from streams.consumer import SafeConsumer
from tests.core.test_consumer_bookkeeping import _noop, _value, message, seek_and_resume

STALLED = TP("leads.enriched", 3)
COMMITTED = 40
LOG_END = 52


def _consumer(name: str, handled: list[int], consumer_class: type[SafeConsumer] = SafeConsumer) -> SafeConsumer:
    app = faust.App(name, broker="kafka://127.0.0.1:1", autodiscover=False)
    app.topics.acks_enabled_for = lambda topic: True
    app.consumer_generation_id = 1
    app.monitor.track_tp_end_offset = lambda tp, offset: None

    async def deliver(msg: Message) -> None:
        handled.append(msg.offset)
        consumer.ack(msg)

    consumer = consumer_class(
        app.transport, callback=deliver, on_partitions_revoked=_noop, on_partitions_assigned=_noop, loop=None
    )
    consumer._to_message = lambda tp, record: record
    consumer.seek_to_committed = lambda: _value({STALLED: COMMITTED})
    consumer.assignment = lambda: {STALLED}
    consumer.highwaters = lambda *tps: _value({tp: LOG_END for tp in tps})  # the broker's end offset
    consumer._commit_every = None
    return consumer


def _rest_of_log(fetcher: SimpleNamespace, position: dict[TP, int]) -> tuple[dict, set[TP]]:
    """One fetch of `STALLED` from its position to the log end (the position moves there); nothing left: the loop stops."""
    batch = list(range(position[STALLED], LOG_END))
    if not batch:
        fetcher._stopped.set()
        return {}, {STALLED}
    position[STALLED] = LOG_END
    return {STALLED: [message(o, STALLED) for o in batch]}, {STALLED}


async def replay_fetcher_that_stopped(check: bool) -> tuple[list[int], list[int], int | None]:
    """Fault 7: after the rebalance's seek, the fetcher returns nothing for the partition until it is seeked again.

    aiokafka never fetched it in this assignment, so its cached high watermark is unknown (None) and its
    position is the committed offset: fault 4's check (position past the next offset) cannot see it.
    Returns what was handled before the check, in all, and the committed offset.
    """
    handled: list[int] = []
    consumer = _consumer(f"stopped-{check}", handled)
    fetcher = SimpleNamespace(_stopped=asyncio.Event())
    stuck = True
    polled_stuck, wake = asyncio.Event(), asyncio.Event()
    position = {STALLED: COMMITTED}

    async def next_records(timeout: float):
        if stuck:  # the fetcher holds the partition: no records, whatever is asked
            polled_stuck.set()
            await wake.wait()
            if stuck:
                fetcher._stopped.set()
            return {}, {STALLED}
        return _rest_of_log(fetcher, position)

    async def seek_partition(tp: TP, offset: int) -> None:
        nonlocal stuck
        stuck = False  # aiokafka's seek_to drops what it held for the partition and fetches it again
        position[tp] = offset

    consumer._wait_next_records = next_records
    consumer.highwater = lambda tp: None
    consumer.position = lambda tp: _value(position[tp])
    consumer._seek = seek_partition

    await seek_and_resume(consumer)
    drain = asyncio.create_task(consumer._drain_messages(fetcher))
    await asyncio.wait_for(polled_stuck.wait(), 5)
    assert await consumer.refetch_stranded(now=time.monotonic()) == []  # just seeked: not stranded yet
    before = list(handled)
    if check:
        later = time.monotonic() + SafeConsumer.STRANDED_AFTER_S + 1  # an injected clock, not a wait
        assert await consumer.refetch_stranded(now=later) == [STALLED]
        waiting = consumer.fetch_state()["waiting"]
        assert waiting[f"{STALLED.topic}:{STALLED.partition}"]["highwater"] == LOG_END  # the broker's, for /ready
    wake.set()
    await asyncio.wait_for(drain, 5)
    return before, handled, consumer._filter_committable_offsets({STALLED}).get(STALLED)


async def test_a_partition_the_fetcher_stopped_fetching_stays_stalled_without_the_check():
    before, handled, committed = await replay_fetcher_that_stopped(check=False)
    assert before == handled == [] and committed is None


@pytest.mark.parametrize("run", range(3))
async def test_a_partition_the_fetcher_stopped_fetching_is_fetched_again(run):
    before, handled, committed = await replay_fetcher_that_stopped(check=True)
    assert before == []  # really stalled until the check
    assert handled == list(range(COMMITTED, LOG_END)) and committed == LOG_END


async def test_the_check_leaves_alone_what_its_seek_could_not_bring():
    """Records that wait but cannot be delivered (transaction markers): one seek, then no seek loop."""
    consumer = _consumer("markers", [])
    seeks: list[int] = []

    async def seek_partition(tp: TP, offset: int) -> None:
        seeks.append(offset)

    consumer._seek = seek_partition
    await seek_and_resume(consumer)
    later = time.monotonic() + SafeConsumer.STRANDED_AFTER_S + 1
    assert await consumer.refetch_stranded(now=later) == [STALLED]
    later += SafeConsumer.STRANDED_AFTER_S + 1
    assert await consumer.refetch_stranded(now=later) == []
    assert seeks == [COMMITTED]


async def test_the_check_waits_while_the_flow_is_stopped():
    """A rebalance stops the flow; its seek positions the partitions, the check must not race it."""
    consumer = _consumer("stopped-flow", [])
    await seek_and_resume(consumer)
    consumer.flow_active = False
    later = time.monotonic() + SafeConsumer.STRANDED_AFTER_S + 1
    assert await consumer.refetch_stranded(now=later) == []


async def replay_stale_read_offset(consumer_class: type) -> tuple[list[int], int | None]:
    """Fault 8: after the seek to 40, the read offset says 47 (stale, of any origin); the fetch brings 40-51.

    Faust's fetch loop drops 40-46 as already read; the head check then holds the commit at 40 for good.
    """
    handled: list[int] = []
    consumer = _consumer(f"stale-{consumer_class.__name__}", handled)
    if consumer_class is not SafeConsumer:
        consumer._undo_stale_read_offset = lambda tp, offset: None  # the fetch loop as Faust has it
    fetcher = SimpleNamespace(_stopped=asyncio.Event())
    fetches = [list(range(COMMITTED, LOG_END))]

    async def next_records(timeout: float):
        if not fetches:
            fetcher._stopped.set()
            return {}, {STALLED}
        return {STALLED: [message(o, STALLED) for o in fetches.pop(0)]}, {STALLED}

    consumer._wait_next_records = next_records
    consumer.highwater = lambda tp: LOG_END
    await seek_and_resume(consumer)
    consumer._read_offset[STALLED] = 47
    await asyncio.wait_for(consumer._drain_messages(fetcher), 5)
    return handled, consumer._filter_committable_offsets({STALLED}).get(STALLED)


class _StockReadOffset(SafeConsumer):
    """SafeConsumer without the fault-8 fix (the switch is in `replay_stale_read_offset`)."""


async def test_a_stale_read_offset_drops_records_and_holds_the_commit_in_stock_faust():
    handled, committed = await replay_stale_read_offset(_StockReadOffset)
    assert handled == list(range(47, LOG_END)) and committed is None


async def test_a_stale_read_offset_is_put_back_and_every_record_runs():
    handled, committed = await replay_stale_read_offset(SafeConsumer)
    assert handled == list(range(COMMITTED, LOG_END)) and committed == LOG_END


def aiokafka_seek_to_committed(committed: dict[TP, int | None], position: dict[TP, int]):
    """aiokafka 0.14's `seek_to_committed`, modelled: `if offset and offset > 0: seek_to(tp, offset)`."""

    async def seek_to_committed():
        for tp, offset in committed.items():
            if offset and offset > 0:
                position[tp] = offset
        return dict(committed)

    return seek_to_committed


FRESH = TP("leads.scraped", 2)
BACKLOG = 114


async def replay_fresh_partition_rebalance(consumer_class: type) -> tuple[list[int], int | None, list[int]]:
    """Fault 9, the stalled worker as `bench_api --verify` logged it: ``leads.scraped`` p2, no commit, 114
    records waiting from offset 0, the fetcher's position 114, nothing delivered.

    The worker is alone in a new group on a backlog. Its fetch of 0-113 is cut (the partition leaves the
    active set: the second worker joined), the rebalance gives the partition back and seeks to the committed
    offsets, and aiokafka's `seek_to_committed` (modelled here) moves only partitions committed above 0.
    Returns what was handled, the committable offset, and the seeks made.
    """
    handled: list[int] = []
    consumer = _consumer(f"fresh-{consumer_class.__name__}", handled)
    fetcher = SimpleNamespace(_stopped=asyncio.Event())
    position = {FRESH: 0}
    committed: dict[TP, int | None] = {FRESH: None}
    seeks: list[int] = []
    cut, rebalanced = asyncio.Event(), asyncio.Event()

    async def next_records(timeout: float):
        batch = list(range(position[FRESH], BACKLOG))
        if not cut.is_set():  # the first fetch: drained from the fetcher, then cut by the rebalance
            position[FRESH] = BACKLOG
            cut.set()
            await rebalanced.wait()
            return {FRESH: [message(o, FRESH) for o in batch]}, set()
        if not batch:
            fetcher._stopped.set()
            return {}, {FRESH}
        position[FRESH] = BACKLOG
        return {FRESH: [message(o, FRESH) for o in batch]}, {FRESH}

    async def seek_partition(tp: TP, offset: int) -> None:
        seeks.append(offset)
        position[tp] = offset

    consumer._wait_next_records = next_records
    consumer.seek_to_committed = aiokafka_seek_to_committed(committed, position)
    consumer.earliest_offsets = lambda *tps: _value({tp: 0 for tp in tps})
    consumer.assignment = lambda: {FRESH}
    consumer.highwater = lambda tp: BACKLOG
    consumer._seek = seek_partition
    if consumer_class is not SafeConsumer:
        consumer._seek_to_log_start = lambda starts: _value(None)  # Faust's perform_seek as it is

    await seek_and_resume(consumer)
    drain = asyncio.create_task(consumer._drain_messages(fetcher))
    await asyncio.wait_for(cut.wait(), 5)
    await consumer.on_partitions_revoked({FRESH})
    consumer.app.consumer_generation_id = 2
    await seek_and_resume(consumer)
    rebalanced.set()
    await asyncio.wait_for(drain, 5)
    return handled, consumer._filter_committable_offsets({FRESH}).get(FRESH), seeks


class _NoLogStartSeek(SafeConsumer):
    """SafeConsumer without the fault-9 fix (the switch is in `replay_fresh_partition_rebalance`)."""


async def test_a_partition_without_a_commit_is_not_refetched_after_the_rebalance_without_the_seek():
    handled, committed, seeks = await replay_fresh_partition_rebalance(_NoLogStartSeek)
    assert handled == [] and committed is None and seeks == []


@pytest.mark.parametrize("run", range(3))
async def test_a_partition_without_a_commit_is_seeked_to_its_log_start(run):
    handled, committed, seeks = await replay_fresh_partition_rebalance(SafeConsumer)
    assert handled == list(range(BACKLOG)) and committed == BACKLOG
    assert seeks == [0, 0]  # at each assignment's seek


async def replay_vanished_after_delivery(in_flight: bool) -> tuple[list[int], list[TP], int | None]:
    """Fault 10: 40-51 delivered; 40-42 vanish from the stream's queue unacked, 43-51 are handled and acked.

    Everything was delivered (next = end = 52), so nothing waits on the broker; the commit is held at 40 for
    good. With `in_flight`, 40 is still tracked as an event in flight (a slow stage): not lost, left alone.
    Returns the offsets handled (acked), what the check seeked, and the committable offset.
    """
    handled: list[int] = []
    consumer = _consumer(f"vanished-{in_flight}", handled)
    vanish = {40, 41, 42}
    held: list[Message] = []

    async def deliver(msg: Message) -> None:
        if msg.offset in vanish:
            vanish.discard(msg.offset)
            if in_flight and msg.offset == 40:
                consumer._unacked_messages.add(msg)  # Faust's track_message: delivered, not acked yet
                held.append(msg)
            return
        handled.append(msg.offset)
        consumer.ack(msg)

    consumer.callback = deliver
    fetcher = SimpleNamespace(_stopped=asyncio.Event())
    position = {STALLED: COMMITTED}

    async def next_records(timeout: float):
        return _rest_of_log(fetcher, position)

    async def seek_partition(tp: TP, offset: int) -> None:
        position[tp] = offset

    consumer._wait_next_records = next_records
    consumer.highwater = lambda tp: LOG_END
    consumer._seek = seek_partition
    await seek_and_resume(consumer)
    await asyncio.wait_for(consumer._drain_messages(fetcher), 5)
    later = time.monotonic() + SafeConsumer.STRANDED_AFTER_S + 1
    seeked = await consumer.refetch_stranded(now=later)
    fetcher._stopped.clear()
    await asyncio.wait_for(consumer._drain_messages(fetcher), 5)
    return handled, seeked, consumer._filter_committable_offsets({STALLED}).get(STALLED)


async def test_records_that_vanished_unacked_after_delivery_are_delivered_again():
    handled, seeked, committed = await replay_vanished_after_delivery(in_flight=False)
    assert seeked == [STALLED]
    assert sorted(set(handled)) == list(range(COMMITTED, LOG_END)) and committed == LOG_END


async def test_an_event_still_in_flight_is_not_taken_for_lost():
    handled, seeked, committed = await replay_vanished_after_delivery(in_flight=True)
    assert seeked == [] and committed is None
    assert handled == list(range(43, LOG_END))


async def test_a_partition_another_worker_took_is_not_watched():
    """Seen in bench_api runs: ``leads.scraped`` p1 "repaired" on a worker that no longer had it (fetcher state
    unreadable, the seek refused). Faust's read offsets are a defaultdict: reading the offset of a late message
    of a partition taken away adds it back, and the next seek counted it as a partition without a commit."""
    consumer = _consumer("ghost", [])
    gone = TP("leads.scraped", 1)
    owned = {STALLED}
    consumer.assignment = lambda: set(owned)
    consumer.earliest_offsets = lambda *tps: _value({tp: 0 for tp in tps})
    seeks: list[TP] = []

    async def seek_partition(tp: TP, offset: int) -> None:
        seeks.append(tp)

    consumer._seek = seek_partition
    await seek_and_resume(consumer)
    consumer._read_offset[gone]  # the fetch loop's `get_read_offset(tp)` for a late message of `gone`
    await seek_and_resume(consumer)
    assert gone not in consumer._next and gone not in consumer._committed_offset
    consumer._next[gone] = 87  # however it got there, the check leaves a partition it does not have alone
    later = time.monotonic() + SafeConsumer.STRANDED_AFTER_S + 1
    assert gone not in await consumer.refetch_stranded(now=later)
    assert gone not in seeks


async def test_a_seek_runs_on_the_consumer_thread():
    """Fault 11 (CI, the fuzz test): aiokafka's seek called from the app's thread deleted from the fetcher's
    records while the consumer thread iterated them, and the fetcher crashed. It must run on that thread."""
    consumer = _consumer("thread", [])
    ran_on: list[int] = []
    worker = concurrent.futures.ThreadPoolExecutor(max_workers=1, thread_name_prefix="consumer-thread")

    class ConsumerThread:  # the parts of Faust's AIOKafkaConsumerThread a seek uses
        def seek(self, tp: TP, offset: int) -> None:
            ran_on.append(threading.get_ident())

        async def call_thread(self, fun, *args):  # runs the coroutine function on its own thread and loop
            return await asyncio.get_running_loop().run_in_executor(worker, lambda: asyncio.run(fun(*args)))

    consumer._thread = ConsumerThread()
    try:
        await consumer.seek(STALLED, COMMITTED)
        await consumer._seek(STALLED, COMMITTED + 1)
    finally:
        worker.shutdown()
    assert len(ran_on) == 2 and threading.get_ident() not in ran_on
    assert consumer._next[STALLED] == COMMITTED  # `seek` still records what the partition delivers next


UNREAD = TP("leads.scraped", 3)
UNREAD_END = 91


async def replay_commit_after_revoke(
    consumer_class: type[SafeConsumer],
) -> tuple[list[int], int | None, dict[str, Any]]:
    """Fault 12, the CI stall (``leads.scraped`` p3: next and read unknown, committed 16, the fetcher at the high
    water 91, nothing in flight), from its cause: a commit that lands after the revoke.

    The partition has no commit at the broker yet. Offsets 0-15 are handled and acked; Faust's commit of 16 is
    waiting on the broker when a rebalance starts: the revoke runs on the app's loop (Faust drops the
    partition's read and committed offsets), then the commit fails (the group is rebalancing) and Faust writes
    16 into its committed offsets all the same (`_commit_offsets` does not look at the result). The rebalance
    gives the partition back; a fetch of the new assignment (0-90) is drained and cut as in fault 9, so the
    fetcher's position is the log end; the seek to the committed offsets finds no commit at the broker.
    Returns what was handled after the rebalance, the committable offset, and the bookkeeping after the seek.
    """
    handled: list[int] = []
    consumer = _consumer(f"unread-{consumer_class.__name__}", handled, consumer_class)
    fetcher = SimpleNamespace(_stopped=asyncio.Event())
    position = {UNREAD: 0}
    broker_committed: dict[TP, int | None] = {UNREAD: None}
    cut, rebalanced = asyncio.Event(), asyncio.Event()

    async def next_records(timeout: float):
        batch = list(range(position[UNREAD], UNREAD_END))
        if not batch:
            fetcher._stopped.set()
            return {}, {UNREAD}
        position[UNREAD] = UNREAD_END
        if not cut.is_set():  # the new assignment's first fetch: drained from the fetcher, then cut
            cut.set()
            await rebalanced.wait()
            return {UNREAD: [message(o, UNREAD) for o in batch]}, set()
        return {UNREAD: [message(o, UNREAD) for o in batch]}, {UNREAD}

    async def seek_partition(tp: TP, offset: int) -> None:
        position[tp] = offset

    async def commit_while_the_group_rebalances(offsets: Mapping[TP, int]) -> bool:
        await consumer.on_partitions_revoked({UNREAD})  # the app's loop runs the revoke meanwhile
        return False  # aiokafka: CommitFailedError ("already rebalanced"); Faust's `_commit` returns False

    consumer._wait_next_records = next_records
    consumer.seek_to_committed = aiokafka_seek_to_committed(broker_committed, position)
    consumer.earliest_offsets = lambda *tps: _value({tp: 0 for tp in tps})
    consumer.assignment = lambda: {UNREAD}
    consumer.highwater = lambda tp: UNREAD_END
    consumer._seek = seek_partition
    consumer._commit = commit_while_the_group_rebalances
    consumer.app.producer.flush = _noop  # nothing is produced here

    await seek_and_resume(consumer)  # the first assignment: no commit, so from the log start
    for offset in range(16):
        consumer.ack(message(offset, UNREAD))
    assert not await consumer._commit_tps([UNREAD], start_new_transaction=False)
    assert consumer._committed_offset[UNREAD] == 16  # written after the revoke; the broker has no commit
    consumer._commit = lambda offsets: _value(True)

    drain = asyncio.create_task(consumer._drain_messages(fetcher))
    await asyncio.wait_for(cut.wait(), 5)
    consumer.app.consumer_generation_id = 2
    await seek_and_resume(consumer)  # the partition comes back
    state = {
        "next": consumer._next.get(UNREAD),
        "read": consumer._read_offset.get(UNREAD),
        "committed": consumer._committed_offset.get(UNREAD),
        "position": position[UNREAD],
    }
    rebalanced.set()
    await asyncio.wait_for(drain, 5)
    return handled, consumer._filter_committable_offsets({UNREAD}).get(UNREAD), state


class _FaustSeekBookkeeping(SafeConsumer):
    """SafeConsumer with Faust's seek bookkeeping (the fault-12 fix switched off): a partition the broker has no
    commit for keeps whatever committed offset Faust had."""

    def _seeked_to_committed(self, committed: Mapping[TP, int | None]) -> None:
        self._read_offset.update({tp: o if o is not None and o >= 0 else None for tp, o in committed.items()})
        self._committed_offset.update({tp: o if o else None for tp, o in committed.items() if o is not None})


async def test_a_commit_written_after_the_revoke_strands_a_partition_with_faust_seek_bookkeeping():
    """The CI report's state, reached: no next offset, no read offset, committed 16, the fetcher at 91."""
    handled, committed, state = await replay_commit_after_revoke(_FaustSeekBookkeeping)
    assert state == {"next": None, "read": None, "committed": 16, "position": UNREAD_END}
    assert handled == [] and committed is None


@pytest.mark.parametrize("run", range(3))
async def test_a_commit_written_after_the_revoke_does_not_pass_for_the_broker_commit(run):
    handled, committed, state = await replay_commit_after_revoke(SafeConsumer)
    assert state == {"next": 0, "read": None, "committed": 0, "position": 0}  # seeked to its log start (fault 9)
    assert handled == list(range(UNREAD_END)) and committed == UNREAD_END
