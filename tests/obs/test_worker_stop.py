"""The worker's stop order: the runners drain first, then Faust stops the consumer (and commits what was
acked), then telemetry flushes. No broker: Faust's own on_stop is replaced by a recorder."""

from __future__ import annotations

from types import SimpleNamespace

import faust

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
