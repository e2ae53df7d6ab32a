"""The worker's Kafka consumer: Faust's, with its commit bookkeeping made safe across rebalances.

The lost lead of issue #10 (``leads.scraped`` partition 11: offset 85 never handled, offsets 84 and
86 ended normally, the group's commit at the log end) comes from two faults in faust-streaming
0.15.3's `faust.transport.consumer.Consumer` that only meet when a rebalance lands while the
fetch loop (`_drain_messages`) holds a message (1 and 2); the chaos and scale-out suites found three
more (3-5). Faults 4 and 5 lose nothing but stall a partition's commits for good:

1. **A stale read offset after the seek.** The fetch loop reads a message of the old assignment,
   awaits its delivery, and only then records ``_read_offset[tp] = offset``. When a rebalance
   (revoke, assign, `perform_seek` to the committed offset C) completes inside that await — a
   commit or a flush stuck on a dead broker is enough — the old message's offset overwrites the
   seek's C. The refetch from C then drops every offset below it as already read (``DROPPED
   MESSAGE ROFF``): offset C is never delivered, never handled, never acked.
2. **An off-by-one in `_new_offset`.** Its head-of-queue gap check is ``min(acked) - committed >
   1``, so with C missing and C+1 acked it commits C+2: C is skipped for good. With no committed
   offset (a partition's first commit, or a committed 0) and between a revoke and the next seek,
   there is no check at all: it commits whatever run of acks it has. The chaos suite lost the
   first offsets of a fresh ``emails.queued`` partition that way: a stale message (fault 1) was
   acked first, its run was committed, and the worker was killed before offsets 0-2 ran.
3. **A fetch dropped across a seek, committed as a gap** (the scale-out test's loss: ``leads.scraped``
   p0 committed 22, then 74 0.9 s after the seek that gave it back; 37-72 never ran; the worker
   logged "a rebalance ran while emails.queued p4 offset 27 was being delivered" 29 ms after that
   seek). A fetch made after the newly assigned partition was positioned at its committed offset,
   but iterated before `perform_seek` returned, has one of its records held across the seek:
   `getmany` (below) then ends the fetch early, although the broker's position is already past the
   rest of it (p0 23-72).
   The next fetch starts there; Faust's fetch loop records the skipped offsets as a gap
   (``_add_gap``, its upper bound including the record that revealed it) and gaps count as acked.

4. **Records fetched and then dropped at the tail of a partition** (the chaos suite's worker-kill
   stall: ``emails.queued`` p0 committed 26, log end 39, its worker idle for minutes). Faust's
   `getmany` drops the rest of a fetched batch when the generation changes or the partition is paused
   while the batch is delivered; the broker's position is already past those records. `_in_sequence`
   notices the skip only when a later record arrives, and at the end of a campaign none does.
5. **Acks dropped before their commit** (the same scenario's other stall: ``leads.deduplicated`` p1
   committed 47, acks 52-63 waiting, 47-51 handled and acked but gone, nothing in flight). Faust's
   `_new_offset` removes the run of acks it returns before the commit is made; when that commit does
   not happen (`_commit_offsets` discards a partition missing from aiokafka's assignment mid-rebalance;
   a cancelled or failed flush), the run is lost and the head check holds the partition for good.

6. **Records delivered between the seek and the queue clear** (the worker-kill stall seen as
   ``leads.deduplicated`` p0 committed 42, acks 43-105 waiting, nothing in flight, the stage idle;
   ``leads.enriched`` p0 the same with 97-98). Faust's table recovery ends each rebalance with
   `resume_partitions` (the stream partitions), `perform_seek`, then ``app.flow_control.resume()``,
   which *empties every stream's queue* (``clear_on_resume``), then `resume_flow`. The fetch loop is
   already flowing during recovery, so what it delivers after the seek and before that clear (the
   committed offset and a few after it) is thrown away: read, never handled, never acked, and the
   next record delivered is past it. Nothing refetches it until the next rebalance.

The API benchmark's drain check (``perf/bench_api.py --verify``: two workers started on a backlog; in
4 of 22 runs the first-started one sat idle after the rebalance the second one's start caused, its
partitions lagging, flow resumed, nothing paused) found fault 9 and points at 10; faults 7 and 8 give
the same picture and are covered too, though no run has shown them:

7. **A partition the fetcher never fetches again**: aiokafka holds records of it that are never
   returned, or never issues a fetch for it (its cached high watermark is then unknown, so fault 4's
   check, which needs the position past the next offset, does not see it).
8. **A stale read offset** of any origin: Faust drops every record below it (``DROPPED MESSAGE
   ROFF``, a debug line), so the offsets from the seek up to it are never handled and the head
   check holds the commits for good.
9. **A partition without a commit is not seeked** (the API benchmark's stalled worker: 6
   ``leads.scraped`` partitions at offset 0 with 86-114 records each, the fetcher's position at the
   log end, nothing delivered). aiokafka's `seek_to_committed` seeks a partition only when its committed
   offset is above 0, so Faust's `perform_seek` leaves the others where the fetcher was. A fetch of
   the new assignment made before the seek and dropped by it (the queue clear of fault 6, a batch cut
   by the generation change) has moved that position to the log end: after the seek nothing is
   refetched, and on a fixed backlog nothing arrives after it to reveal the skip. It hits the first
   worker of a new group (no commits yet) when the second one joins.
10. **Records delivered and gone unacked** (after fault 9's fix, one more stalled run whose readiness fits
   it: the first worker's enrich input lagging 584, no partition with records past what it delivered,
   no safety-net log line). However a
   delivered record leaves its stream's queue without an ack (a queue clear this module does not
   see), its partition's commits stop at it while everything after it is handled.

11. **A seek from the wrong thread.** Faust's `seek` (ours: the stranded-partition and skip seeks, the
   log-start seek) calls aiokafka's from the app's event loop, not the consumer thread's: it deletes
   from the fetcher's records while that thread iterates them (KeyError, the fetcher crashes) and sets
   a future of the other loop. `_seek` runs it on the consumer thread.

12. **A committed offset the broker does not have** (a CI stall report, 2026-12-04: ``leads.scraped:3``
   assigned, next and read offsets unknown, committed 16, the fetcher at the high water 91, nothing read,
   delivered or in flight). Faust's `_commit_offsets` writes the offsets it committed into its committed
   offsets whatever the commit's result. A commit waiting on the broker when a rebalance starts fails (the
   group is rebalancing) and writes them after the revoke dropped the partitions' bookkeeping. Faust's
   `perform_seek` updates only the partitions the broker has a commit for, so a partition never committed
   kept that offset into its next assignment: it passed for committed, was not seeked to its log start
   (fault 9's fix skipped it) and got no offset to deliver next; a fetch dropped before the seek had left
   its position at the log end, and with no next offset neither the skip check nor the stranded check
   looked at it. A stale committed offset of any other origin (one left from an earlier assignment) takes
   the same path.

`SafeConsumer` closes them:

* after a `perform_seek` it hands nothing on until the flow control's next resume (the clear) has
  run (`_hold_until_cleared`, bounded by `CLEAR_WAIT_S` for a seek that no clear follows);

* it remembers what each `perform_seek` set, and when the fetch loop comes back from a message it
  held across a seek, it puts the seek's read offset back (`getmany`);
* it knows the offset each stream partition must deliver next (the committed one after a seek, then
  one past each record delivered); a record past it means records were skipped: they are not
  handed on, and the partition is seeked back to refetch them (`_in_sequence`). The same skip seen
  again after that seek is real (transaction markers, compaction) and goes through;
* a stream partition with records waiting on the broker (its end offset, asked of the broker, past
  the offset it must deliver next) and nothing delivered for `STRANDED_AFTER_S` while the flow runs
  is seeked to that offset (`refetch_stranded`, a timer), with a warning that names the fetcher's
  state of it: records dropped after a fetch (4) and a partition the fetcher stopped fetching (7) are
  fetched again even when nothing arrives after them. An idle partition whose committed offset was
  delivered but is neither acked nor in flight (10) is seeked back to it. The same (offset, end) seen
  again after its seek is taken as real (transaction markers) and left alone;
* a record that is the next one its partition must deliver is never dropped as already read: a read
  offset past it is stale and is put back (fault 8, counted in the warning);
* after the seek to the committed offsets it seeks each partition without a commit to its log start
  (`_seek_to_log_start`, fault 9); a partition the broker has no commit for has no committed offset,
  whatever Faust had (`_seeked_to_committed`, fault 12). The stranded check also watches an assigned stream
  partition with a commit and no next offset, from its commit (`_watch_unread`, a safety net: no path is
  known to leave one since);
* a gap never includes the record that revealed it (`_add_gap`);
* acks stay in the list until the committed offset passes them (`_new_offset`), so a commit that did
  not happen is simply made again;
* it commits offset N of a partition only when every offset from the committed one (for a
  partition never committed: its log start) up to N is acked (or a known gap); it commits nothing for a partition between its revocation and the next
  seek; acks of events from an earlier assignment (finished after the revoke) count only where
  they are contiguous with the new committed offset.

Missing offsets now hold the partition's commits (a visible stall, lag > 0) instead of being
skipped (silent loss); with fault 1 fixed they are refetched, so the stall lasts one refetch.
Tests: ``tests/core/test_consumer_bookkeeping.py`` drives Faust's real fetch loop and ack
bookkeeping through the interleaving.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Mapping
from typing import Any

from faust.transport.consumer import ensure_TP
from faust.transport.drivers.aiokafka import Consumer as AIOKafkaConsumer
from faust.types import TP, Message
from faust.utils.functional import consecutive_numbers
from mode import Service

log = logging.getLogger(__name__)

SAFETY_NET = "consumer safety net:"  # starts each warning of a fault this module repaired (benchmarks count them)


class SafeConsumer(AIOKafkaConsumer):
    """Faust's aiokafka consumer with commits that never pass an offset that was not handled.

    `wait_empty_s` bounds how long a rebalance (or a shutdown) waits for events in flight: Faust waits
    without limit, so one event in a long deferral or a store outage held every member's rebalance.
    """

    wait_empty_s: float | None = None
    STRANDED_AFTER_S = 5.0  # no delivery for this long, with the broker's position past what was delivered
    STRANDED_CHECK_S = 2.5
    CLEAR_WAIT_S = 10.0  # at most this long after a seek for the queue clear that follows it (fault 6)

    async def wait_empty(self) -> None:
        """Wait for the events in flight to be acked, at most `wait_empty_s`; the rest finish (and ack) later."""
        if self.wait_empty_s is None:
            await super().wait_empty()
            return
        try:
            await asyncio.wait_for(super().wait_empty(), self.wait_empty_s)
        except TimeoutError:
            log.info(
                "rebalance: %d event(s) still in flight after %.1f s; going on without them",
                len(self._unacked_messages),
                self.wait_empty_s,
            )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self._seek_epoch = 0
        self._seeked: dict[TP, int | None] = {}
        self._revoked: set[TP] = set()
        self._next: dict[TP, int] = {}  # the offset each stream partition must deliver next (fault 3)
        self._skipped: dict[TP, tuple[int, int]] = {}  # the last skip seen (expected, got): a second one is real
        self._moved_at: dict[TP, float] = {}  # when each stream partition last delivered or was seeked (monotonic)
        self._broker_end: dict[TP, int] = {}  # end offsets the stranded check last asked the broker for
        self._stranded_seen: dict[TP, tuple[int, int]] = {}  # (next, end) of the last stranded seek: twice is real
        self._delivering = False  # the fetch loop is handing on a record of its current batch
        self._clear_pending = False  # a seek ran; the stream queues' clear that follows it has not (fault 6)
        self._cleared = asyncio.Event()
        super().__init__(*args, **kwargs)
        self._watch_queue_clears()

    def _watch_queue_clears(self) -> None:
        """Know when ``app.flow_control.resume()`` (which empties the stream queues) has run: wrap it once."""
        flow_control = self.app.flow_control
        resume = flow_control.resume

        def resume_then_release() -> None:
            resume()
            self._clear_pending = False
            self._cleared.set()

        flow_control.resume = resume_then_release  # type: ignore[method-assign]

    async def _hold_until_cleared(self) -> None:
        """Fault 6: wait for the queue clear that follows a seek before handing a record on."""
        try:
            await asyncio.wait_for(self._cleared.wait(), self.CLEAR_WAIT_S)
        except TimeoutError:  # a seek no clear followed (the fetch loop's own, while the flow was stopped)
            log.info("no stream-queue clear %.0f s after a seek; delivering", self.CLEAR_WAIT_S)
            self._clear_pending = False

    def fetch_state(self) -> dict[str, Any]:
        """Which stream partitions the fetch loop asks for, and why not the others (readiness shows it)."""
        try:
            assigned = {tp for tp in self.assignment() if self.app.topics.acks_enabled_for(tp.topic)}
        except Exception:  # not started, or mid-rebalance
            assigned = set()
        active = set(self._active_partitions or ())
        return {
            "stream_partitions": len(assigned),
            "not_fetched": sorted(f"{tp.topic}:{tp.partition}" for tp in assigned - active),
            "paused": len(self._paused_partitions & assigned),
            "buffer_full": sorted(f"{tp.topic}:{tp.partition}" for tp in self._buffered_partitions & assigned),
            "clear_pending": self._clear_pending,
            "waiting": self._waiting_partitions(assigned),
        }

    def _waiting_partitions(self, assigned: set[TP]) -> dict[str, dict[str, Any]]:
        """Stream partitions with records past what they delivered, or idle with records not committed (the lag
        readiness counts): next to deliver, read, committed, high water, idle seconds (None: never delivered nor
        seeked), whether it counts as revoked, acks waiting for their commit, events in flight.

        The high water is the fetcher's (known once it fetched the partition) or the broker's end offset the
        stranded check last read, whichever is higher; `fetcher` is aiokafka's state of the partition.
        """
        now = time.monotonic()
        waiting: dict[str, dict[str, Any]] = {}
        for tp in sorted(assigned):
            expected = self._next.get(tp)
            try:
                fetched = self.highwater(tp)
            except Exception:  # not assigned any more
                fetched = None
            known = [h for h in (fetched, self._broker_end.get(tp)) if h is not None]
            highwater = max(known) if known else None
            if highwater is None:
                continue
            committed = self._committed_offset.get(tp)
            moved_at = self._moved_at.get(tp)
            idle_s = None if moved_at is None else now - moved_at
            waits = expected is not None and highwater > expected
            held = (committed or 0) < highwater and (idle_s is None or idle_s >= self.STRANDED_AFTER_S)
            if not waits and not held:
                continue
            waiting[f"{tp.topic}:{tp.partition}"] = {
                "next": expected,
                "read": self._read_offset.get(tp),
                "committed": committed,
                "highwater": highwater,
                "idle_s": None if idle_s is None else round(idle_s, 1),
                "revoked": tp in self._revoked,
                "acked": len(self._acked.get(tp, ())),
                "in_flight": sum(1 for m in list(self._unacked_messages) if m.tp == tp),
                "fetcher": self._fetcher_state(tp),
            }
        return waiting

    async def on_partitions_revoked(self, revoked: set[TP]) -> None:
        """Faust drops the partitions' bookkeeping; nothing of theirs is committed until the next seek."""
        self._revoked |= set(revoked)
        for tp in revoked:
            self._next.pop(tp, None)
            self._skipped.pop(tp, None)
            self._moved_at.pop(tp, None)
            self._broker_end.pop(tp, None)
            self._stranded_seen.pop(tp, None)
        await super().on_partitions_revoked(revoked)

    async def perform_seek(self) -> None:
        """Seek to the committed offsets (Faust), and remember the read offsets that set.

        A partition with no committed offset yet starts at its log start (``auto_offset_reset=earliest``):
        that is its committed offset for `_new_offset`, so its first commit too needs every offset from there,
        and it is seeked there (fault 9: aiokafka's `seek_to_committed` does not move it).
        """
        self._seeked_to_committed(await self.seek_to_committed())
        self._forget_unassigned()
        self._clear_pending = True
        self._cleared.clear()
        self._seek_started()
        self._seek_epoch += 1
        self._seeked = dict(self._read_offset)
        self._revoked -= set(self._seeked)
        fresh = [
            tp
            for tp in self._seeked
            if self._committed_offset.get(tp) is None and self.app.topics.acks_enabled_for(tp.topic)
        ]
        if fresh:
            try:
                starts = await self.earliest_offsets(*fresh)
            except Exception as exc:  # the head check falls back to Faust's for these partitions
                log.warning("could not read the log start of %d partition(s) without a commit: %r", len(fresh), exc)
                return
            for tp, start in starts.items():
                if start is not None and start >= 0:
                    self._committed_offset[tp] = start
                    self._next.setdefault(tp, start)
            await self._seek_to_log_start(starts)

    def _seeked_to_committed(self, committed: Mapping[TP, int | None]) -> None:
        """Faust's `perform_seek` bookkeeping, with the broker's answer taken whole: no commit is no committed offset.

        Faust keeps its committed offset of a partition the broker has no commit for (it updates only the
        offsets it got). That offset can be one that was never committed: `_commit_offsets` writes it after the
        commit returns, whatever the result, so a commit that fails because the group is rebalancing writes it
        after the revoke dropped the partition's bookkeeping (fault 12). The partition then passed for committed:
        no log-start seek (fault 9), no offset to deliver next, so nothing saw its records dropped.
        """
        self._read_offset.update(
            {tp: offset if offset is not None and offset >= 0 else None for tp, offset in committed.items()}
        )
        self._committed_offset.update({ensure_TP(tp): offset if offset else None for tp, offset in committed.items()})

    def _forget_unassigned(self) -> None:
        """Drop the read offsets of partitions this worker no longer has.

        Faust's read offsets are a defaultdict: its fetch loop *reading* the offset of a message that a
        rebalance took away (delivered late) adds the partition back. The next seek would then count it as
        a partition without a commit and the stranded check would watch a partition another worker owns.
        """
        try:
            assigned = set(self.assignment())
        except Exception:  # not started: nothing to compare with
            return
        for tp in [tp for tp in self._read_offset if tp not in assigned]:
            self._read_offset.pop(tp, None)

    async def _seek_to_log_start(self, starts: Mapping[TP, int | None]) -> None:
        """Fault 9: put each partition without a commit at its log start, as the seek to the committed offsets would.

        aiokafka's `seek_to_committed` seeks only partitions with a committed offset above 0; the others stay
        where their fetcher was, past whatever a dropped fetch read in this assignment.
        """
        now = time.monotonic()
        for tp, start in starts.items():
            if start is None or start < 0:
                continue
            try:
                await self._seek(tp, start)
            except Exception as exc:  # taken away by the next rebalance: its own seek places it
                log.info("could not seek %s to its log start %d: %r", tp, start, exc)
                continue
            self._read_offset[tp] = start if start else None  # what Faust's `seek` records
            self._seeked[tp] = self._read_offset[tp]
            self._moved_at[tp] = now

    async def getmany(self, timeout: float) -> AsyncIterator[tuple[TP, Message]]:
        """Faust's fetch iterator; after each message the fetch loop handed on, undo a stale read offset.

        The loop records the message's offset as read after delivering it. If a seek happened
        meanwhile, that offset belongs to the old assignment: put back what the seek set.
        """
        held_back: set[TP] = set()  # partitions that skipped offsets in this fetch: refetched after a seek back
        async for tp, message in super().getmany(timeout):
            if self._clear_pending:
                epoch = self._seek_epoch
                await self._hold_until_cleared()
                if self._seek_epoch != epoch:  # another seek meanwhile: this fetch is from before it
                    return
            if tp in held_back or not await self._in_sequence(tp, message.offset):
                held_back.add(tp)
                continue
            self._undo_stale_read_offset(tp, message.offset)
            epoch = self._seek_epoch
            self._delivering = True
            try:
                yield tp, message
            finally:
                self._delivering = False
            if self._seek_epoch == epoch and self.app.topics.acks_enabled_for(tp.topic):
                self._next[tp] = max(self._next.get(tp, 0), message.offset + 1)
                self._moved_at[tp] = time.monotonic()
            if self._seek_epoch != epoch:
                log.info(
                    "a rebalance ran while %s offset %s was being delivered; keeping the seek's read offset",
                    tp,
                    message.offset,
                )
                if tp in self._seeked:
                    self._read_offset[tp] = self._seeked[tp]
                else:
                    self._read_offset.pop(tp, None)
                # The rest of this fetch may be from before the seek; it may also be from after it (fault 3):
                # the broker's position is then past it, and `_in_sequence` seeks back for what is skipped.
                return

    def _undo_stale_read_offset(self, tp: TP, offset: int) -> None:
        """Fault 8: `offset` is what `tp` must deliver next; a read offset past it would make Faust drop it."""
        expected = self._next.get(tp)
        read = self._read_offset.get(tp)
        if expected is None or read is None or offset < expected or read <= expected:
            return
        log.warning(
            SAFETY_NET
            + " %s: read offset %d is past offset %d, the next to deliver (Faust would drop %d record(s)); putting it back",
            tp,
            read,
            expected,
            read - expected,
        )
        self._read_offset[tp] = expected - 1 if expected > 0 else None  # "last read": the one before the next

    def _seek_started(self) -> None:
        """After a seek to the committed offsets: each stream partition must deliver its committed offset next."""
        self._next = {
            tp: offset
            for tp, offset in self._read_offset.items()
            if offset is not None and self.app.topics.acks_enabled_for(tp.topic)
        }
        self._skipped.clear()
        self._stranded_seen.clear()
        now = time.monotonic()
        self._moved_at = {tp: now for tp in self._next}

    async def _seek(self, partition: TP, offset: int) -> None:
        """aiokafka's seek, run on the consumer's own thread (fault 11).

        Faust's `_seek` calls it from the app's thread, while the consumer thread's fetcher may be
        iterating the records dict the seek deletes from: a KeyError in `fetched_records` crashed the
        fetcher and the worker (CI, the fuzz test, right after a stranded-partition seek). The seek also
        wakes the fetcher through an asyncio future, which only its own loop may touch. Every other call
        into the aiokafka consumer (`seek_wait`, commits, fetches) already goes through `call_thread`.
        """
        thread = self._thread

        async def seek_on_consumer_thread() -> None:
            thread.seek(partition, offset)

        await thread.call_thread(seek_on_consumer_thread)

    async def seek(self, partition: TP, offset: int) -> None:
        """Faust's seek; the partition must deliver `offset` next."""
        await super().seek(partition, offset)
        if offset and self.app.topics.acks_enabled_for(partition.topic):
            self._next[partition] = offset
            self._moved_at[partition] = time.monotonic()

    @Service.timer(STRANDED_CHECK_S)
    async def _refetch_stranded_timer(self) -> None:
        await self.check_stranded()

    async def check_stranded(self) -> None:
        """The timer's body. A safety net must not crash the consumer service (a timer's exception stops the worker)."""
        try:
            await self.refetch_stranded()
        except Exception as exc:  # e.g. aiokafka asserting a partition that a rebalance just took away
            log.info("stranded-partition check skipped: %r", exc)

    async def refetch_stranded(self, now: float | None = None) -> list[TP]:
        """Seek each stream partition with records waiting and none delivered for a while (faults 4, 7); returns them.

        Stranded: nothing delivered for `STRANDED_AFTER_S`, and the broker's end offset (asked for the idle
        partitions only, one request) is past the offset the partition must deliver next. Never while the
        fetch loop is handing on a record (a full stream buffer holds it there), while the flow is stopped
        (a rebalance), or for a partition Faust paused. `now` is injectable (tests); the clock is monotonic.
        """
        now = time.monotonic() if now is None else now
        if self._delivering or not self.flow_active:
            return []
        try:
            assigned = set(self.assignment())
        except Exception:  # not started, or mid-rebalance: next time
            return []
        self._watch_unread(assigned, now)
        idle = {
            tp: expected
            for tp, expected in self._next.items()
            if tp in assigned
            and tp not in self._revoked
            and tp not in self._paused_partitions
            and tp not in self._buffered_partitions
            and now - self._moved_at.setdefault(tp, now) >= self.STRANDED_AFTER_S
        }
        if not idle:
            return []
        try:
            ends = await asyncio.wait_for(self.highwaters(*idle), self.STRANDED_CHECK_S * 2)
        except Exception as exc:  # a rebalance took a partition away, the broker is down or slow: next time
            log.info("stranded-partition check: no end offsets (%r)", exc)
            return []
        stranded: list[TP] = []
        for tp, expected in idle.items():
            end = ends.get(tp)
            if end is None or self._next.get(tp) != expected or tp in self._revoked:
                continue
            self._broker_end[tp] = end
            committed = self._committed_offset.get(tp)
            lost = committed is not None and committed < expected and self._lost_after_delivery(tp, committed)
            target = committed if lost and committed is not None else expected
            if end <= target or self._stranded_seen.get(tp) == (target, end):  # nothing, or seeked for it already
                continue
            self._stranded_seen[tp] = (target, end)
            log.warning(
                SAFETY_NET
                + " %s: %s, none delivered for %.0f s (next %d, committed %s, end %d; fetcher: %s); seeking to %d",
                tp,
                "delivered records vanished unacked" if lost else f"{end - expected} record(s) wait",
                now - self._moved_at[tp],
                expected,
                committed,
                end,
                self._fetcher_state(tp),
                target,
            )
            await self.seek(tp, target)
            stranded.append(tp)
        return stranded

    def _watch_unread(self, assigned: set[TP], now: float) -> None:
        """Fault 12's safety net: an assigned stream partition with a commit but no offset to deliver next is watched from it.

        Seen in CI (a stall report: `leads.scraped:3` next and read unknown, committed 16, the fetcher at the
        high water 91, nothing in flight): its committed offset was one Faust wrote for a commit that failed
        after the revoke, so the seek did not place it (`_seeked_to_committed` closes that), its fetched
        records were dropped, and without a next offset the check above never looked at it. Nothing was
        delivered since (a delivery sets the next offset), so what it must deliver next is its commit.
        """
        for tp in assigned - self._next.keys() - self._revoked:
            committed = self._committed_offset.get(tp)
            if committed is not None and self.app.topics.acks_enabled_for(tp.topic):
                self._next[tp] = committed
                self._moved_at.setdefault(tp, now)

    def _lost_after_delivery(self, tp: TP, committed: int) -> bool:
        """Fault 10: the committed offset was delivered, is not acked, and no event of `tp` is in flight: it is gone.

        Faust tracks each delivered message until its ack (a weak set: a message dropped from a stream queue
        leaves it); the head check then holds the partition's commits for good.
        """
        if committed in self._acked_index.get(tp, ()):
            return False
        return not any(message.tp == tp for message in list(self._unacked_messages))

    def _fetcher_state(self, tp: TP) -> dict[str, Any]:
        """What aiokafka's fetcher holds for `tp` (its private state, read for diagnosis only; {} if unreadable)."""
        try:
            consumer = self._thread._ensure_consumer()
            state = consumer._subscription.subscription.assignment.state_value(tp)
            fetcher = consumer._fetcher
            return {
                "position": state._position,
                "highwater": state.highwater,
                "paused": state.paused,
                "buffered": tp in fetcher._records,
                "fetch_in_flight": sorted(fetcher._in_flight),
            }
        except Exception:  # not started, not assigned, or aiokafka's internals changed
            return {}

    async def _in_sequence(self, tp: TP, offset: int) -> bool:
        """False (and a seek back) when `tp` skipped offsets: its records from a seek we raced are gone.

        A batch the broker returned after a seek but that the fetch loop iterated across the next seek
        (`getmany` returns early then) leaves the partition's position past records nobody delivered;
        Faust's fetch loop would record them as a gap, and gaps count as acked, so they were committed
        unhandled. The same skip seen twice in a row is real (transaction markers, compaction): let it through.
        """
        expected = self._next.get(tp)
        if expected is None or offset <= expected:
            return True
        if self._skipped.get(tp) == (expected, offset):
            self._skipped.pop(tp, None)
            return True
        log.info("%s skipped from offset %d to %d; seeking back to %d", tp, expected, offset, expected)
        self._skipped[tp] = (expected, offset)
        await self.seek(tp, expected)
        return False

    async def _add_gap(self, tp: TP, offset_from: int, offset_to: int) -> None:
        """Faust's gap, without the offset of the message that revealed it (that one is delivered, and acked when handled)."""
        await super()._add_gap(tp, offset_from, offset_to - 1)

    def _new_offset(self, tp: TP) -> int | None:
        """The offset to commit for `tp`: one past the run of acked offsets that starts at the committed one.

        Acks leave the list only once the committed offset is past them (the `stale` pruning below).
        """
        if tp in self._revoked:  # between a revoke and the next seek: the committed offset is unknown
            return None
        acked: list[int] = self._acked[tp]
        if not acked:
            return None
        gap = self._gap[tp]
        if gap:  # offsets the fetch loop saw skipped (compaction, transaction markers) count as acked
            max_offset = max(acked)
            covered = sorted(gap.overlap(0, max_offset + 1), key=lambda interval: interval.begin)
            if covered:
                extra = [o for interval in covered for o in range(interval.begin, interval.end)]
                acked.extend(o for o in extra if o not in self._acked_index[tp])
                self._acked_index[tp].update(extra)
                gap.chop(0, max(extra[-1], max_offset) + 1)
        acked.sort()
        committed = self._committed_offset[tp]
        if committed is not None:
            stale = [o for o in acked if o < committed]  # acks of an earlier assignment, already committed
            if stale:
                del acked[: len(stale)]
                self._acked_index[tp].difference_update(stale)
            if not acked or acked[0] != committed:  # the committed offset itself is not handled yet: wait
                return None
        # Faust removed the run here, before the commit: a commit that then did not happen (discarded for a
        # partition not in aiokafka's assignment mid-rebalance, cancelled, raised) lost those acks, and the
        # partition's commits stopped for good (fault 5). The run stays until the committed offset passes it.
        batch = next(consecutive_numbers(acked))
        return int(batch[-1]) + 1


def safe_consumer(wait_empty_s: float | None) -> type[SafeConsumer]:
    """The consumer class a transport creates (``app.transport.Consumer``), with its rebalance wait bound."""
    return type("SafeConsumer", (SafeConsumer,), {"wait_empty_s": wait_empty_s, "__module__": __name__})
