"""The chaos suite's pipeline, fault clock and ONE verifier.

`ChaosPipeline` is the demo's pipeline (`leadstream.demo.Demo`: simulator, schema, worker
processes) on the real 3-broker cluster (RF 3, ``min.insync.replicas=2``, ``acks=all``), with
several main workers that a scenario can ``kill -9`` and restart one by one, and its own
PostgreSQL / Redis when a scenario restarts them.

`Progress` measures recovery: from a fault until every partition that had work waiting at that
moment has committed past where it stood (the stall a kill causes on the partitions it held; the
first commit after the fault is enough, not the whole backlog). Beside it, the longest time any of
those partitions had work waiting and its commits did not move (`Progress.no_progress_s`): it
also sees a partition that committed once and stalled again (a second kill in the same cycle).

`verify` is the verifier every scenario ends with:
  * every pushed lead has exactly one terminal state (none lost; a lead with a dead letter is
    ``dead_lettered``, never also another outcome);
  * no email idempotency key and no recipient was sent twice (the simulator's SendGrid log), and every
    lead whose email went out is ``emailed`` (`Outbox.sent_not_emailed`);
  * dead letters reconcile with their causes (their error types are the scenario's expected
    ones, malformed leads are ``InvalidMessage``, every dead-lettered lead has its row);
  * it returns the figures, and prints one ``CHAOS`` line per scenario.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from leadstream.demo import Demo, DemoOptions
from leadstream.embedded import EmbeddedServices, free_port, wait_for_http
from storage.db import create_pool, isolated_url, migrate
from storage.outbox import Outbox
from streams.admin import bootstrap_servers, ensure_topics
from streams.topology import TOPOLOGY

MAIN_STAGES = "scrape,enrich,dedupe,score,email"


@dataclass
class Figures:
    scenario: str
    leads: int = 0
    lost: int = 0
    double_terminal: int = 0
    sent_twice: int = 0
    recipients_twice: int = 0
    dead_letters: dict[str, int] = field(default_factory=dict)
    recovery_s: list[float] = field(default_factory=list)
    no_progress_s: list[float] = field(default_factory=list)  # `Progress.no_progress_s`, when measured
    problems: list[str] = field(default_factory=list)

    def line(self) -> str:
        recovery = ",".join(f"{s:.1f}" for s in self.recovery_s) or "-"
        idle = f" no_progress_s=[{','.join(f'{s:.1f}' for s in self.no_progress_s)}]" if self.no_progress_s else ""
        return (
            f"CHAOS {self.scenario}: leads={self.leads} lost={self.lost} double_terminal={self.double_terminal} "
            f"sent_twice={self.sent_twice} recipients_twice={self.recipients_twice} "
            f"dead_letters={sum(self.dead_letters.values())} {self.dead_letters} recovery_s=[{recovery}]{idle}"
        )


class ChaosPipeline(Demo):
    """The demo pipeline on the cluster, with `main_workers` main worker processes and one mockup worker."""

    def __init__(
        self,
        name: str,
        *,
        broker: str,
        database_url: str,
        redis_url: str,
        leads: int,
        seed: int = 10,
        partitions: int = 6,
        main_workers: int = 2,
        replication: int = 3,
        timeout_s: float = 180.0,
        extra_env: dict[str, str] | None = None,
        workdir: Path | None = None,
        static_membership: bool = False,
        verbose: bool = True,
        worker_loglevel: str = "warning",
    ) -> None:
        super().__init__(
            DemoOptions(leads=leads, seed=seed, partitions=partitions, timeout_s=timeout_s, workdir=workdir)
        )
        self.services = EmbeddedServices(kafka_broker=broker, database_url=database_url)
        if workdir:
            self.services.workdir = workdir
        self.name = name
        self.redis_url = redis_url
        self.replication = replication
        self.extra_env = extra_env or {}
        self.names = [f"main-{n}" for n in range(1, main_workers + 1)] + ["mockup"]
        self.static_membership = static_membership
        self.worker_loglevel = worker_loglevel
        self._last_progress = 0.0
        if verbose:
            self.on_progress = self._print_progress

    def _print_progress(self, snap: Any, elapsed: float) -> None:
        if time.monotonic() - self._last_progress > 10:
            self._last_progress = time.monotonic()
            print(
                f"  [{self.name}] {elapsed:.0f}s terminal={snap.terminal} in_flight={snap.in_flight} lag={snap.lag}",
                flush=True,
            )

    async def start(self, sim_config: Any = None) -> None:
        from simulator.app import start_simulator
        from simulator.core import SimConfig, Simulator
        from simulator.dns import start_dns

        self.services.start()
        self.sim = Simulator(sim_config or SimConfig(seed=self.options.seed))
        self.sim_runner, self.sim_url = await start_simulator(self.sim)
        self.sim_dns, self.sim_dns_address = await start_dns(self.sim)
        assert self.services.database_url and self.services.kafka_broker
        schema = f"chaos_{self.run_id}"
        # a schema of its own; a database of its own through PgBouncer (search_path would not hold)
        self.database_url = await isolated_url(
            self.services.database_url, schema, os.environ.get("LEADSTREAM_DATABASE_ADMIN_URL") or None
        )
        self.pool = await create_pool(self.database_url, size=4)
        await migrate(self.pool)
        self.env = self._worker_env(self.sim_url)
        self.env.update(
            {
                "LEADSTREAM_APP_ID": f"chaos-{self.name}-{self.run_id}",
                "LEADSTREAM_TOPIC_PREFIX": f"chaos-{self.run_id}.",
                "LEADSTREAM_REDIS_URL": self.redis_url,
                "LEADSTREAM_REPLICATION_FACTOR": str(self.replication),
                "LEADSTREAM_EMAIL__UNSUBSCRIBE_SECRET": secrets.token_urlsafe(32),
                **self.extra_env,
            }
        )
        await ensure_topics(
            self.env["LEADSTREAM_KAFKA_BROKER"],
            partitions=self.options.partitions,
            replication=self.replication,
            prefix=self.env["LEADSTREAM_TOPIC_PREFIX"],
        )
        for name in self.names:
            self._start_worker(name)
        for name in self.names:
            await self.wait_ready(name)

    async def wait_ready(self, name: str, timeout_s: float = 180) -> None:
        url = f"http://127.0.0.1:{self.group_env[name]['LEADSTREAM_WEB_PORT']}/ready"
        try:
            await wait_for_http(url, timeout_s=timeout_s, ok_below=300)
        except TimeoutError as exc:  # say why: the worker's own readiness answer (assignment, flow, stages)
            try:
                async with httpx.AsyncClient(timeout=5) as client:
                    answer = (await client.get(url)).text[:2000]
            except httpx.HTTPError as err:
                answer = repr(err)
            raise TimeoutError(f"worker {name} not ready within {timeout_s}s; /ready says: {answer}") from exc

    def _start_worker(self, group: str) -> None:
        name = group
        if name not in self.group_env:
            mockup = name == "mockup"
            self.group_env[name] = {
                **self.env,
                "LEADSTREAM_STAGES": "mockup" if mockup else MAIN_STAGES,
                "LEADSTREAM_APP_ID": self.env["LEADSTREAM_APP_ID"] + ("-mockup" if mockup else ""),
                "LEADSTREAM_WEB_PORT": str(free_port()),
                "LEADSTREAM_DATA_DIR": str(self.services.workdir / f"worker-{name}"),
                "LEADSTREAM_BLOB_DIR": str(self.services.workdir / "blobs"),
            }
            if self.static_membership:
                self.group_env[name]["LEADSTREAM_GROUP_INSTANCE_ID"] = f"{self.run_id}-{name}"
        log_path = self.services.workdir / f"worker-{name}.log"
        self.worker_logs[name] = log_path
        self.workers[name] = subprocess.Popen(
            [sys.executable, "-m", "leadstream", "worker", "--loglevel", self.worker_loglevel],
            env=self.group_env[name],
            stdout=open(log_path, "ab"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def kill(self, name: str) -> None:
        """``kill -9`` the worker's whole process group (no shutdown, no final commit)."""
        proc = self.workers[name]
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()

    def restart(self, name: str) -> None:
        self._start_worker(name)

    def stage_groups(self) -> dict[str, str]:
        main, mockup = self.group_env["main-1"]["LEADSTREAM_APP_ID"], self.group_env["mockup"]["LEADSTREAM_APP_ID"]
        return {stage: mockup if stage == "mockup" else main for stage in TOPOLOGY}

    async def diagnose(self, progress: Progress, missing: list[str]) -> str:
        """What a run that did not drain looks like: partitions behind, each worker's readiness, the leads' last stage.

        Printed by the scenario before the verifier fails, so a stall explains itself in the CI log.
        """
        import httpx

        lines = ["DIAGNOSIS (the pipeline did not drain):"]
        try:
            snap = await progress.snapshot()
            behind = {tp: ce for tp, ce in snap.items() if ce[1] > ce[0]}
            lines += [f"  {tp.topic} p{tp.partition}: committed {c}, end {e}" for tp, (c, e) in sorted(behind.items())]
        except Exception as exc:
            lines.append(f"  offsets unavailable: {exc!r}")
        async with httpx.AsyncClient(timeout=3) as client:
            for name in self.group_env:
                if self.workers[name].poll() is not None:
                    lines.append(f"  {name}: exited {self.workers[name].returncode}")
                    continue
                try:
                    ready = (await client.get(f"{self.web_url(name)}/ready")).json()
                    lines.append(f"  {name}: ready={ready.get('ready')} reasons={ready.get('reasons')}")
                except Exception as exc:
                    lines.append(f"  {name}: /ready unavailable: {exc!r}")
        if missing:
            rows = await self.pool.fetch(
                "SELECT DISTINCT ON (lead_id) lead_id, stage FROM lead_stages WHERE lead_id = ANY($1)"
                " ORDER BY lead_id, at DESC",
                missing[:20],
            )
            last = {r["lead_id"]: r["stage"] for r in rows}
            lines += [f"  lead {lead_id}: last stage {last.get(lead_id, '-')}" for lead_id in missing[:20]]
        text = "\n".join(lines)
        print(text, flush=True)
        return text

    def crashed(self) -> list[str]:
        """Workers that exited on their own (a crash), with the tail of their log."""
        return [
            f"{name} exited {proc.returncode}: {self.worker_logs[name].read_text(errors='replace')[-2000:]}"
            for name, proc in self.workers.items()
            if proc.poll() is not None
        ]


class _Stretches:
    """Per partition with work waiting at a fault: the longest stretch, from the fault on, with work waiting and
    its committed offset unchanged (seconds after the fault; a stretch ends at a commit or with nothing waiting)."""

    def __init__(self, fault_at: float, committed: dict[TopicPartition, int]) -> None:
        self.fault_at = fault_at
        self.last = dict(committed)  # committed offset at the last poll
        self.moved = dict.fromkeys(committed, 0.0)  # when it last committed or had nothing waiting
        self.longest = dict.fromkeys(committed, 0.0)
        self.unsettled: set[TopicPartition] = set()  # still in a stretch when the stall figure was reached

    def observe(self, snap: dict[TopicPartition, tuple[int, int]], now: float) -> None:
        for tp, last in self.last.items():
            committed, end = snap[tp]
            if committed != last or end <= committed:  # progress, or nothing left to do
                self.longest[tp] = max(self.longest[tp], now - self.moved[tp])
                self.moved[tp], self.last[tp] = now, committed
                self.unsettled.discard(tp)

    def close(self, now: float) -> float:
        for tp in self.unsettled:
            self.longest[tp] = max(self.longest[tp], now - self.moved[tp])
        self.unsettled = set()
        return round(max(self.longest.values(), default=0.0), 1)

    def longest_partition(self, prefix: str) -> str:
        if not self.longest:
            return "-"
        tp = max(self.longest, key=lambda t: self.longest[t])
        return f"{tp.topic.removeprefix(prefix)} p{tp.partition}"


class Progress:
    """Committed and end offsets of the pipeline's groups on every stage's source topic."""

    def __init__(self, pipeline: ChaosPipeline) -> None:
        servers = bootstrap_servers(pipeline.env["LEADSTREAM_KAFKA_BROKER"])
        self.prefix = pipeline.env["LEADSTREAM_TOPIC_PREFIX"]
        self.groups = {self.prefix + t.source: group for t, group in _sources(pipeline)}
        self.admin = AIOKafkaAdminClient(bootstrap_servers=servers, request_timeout_ms=5000)
        self.consumer = AIOKafkaConsumer(bootstrap_servers=servers, enable_auto_commit=False, request_timeout_ms=5000)
        self.partitions = [TopicPartition(t, p) for t in self.groups for p in range(pipeline.options.partitions)]
        # of the last `stall_s`: seconds from the fault until each partition that had work waiting committed past it
        self.cleared: dict[TopicPartition, float] = {}
        self.waiting_at_fault = 0  # partitions with work waiting at the last fault (0: nothing to measure)
        # of the last `stall_s`: per waiting partition, its longest time with work waiting and no commit
        self.longest_idle: dict[TopicPartition, float] = {}
        self.no_progress_s: list[float] = []  # per `stall_s` call, once its watch ended: the longest of those
        self.no_progress_where: list[str] = []  # ... and which partition it was
        self._stretches: _Stretches | None = None
        self._watcher: asyncio.Task[None] | None = None

    async def __aenter__(self) -> Progress:
        await self.admin.start()
        await self.consumer.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        self._end_watch()
        # aiokafka's coordinator may still be joining when a scenario ends at once: its stop cancels that
        with contextlib.suppress(Exception, asyncio.CancelledError):
            await self.consumer.stop()
        with contextlib.suppress(Exception):
            await self.admin.close()

    async def snapshot(self) -> dict[TopicPartition, tuple[int, int]]:
        """(committed, end) per partition; raises while the cluster cannot answer."""
        ends = await self.consumer.end_offsets(self.partitions)
        committed: dict[TopicPartition, int] = {}
        for group in set(self.groups.values()):
            mine = [tp for tp in self.partitions if self.groups[tp.topic] == group]
            for tp, meta in (await self.admin.list_consumer_group_offsets(group, partitions=mine)).items():
                committed[tp] = meta.offset if meta is not None and meta.offset >= 0 else 0
        return {tp: (committed.get(tp, 0), ends[tp]) for tp in self.partitions}

    async def stall_s(self, fault_at: float, limit_s: float = 150.0) -> float:
        """Seconds from `fault_at` until every partition with work waiting at that moment committed past it.

        The longest time one of those partitions had work waiting while its committed offset did not move,
        from the fault on, goes to `no_progress_s` (`_Stretches`): a partition still in such a stretch when
        this returns is watched in the background until its next commit (or until it has nothing waiting),
        so this returns when it always did; the next call, or `settle`, ends that watch.

        Polling with a deadline (external state); the figures are wall time by nature: they are what we measure.
        """
        self._end_watch()
        base = await self._snapshot_retrying(fault_at + limit_s)
        waiting = {tp for tp, (committed, end) in base.items() if end > committed}
        self.cleared, self.waiting_at_fault = {}, len(waiting)
        stretches = _Stretches(fault_at, {tp: base[tp][0] for tp in waiting})
        self.longest_idle = stretches.longest
        polled = 0.0
        while waiting and time.monotonic() < fault_at + limit_s:
            await asyncio.sleep(0.5)
            try:
                snap = await self.snapshot()
            except Exception:  # the cluster is still sorting itself out
                continue
            polled = time.monotonic() - fault_at
            stretches.observe(snap, polled)
            still = {tp for tp in waiting if snap[tp][0] <= base[tp][0] and snap[tp][1] > snap[tp][0]}
            self.cleared.update({tp: time.monotonic() - fault_at for tp in waiting - still})
            waiting = still
        stall = time.monotonic() - fault_at
        stretches.unsettled = {tp for tp, at in stretches.moved.items() if at < polled or not polled}
        self._stretches = stretches
        self._watcher = asyncio.create_task(self._watch(stretches, fault_at + limit_s))
        return stall

    async def _watch(self, stretches: _Stretches, deadline: float) -> None:
        while stretches.unsettled and time.monotonic() < deadline:
            await asyncio.sleep(0.5)
            try:
                snap = await self.snapshot()
            except Exception:
                continue
            stretches.observe(snap, time.monotonic() - stretches.fault_at)

    def _end_watch(self) -> None:
        """End the last `stall_s`'s watch: a stretch still open counts up to now."""
        if self._watcher is not None:
            self._watcher.cancel()
        if self._stretches is not None:
            self.no_progress_s.append(self._stretches.close(time.monotonic() - self._stretches.fault_at))
            self.no_progress_where.append(self._stretches.longest_partition(self.prefix))
        self._stretches = self._watcher = None

    async def settle(self) -> list[float]:
        """Let the last `stall_s`'s watch end on its own (every stretch closed, or its limit); `no_progress_s`."""
        if self._watcher is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await self._watcher
        self._end_watch()
        return self.no_progress_s

    async def _snapshot_retrying(self, deadline: float) -> dict[TopicPartition, tuple[int, int]]:
        while True:
            try:
                return await self.snapshot()
            except Exception:
                if time.monotonic() > deadline:
                    raise
                await asyncio.sleep(0.5)


def _sources(pipeline: ChaosPipeline) -> list[tuple[Any, str]]:
    groups = pipeline.stage_groups()
    return [(topics, groups[stage]) for stage, topics in TOPOLOGY.items()]


async def verify(
    pipeline: ChaosPipeline,
    generated: list[Any],
    *,
    scenario: str,
    recovery_s: list[float],
    expected_errors: set[str],
    no_progress_s: list[float] | None = None,
) -> Figures:
    """The one verifier (module docstring). Returns the figures; `problems` lists every violation."""
    from simulator import sendgrid as sim_sendgrid

    ids = [g.lead_id for g in generated]
    pool = pipeline.pool
    figures = Figures(scenario=scenario, leads=len(ids), recovery_s=recovery_s, no_progress_s=no_progress_s or [])
    states = {r["lead_id"]: r["state"] for r in await pool.fetch("SELECT lead_id, state FROM leads")}
    figures.lost = sum(1 for lead_id in ids if states.get(lead_id) is None)
    letters = await pool.fetch("SELECT lead_id, stage, error_type, reason FROM dead_letters")
    for row in letters:
        key = f"{row['stage']}:{row['error_type']}"
        figures.dead_letters[key] = figures.dead_letters.get(key, 0) + 1
        if row["error_type"] not in expected_errors:
            figures.problems.append(f"unexpected dead letter {key} ({row['lead_id']}): {row['reason'][:200]}")
        if not row["reason"]:
            figures.problems.append(f"dead letter without a reason: {key} ({row['lead_id']})")
    lettered = {row["lead_id"] for row in letters if row["lead_id"]}
    double = [lead_id for lead_id in lettered & set(ids) if states.get(lead_id) not in (None, "dead_lettered")]
    figures.double_terminal = len(double)
    unlettered = [lead_id for lead_id, state in states.items() if state == "dead_lettered" and lead_id not in lettered]
    if unlettered:
        figures.problems.append(f"dead_lettered leads without a dead letter: {unlettered[:5]}")
    malformed = [g.lead_id for g in generated if not g.expected_valid]
    wrong = [
        lead_id
        for lead_id in malformed
        if states.get(lead_id) != "dead_lettered"
        and not any(r["lead_id"] == lead_id and r["error_type"] == "InvalidMessage" for r in letters)
    ]
    if wrong:
        figures.problems.append(f"malformed leads not dead-lettered as InvalidMessage: {wrong[:5]}")
    emails = sim_sendgrid.summary(pipeline.sim)
    figures.sent_twice = len(emails["duplicate_keys"])
    figures.recipients_twice = sum(1 for n in emails["by_recipient"].values() if n > 1)
    if figures.lost:
        missing = [lead_id for lead_id in ids if states.get(lead_id) is None][:10]
        figures.problems.append(f"{figures.lost} lead(s) without a terminal state, e.g. {missing}")
    if double:
        figures.problems.append(f"leads with a dead letter and another terminal state: {double[:5]}")
    if figures.sent_twice or figures.recipients_twice:
        figures.problems.append(
            f"sent twice: keys {emails['duplicate_keys'][:5]}, recipients {figures.recipients_twice}"
        )
    disagree = await Outbox(pool).sent_not_emailed()
    if disagree:
        figures.problems.append(f"emails sent to leads whose record says otherwise: {list(disagree.items())[:5]}")
    figures.problems.extend(pipeline.crashed())
    print("\n" + figures.line(), flush=True)
    return figures
