"""Health that can fail: liveness and readiness from what the worker actually does.

* **Liveness** (``/health``, the kubelet restarts the pod when it fails):
  - the event loop stalls: the heartbeat (`HealthMonitor.run_heartbeat`) is
    late by more than `loop_stall_s`, or has not beaten for that long (a loop
    blocked by CPU-bound code or a deadlocked thread answers no probe either;
    this catches the loop that is back but was stuck, and a dead heartbeat);
  - a stream stops making progress while it has lag: a stage whose source
    partitions (assigned to this worker) have messages waiting has neither
    finished an event nor been visibly alive (a retry or a deferral wait) for
    `stall_s`.
* **Readiness** (``/ready``): partitions assigned, no rebalance in progress,
  and no stage with lag and no finished event for `ready_stall_s` (issue #10:
  a worker that holds partitions it does not serve is not ready).

Time comes from an injected clock (``time.monotonic`` by default) so tests
move it by hand; the lag per stage comes from `lag_source` (the Faust
consumer's highwater minus position, wired in `leadstream.faustapp`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from streams import metrics

log = logging.getLogger(__name__)

Clock = Callable[[], float]
Sleep = Callable[[float], Awaitable[None]]


@dataclass
class HealthReport:
    ok: bool
    reasons: list[str] = field(default_factory=list)
    stages: dict[str, dict[str, float]] = field(default_factory=dict)

    def as_json(self) -> dict[str, object]:
        return {"ok": self.ok, "reasons": self.reasons, "stages": self.stages}


class HealthMonitor:
    """What the probes read: the loop's heartbeat and each stage's last progress, against its lag."""

    def __init__(
        self,
        clock: Clock = time.monotonic,
        *,
        wall: Clock = time.time,
        heartbeat_s: float = 1.0,
        loop_stall_s: float = 10.0,
        stall_s: float = 180.0,
        ready_stall_s: float = 60.0,
    ) -> None:
        self.clock, self.wall = clock, wall
        self.heartbeat_s, self.loop_stall_s = heartbeat_s, loop_stall_s
        self.stall_s, self.ready_stall_s = stall_s, ready_stall_s
        self.lag_source: Callable[[], dict[str, int]] = dict  # stage -> messages waiting on its assigned partitions
        self._progress: dict[str, float] = {}
        self._alive: dict[str, float] = {}
        self._last_beat: float | None = None
        self.loop_lag_s = 0.0

    def configure(self, *, loop_stall_s: float, stall_s: float, ready_stall_s: float) -> None:
        self.loop_stall_s, self.stall_s, self.ready_stall_s = loop_stall_s, stall_s, ready_stall_s

    # ---- what the worker reports --------------------------------------------------------------
    def register_stage(self, stage: str) -> None:
        """A stage starts: it has `stall_s` to make its first progress."""
        now = self.clock()
        self._progress.setdefault(stage, now)
        self._alive.setdefault(stage, now)
        metrics.series(metrics.LAST_PROGRESS, stage).set(self.wall())

    def progress(self, stage: str) -> None:
        """`stage` finished events (recorded, sent): it is making progress."""
        now = self.clock()
        self._progress[stage] = self._alive[stage] = now
        metrics.series(metrics.LAST_PROGRESS, stage).set(self.wall())

    def alive(self, stage: str) -> None:
        """`stage` is busy on purpose (a retry, a deferral wait): alive, though not progressing."""
        self._alive[stage] = self.clock()

    def beat(self, lag_s: float) -> None:
        self._last_beat = self.clock()
        self.loop_lag_s = max(lag_s, 0.0)
        metrics.EVENT_LOOP_LAG.set(self.loop_lag_s)

    async def run_heartbeat(self, sleep: Sleep = asyncio.sleep) -> None:
        """Forever: sleep `heartbeat_s`, then record how late the loop woke us (the loop lag)."""
        self.beat(0.0)
        while True:
            expected = self.clock() + self.heartbeat_s
            await sleep(self.heartbeat_s)
            self.beat(self.clock() - expected)

    # ---- what the probes ask ------------------------------------------------------------------
    def _stage_view(self) -> tuple[dict[str, dict[str, float]], dict[str, int]]:
        try:
            lags = self.lag_source()
        except Exception as exc:  # the consumer is between states (rebalancing, stopping): no lag known
            log.debug("health: lag unavailable: %r", exc)
            lags = {}
        now = self.clock()
        view = {
            stage: {
                "lag": float(lags.get(stage, 0)),
                "since_progress_s": now - self._progress[stage],
                "since_alive_s": now - self._alive.get(stage, self._progress[stage]),
            }
            for stage in self._progress
        }
        return view, lags

    def liveness(self) -> HealthReport:
        reasons = []
        now = self.clock()
        if self._last_beat is not None:
            silent = now - self._last_beat
            if silent > self.loop_stall_s:
                reasons.append(f"event loop heartbeat silent for {silent:.1f}s")
            elif self.loop_lag_s > self.loop_stall_s:
                reasons.append(f"event loop stalled {self.loop_lag_s:.1f}s")
        view, _ = self._stage_view()
        for stage, v in view.items():
            if v["lag"] > 0 and min(v["since_progress_s"], v["since_alive_s"]) > self.stall_s:
                reasons.append(f"stage {stage} has lag {v['lag']:.0f} and no progress for {v['since_progress_s']:.0f}s")
        return HealthReport(not reasons, reasons, view)

    def readiness(self, *, assigned: bool, rebalancing: bool = False) -> HealthReport:
        reasons = []
        if not assigned:
            reasons.append("no partitions assigned")
        if rebalancing:
            reasons.append("rebalancing")
        view, _ = self._stage_view()
        for stage, v in view.items():
            if v["lag"] > 0 and v["since_progress_s"] > self.ready_stall_s:
                reasons.append(f"stage {stage} has lag {v['lag']:.0f} and no progress for {v['since_progress_s']:.0f}s")
        return HealthReport(not reasons, reasons, view)


MONITOR = HealthMonitor()  # the worker process's monitor (runners report to it; the web routes read it)


async def start_heartbeat(monitor: HealthMonitor = MONITOR) -> asyncio.Task[None]:
    return asyncio.create_task(monitor.run_heartbeat(), name="leadstream-loop-heartbeat")


async def stop_task(task: asyncio.Task[None] | None) -> None:
    if task is not None:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
