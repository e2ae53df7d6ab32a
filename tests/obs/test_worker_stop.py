"""The worker's stop order: the runners drain first, then Faust stops the consumer (and commits what was
acked), then telemetry flushes. No broker: Faust's own on_stop is replaced by a recorder."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace

import faust

from agents.base import WorkerRuntime
from config import load_settings
from leadstream.faustapp import create_app


async def test_on_stop_drains_the_runners_before_faust_stops_the_consumer(monkeypatch, tmp_path):
    order: list[str] = []

    async def faust_on_stop(self) -> None:
        order.append("faust stops the consumer and commits")

    monkeypatch.setattr(faust.App, "on_stop", faust_on_stop)
    settings = load_settings(stages="dedupe", otlp_endpoint="", data_dir=tmp_path, web_enabled=False)
    app = create_app(settings)
    assert app.conf.stream_wait_empty is False  # Faust's unbounded wait would hang on an abandoned event

    async def drain() -> bool:
        order.append("runners drain")
        return True

    async def telemetry_stop() -> None:
        order.append("telemetry flushes")

    app.runtime = SimpleNamespace(drain=drain)  # type: ignore[assignment]
    app.telemetry = SimpleNamespace(stop=telemetry_stop)  # type: ignore[assignment]
    await app.on_stop()
    assert order == ["runners drain", "faust stops the consumer and commits", "telemetry flushes"]


class _Runner:
    """A runner stand-in: ordered or not, busy until released."""

    def __init__(self, ordered: bool) -> None:
        self.stage = SimpleNamespace(name="dedupe" if ordered else "enrich", ordered=ordered)
        self._released = asyncio.Event()

    async def idle(self) -> None:
        await self._released.wait()

    @property
    def is_idle(self) -> bool:
        return self._released.is_set()


async def test_a_rebalance_waits_for_the_ordered_batch_in_flight_not_for_streaming_events(tmp_path):
    """Partitions revoked: the stateful batch's table writes land before the partitions move (Faust's own
    wait is off); a streaming stage's slow event is not waited for (it is redelivered to the next owner)."""
    settings = load_settings(stages="dedupe", otlp_endpoint="", data_dir=tmp_path, web_enabled=False)
    app = create_app(settings)
    runtime = WorkerRuntime(app, settings)
    ordered, streaming = _Runner(ordered=True), _Runner(ordered=False)
    runtime.runners = [ordered, streaming]  # type: ignore[list-item]
    app.runtime = runtime

    waiting = asyncio.create_task(app._consumer_wait_empty(app.consumer, app.log))
    await asyncio.sleep(0)  # let the wait start (a scheduling step, not a timed wait)
    assert not waiting.done()  # the ordered batch is still in flight
    ordered._released.set()
    await waiting  # done although the streaming stage is still busy


async def test_the_rebalance_wait_is_bounded(tmp_path):
    settings = load_settings(stages="dedupe", otlp_endpoint="", data_dir=tmp_path, web_enabled=False)
    app = create_app(settings)
    runtime = WorkerRuntime(app, settings)
    runtime.runners = [_Runner(ordered=True)]  # type: ignore[list-item]
    assert await runtime.wait_for_ordered_batches(0) is False  # a stuck batch: go on, say so
    runtime.runners[0]._released.set()  # type: ignore[attr-defined]
    assert await runtime.wait_for_ordered_batches(0) is True
