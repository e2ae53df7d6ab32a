"""Build the Faust app from the settings and register the chosen stages."""

from __future__ import annotations

import faust
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from config import Settings


def create_app(settings: Settings, stages: list[str] | None = None) -> faust.App:
    app = faust.App(
        settings.app_id,
        broker=settings.kafka_broker,
        store=settings.store,
        datadir=str(settings.data_dir),
        topic_partitions=settings.partitions,
        topic_replication_factor=settings.replication_factor,
        topic_allow_declare=True,
        processing_guarantee="exactly_once" if settings.exactly_once else "at_least_once",
        broker_commit_interval=settings.commit_interval_s,
        producer_acks=-1,
        producer_linger_ms=5,
        table_cleanup_interval=60,
        web_enabled=settings.web_enabled,
        web_port=settings.web_port,
        web_tables_enabled=True,
        web_host="127.0.0.1",
        autodiscover=False,
        stream_buffer_maxsize=4096,
    )

    @app.page("/metrics")
    async def metrics(self, request):  # Prometheus scrape endpoint
        # aiohttp refuses a charset inside content_type; the exposition format is UTF-8 text.
        return self.bytes(generate_latest(), content_type=CONTENT_TYPE_LATEST.split(";")[0] + "; version=0.0.4")

    @app.page("/health")
    async def health(self, request):
        return self.json({"status": "ok", "stages": stages or settings.stage_list})

    @app.page("/ready")
    async def ready(self, request):
        """200 once partitions are assigned, tables recovered and streams flowing (a k8s readiness probe)."""
        consumer = app.consumer if app.producer is not None else None
        assigned = bool(consumer and consumer.assignment())
        flowing = app.flow_control.is_active() and not app.rebalancing
        status = 200 if assigned and flowing else 503
        return self.json({"ready": status == 200, "assigned": assigned, "rebalancing": app.rebalancing}, status=status)

    from agents import WorkerRuntime, register_stages

    runtime = WorkerRuntime(app, settings)
    app.leadstream_runtime = runtime  # type: ignore[attr-defined]
    register_stages(runtime, stages or settings.stage_list)
    if "email" in (stages or settings.stage_list):  # compliance endpoints live with the email stage
        from leadstream.webhooks import routes

        app.web.web_app.add_routes(routes(
            runtime.pool, unsubscribe_secret=settings.email.unsubscribe_secret,
            webhook_public_key=settings.email.webhook_public_key or None))
    return app
