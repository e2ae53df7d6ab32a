"""Health that can fail (streams.health): liveness, readiness and the loop heartbeat on a hand-moved clock."""

from __future__ import annotations

import pytest
from prometheus_client import REGISTRY

from streams.health import HealthMonitor


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def monitor(lags: dict[str, int] | None = None) -> tuple[HealthMonitor, Clock]:
    clock = Clock()
    m = HealthMonitor(clock, wall=lambda: 1.7e9 + clock.now, loop_stall_s=10, stall_s=180, ready_stall_s=60)
    m.lag_source = lambda: dict(lags or {})
    m.register_stage("enrich")
    m.beat(0.0)
    return m, clock


def test_a_stage_with_lag_and_no_progress_fails_liveness_and_readiness():
    lags = {"enrich": 40}
    m, clock = monitor(lags)
    assert m.liveness().ok and m.readiness(assigned=True).ok
    clock.now += 61
    m.beat(0.0)
    assert m.liveness().ok  # not yet for the kubelet
    ready = m.readiness(assigned=True)
    assert not ready.ok and "stage enrich has lag 40 and no progress for 61s" in ready.reasons
    clock.now += 120
    m.beat(0.0)
    live = m.liveness()
    assert not live.ok and live.reasons == ["stage enrich has lag 40 and no progress for 181s"]
    m.progress("enrich")  # one finished event: healthy again
    assert m.liveness().ok and m.readiness(assigned=True).ok


def test_no_lag_means_no_stall_however_long_it_is_idle():
    m, clock = monitor({"enrich": 0})
    clock.now += 10_000
    m.beat(0.0)
    assert m.liveness().ok and m.readiness(assigned=True).ok


def test_a_stage_waiting_on_purpose_stays_alive_but_not_ready():
    m, clock = monitor({"enrich": 5})
    for _ in range(4):  # a paused sender: a deferral every 60 s, nothing finished
        clock.now += 60
        m.alive("enrich")
        m.beat(0.0)
    assert m.liveness().ok
    assert not m.readiness(assigned=True).ok


def test_the_event_loop_stalling_fails_liveness():
    m, clock = monitor()
    m.beat(12.5)  # the heartbeat woke 12.5 s late: something blocked the loop
    live = m.liveness()
    assert not live.ok and live.reasons == ["event loop stalled 12.5s"]
    assert REGISTRY.get_sample_value("leadstream_event_loop_lag_seconds") == 12.5
    m.beat(0.01)
    assert m.liveness().ok
    clock.now += 11  # and a heartbeat that stopped beating at all
    assert m.liveness().reasons == ["event loop heartbeat silent for 11.0s"]


def test_readiness_wants_partitions_and_no_rebalance():
    m, _ = monitor()
    assert m.readiness(assigned=False).reasons == ["no partitions assigned"]
    assert m.readiness(assigned=True, rebalancing=True).reasons == ["rebalancing"]


def test_a_lag_source_that_raises_counts_as_no_lag():
    m, clock = monitor()

    def broken() -> dict[str, int]:
        raise RuntimeError("consumer not started")

    m.lag_source = broken
    clock.now += 1000
    m.beat(0.0)
    assert m.liveness().ok


@pytest.mark.asyncio
async def test_the_heartbeat_measures_how_late_the_loop_wakes_it():
    clock = Clock()
    m = HealthMonitor(clock, heartbeat_s=1.0, loop_stall_s=10)
    late = iter([0.0, 0.25, 15.0])

    class Done(Exception):
        pass

    async def sleep(seconds: float) -> None:
        try:
            clock.now += seconds + next(late)
        except StopIteration:
            raise Done from None

    with pytest.raises(Done):
        await m.run_heartbeat(sleep)
    assert m.loop_lag_s == 15.0
    assert not m.liveness().ok


def test_progress_sets_the_last_progress_gauge():
    m, clock = monitor()
    clock.now += 5
    m.progress("enrich")
    value = REGISTRY.get_sample_value("leadstream_stage_last_progress_timestamp_seconds", {"stage": "enrich"})
    assert value == 1.7e9 + clock.now
