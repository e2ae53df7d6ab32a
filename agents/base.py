"""What every agent shares in one worker process: the Faust app, topics, the
PostgreSQL pool, and the loop that feeds events to the stage runner.

An agent reads its source topic and the topics it may write from
`streams.topology`; the runner refuses any other output (`StageRunner`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import faust

from config import Settings
from providers.chromium import close_shared_browser
from storage.db import Pool, create_pool
from storage.records import CoalescedRecords, LeadRecords
from streams.runner import RetryPolicy, StageRunner
from streams.stage import Stage
from streams.topology import StageTopics
from tables.batched import WriteBehind
from tables.scope import event_scope

StageBuilder = Callable[[Pool], Awaitable[Stage[Any]]]  # e.g. lambda pool: build_score(settings, pool, ...)

log = logging.getLogger(__name__)


class WorkerRuntime:
    """Per-process resources, created on first use by the first agent that needs them.

    The schema is migrated at app start (`leadstream.faustapp`), before any agent asks for the pool.
    """

    def __init__(self, app: faust.App, settings: Settings) -> None:
        self.app, self.settings = app, settings
        self._topics: dict[str, faust.TopicT] = {}
        self._pool: Pool | None = None
        self._pool_lock = asyncio.Lock()
        self._stages: list[Stage[Any]] = []
        self.runners: list[StageRunner] = []
        app.on_before_shutdown.connect(self._on_shutdown)  # type: ignore[arg-type]  # faust's stub wants `signal=`

    def topic(self, name: str) -> faust.TopicT:
        if name not in self._topics:
            self._topics[name] = self.app.topic(
                self.settings.topic_prefix + name,
                key_type=bytes,
                value_type=bytes,
                key_serializer="raw",
                value_serializer="raw",
                partitions=self.settings.partitions,
                replicas=self.settings.replication_factor,
            )
        return self._topics[name]

    async def send(self, topic: str, key: bytes | None, value: bytes, headers: dict[str, bytes]) -> Awaitable[Any]:
        """Hand a message to the producer now (not attached to the commit), return its delivery future.

        Straight to Faust's producer (its errors, e.g. ``ProducerSendError``, unchanged): `Topic.send` would wrap
        the bytes in a FutureMessage, run the raw codecs over them and call Faust's send sensors, statistics
        nothing here reads, for each of the ~5 messages a lead sends."""
        producer = await self.app.maybe_start_producer()
        return await producer.send(self.topic(topic).get_topic_name(), key, value, None, None, headers)

    async def pool(self) -> Pool:
        async with self._pool_lock:
            if self._pool is None:
                self._pool = await create_pool(self.settings.database_url, size=self.settings.db_pool_size)
        return self._pool

    async def start_stage(
        self, stage: Stage[Any], topics: StageTopics, flush_state: Sequence[Callable[[], object]] = ()
    ) -> StageRunner:
        await stage.start()
        self._stages.append(stage)
        s = self.settings
        runner = StageRunner(
            stage,
            # Ordered stages write one batch at a time; streaming stages have many events in flight, whose
            # writes and "already ended?" queries share round trips.
            LeadRecords(await self.pool()) if stage.ordered else CoalescedRecords(await self.pool()),
            self.send,
            retry=RetryPolicy(
                max_attempts=s.max_attempts,
                backoff_s=s.retry_backoff_s,
                max_circuit_wait_s=s.circuit_wait_max_s,
                dead_letter_max_bytes=s.dead_letter_max_bytes,
            ),
            concurrency=s.concurrency,
            admitted_per_slot=s.admitted_per_slot,
            event_scope=event_scope,
            sinks=topics.sinks,
            flush_state=flush_state,
        )
        self.runners.append(runner)
        return runner

    def stage_agent(
        self,
        topics: StageTopics,
        build: StageBuilder,
        name: str | None = None,
        tables: Sequence[WriteBehind] = (),
    ) -> None:
        """Register an agent that feeds `topics.source` to the stage that `build(pool)` returns.

        The stage may send only to `topics.sinks` (and its dead-letter topic). `tables`: the write-behind
        tables the stage writes, flushed at the end of each batch (`tables.batched`).
        """
        settings = self.settings
        name = name or topics.stage

        async def run(stream: Any) -> None:  # a faust Stream (StreamT's stub lacks take_events and noack)
            runner = await self.start_stage(
                await build(await self.pool()), topics, flush_state=[table.flush for table in tables]
            )
            if runner.stage.ordered:  # stateful: one event at a time, in offset order, in batches
                async for events in stream.take_events(settings.batch_size, within=settings.batch_within_s):
                    await runner.process_batch(events)
            else:  # I/O-bound: each event in flight on its own, acked when done
                manual = stream.noack()
                async for event in manual.events():
                    await runner.submit(event, manual.ack)

        run.__name__ = f"{name}_agent"
        self.app.agent(self.topic(topics.source), name=f"leadstream.{name}")(run)

    async def wait_for_ordered_batches(self, timeout_s: float) -> bool:
        """A rebalance: wait, at most `timeout_s`, for the stateful stages' batches in flight, so their table
        writes (and changelog records) land before the partitions move. Streaming stages are not waited for:
        their unacked events are redelivered to the next owner, and a slow website must not stall a rebalance
        (Faust's own `stream_wait_empty` waits without a bound, so it is off). True if all were idle in time."""
        ordered = [runner for runner in self.runners if runner.stage.ordered]
        try:
            async with asyncio.timeout(timeout_s):
                for runner in ordered:
                    await runner.idle()
            return True
        except TimeoutError:
            busy = ", ".join(r.stage.name for r in ordered if not r.is_idle)
            log.warning("rebalance: ordered batches still in flight after %.1f s (%s); going on", timeout_s, busy)
            return False

    async def drain(self) -> bool:
        """SIGTERM: events in flight finish within `shutdown_grace_s`, or are abandoned unacked (redelivered
        to the partitions' next owner). Called by the app before its consumer stops; True if all finished."""
        grace = self.settings.shutdown_grace_s
        results = await asyncio.gather(*(r.drain(grace) for r in self.runners), return_exceptions=True)
        for runner, result in zip(self.runners, results):
            log.info("%s: shutdown %s", runner.stage.name, "drained" if result is True else f"abandoned ({result!r})")
        return all(result is True for result in results)

    async def _on_shutdown(self, app: Any = None, **kwargs: Any) -> None:
        await self.drain()  # already done by the app's on_stop; here for runtimes stopped another way
        for stage in self._stages:
            with contextlib.suppress(Exception):
                await stage.stop()
        if self._pool is not None:
            with contextlib.suppress(Exception):
                await self._pool.close()
        with contextlib.suppress(Exception):  # the process's one Chromium, after its last user
            await close_shared_browser()
