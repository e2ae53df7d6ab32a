"""The one way a worker starts: build the Faust app from the settings, register the chosen stages,
and prepare what they need when the app starts.

`faust -A app worker` and `leadstream worker` both run `create_app`, and the app
itself, before any agent consumes (`LeadstreamApp.on_first_start`):

1. refuses to start when the score stage runs with invalid rules (FILE:LINE problems);
2. applies pending SQL migrations;
3. creates missing topics and the table changelogs, and waits for their partitions
   (`streams.admin.ensure_topics`).

Health: ``/health`` (liveness) fails when the event loop stalls or a stage with lag stops making
progress; ``/ready`` also wants partitions assigned and no stalled stage (`streams.health`).
On SIGTERM the app drains its runners first (`LEADSTREAM_SHUTDOWN_GRACE_S`), then Faust stops the
consumer and commits what was acked. Metrics, traces and the heartbeat: `leadstream.telemetry`.

Web: the internal surface (Faust's server: tables, /metrics, /health, /ready)
and the public one (unsubscribe, SendGrid webhook) are separate servers; see
`leadstream.websurface`.
"""

from __future__ import annotations

import importlib.util
import logging
import socket
from typing import Any

import faust
from faust.tables import TableManager
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from agents import WorkerRuntime, register_stages
from config import Settings, check_worker_settings
from config.redact import install_log_redaction
from leadstream.telemetry import WorkerTelemetry
from leadstream.websurface import PublicSite, bearer_token_required
from stages.score.rules import RulesError, load_rules
from storage.db import create_pool, migrate
from streams.admin import ensure_topics
from streams.consumer import safe_consumer
from streams.health import MONITOR
from streams.incarnation import claim_data_dir
from streams.membership import MemberFile, leave_for_predecessor
from tables import DEDUPE_STATE, SCORE_COUNTERS
from tables.views import register_table_views

log = logging.getLogger(__name__)

TABLES_OF_STAGE = {"dedupe": DEDUPE_STATE, "score": SCORE_COUNTERS}
TABLE_NAMES = frozenset(TABLES_OF_STAGE.values())


async def _log_assignment(app: Any, assigned: Any = None, **kwargs: Any) -> None:
    """One line per rebalance naming what this worker now consumes (operators, and the scale-out test, read it)."""
    by_topic: dict[str, list[int]] = {}
    for tp in assigned or ():
        by_topic.setdefault(tp.topic, []).append(tp.partition)
    summary = " ".join(f"{topic}={sorted(parts)}" for topic, parts in sorted(by_topic.items()))
    log.info("partitions assigned (%d): %s", sum(len(p) for p in by_topic.values()), summary)


def worker_consumer(
    consumer: type[Any], fetch_max_wait_ms: int, fetch_min_bytes: int = 1, member_file: MemberFile | None = None
) -> type[Any]:
    """`consumer` (a Faust aiokafka consumer class) whose aiokafka consumer long-polls `fetch_max_wait_ms`
    and asks for at least `fetch_min_bytes` per fetch, and which records its group member id in
    `member_file` at each assignment (dynamic membership: the next start leaves the group for it,
    `streams.membership`).

    Faust builds the worker's aiokafka consumer with ``fetch_max_wait_ms=1500`` and no setting. A broker
    answers one connection's requests in order, so every list-offsets or offset request of the table
    recovery and the seek that follows a rebalance waited behind an idle fetch: 1.5 s per step, 2-10 s
    per rebalance (docs/operating.md, "Recovery"). Set before the consumer starts (it builds its fetcher then).
    """
    from faust.transport.drivers.aiokafka import AIOKafkaConsumerThread

    class ConsumerThread(AIOKafkaConsumerThread):
        def _create_worker_consumer(self, transport: Any) -> Any:
            worker_consumer = super()._create_worker_consumer(transport)
            for name in ("_fetch_max_wait_ms", "_fetch_min_bytes"):
                if not hasattr(worker_consumer, name):  # aiokafka renamed it: fail, not ignore
                    raise RuntimeError(f"aiokafka.AIOKafkaConsumer has no {name} to set")
            worker_consumer._fetch_max_wait_ms = fetch_max_wait_ms
            worker_consumer._fetch_min_bytes = fetch_min_bytes
            return worker_consumer

        async def on_partitions_assigned(self, assigned: Any, generation_id: int = 0) -> None:
            if member_file is not None:
                member_file.write(self._ensure_consumer()._coordinator.member_id)
            await super().on_partitions_assigned(assigned, generation_id)

    def _new_consumer_thread(self: Any) -> AIOKafkaConsumerThread:
        return ConsumerThread(self, loop=self.loop, beacon=self.beacon)

    return type(
        consumer.__name__,
        (consumer,),
        {"_new_consumer_thread": _new_consumer_thread, "__module__": consumer.__module__},
    )


class PromptTableManager(TableManager):  # type: ignore[misc]  # faust's class is untyped here
    """Faust's table manager, without the fixed 1 s sleep its start begins with (before it registers the
    tables' changelogs and starts recovery, which the consumer's subscription waits for). Every table is
    declared in `create_app`, before the app starts (`add` raises after that), so there is nothing to wait
    for, and each worker start, a restart after a kill included, joins its group 1 s sooner."""

    async def on_start(self) -> None:
        if not self.should_stop:
            await self._update_channels()
            await self.recovery.start()


def _flow_state(app: Any, consumer: Any) -> dict[str, Any]:
    """What decides whether records flow: the consumer's flow flag, the streams' flow control and the recovery
    (a worker whose flow stays stopped after its recovery ended fetches nothing; readiness shows it)."""
    recovery = getattr(app.tables, "recovery", None) if app.producer is not None else None
    return {
        "consumer_flow_active": bool(consumer and consumer.flow_active),
        "streams_flow_active": app.flow_control.is_active(),
        "recovery_completed": bool(recovery and recovery.completed.is_set()),
        "recovery_in_progress": bool(recovery and recovery.in_recovery),
        "generation": app.consumer_generation_id,
        **(consumer.fetch_state() if consumer is not None and hasattr(consumer, "fetch_state") else {}),
    }


async def prepare_start(settings: Settings) -> None:
    """What must hold before a worker consumes: valid rules, a migrated schema, topics and changelogs."""
    if "score" in settings.stages:
        try:
            load_rules(settings.rules_file)
        except RulesError as exc:
            log.error("refusing to start: invalid rules\n%s", exc)
            raise
    pool = await create_pool(settings.database_url, size=1)
    try:
        applied = await migrate(pool)
        # Before any event: this process's id goes into its data directory, and the process there before it,
        # which has ended, is recorded so, so its pending email keys are reconciled at once (streams.incarnation).
        await claim_data_dir(settings.data_dir, pool)
    finally:
        await pool.close()
    if applied:
        log.info("applied migrations: %s", ", ".join(applied))
    tables = tuple(table for stage, table in TABLES_OF_STAGE.items() if stage in settings.stages)
    created = await ensure_topics(
        settings.kafka_broker,
        partitions=settings.partitions,
        replication=settings.replication_factor,
        prefix=settings.topic_prefix,
        app_id=settings.app_id,
        tables=tables,
    )
    if created:
        log.info("created topics: %s", ", ".join(created))
    # Last, just before the consumer joins: a dynamic member's previous process, killed without leaving, is
    # dropped from the group now instead of a session timeout later (streams.membership).
    if not settings.group_instance_id and (previous := MemberFile(settings.data_dir, settings.app_id).read()):
        await leave_for_predecessor(settings.kafka_broker, settings.app_id, previous)


def advertised_web_host(settings: Settings) -> str:
    """The host in this worker's canonical URL (`LEADSTREAM_WEB_HOST`); by default the address it binds, or
    this machine's name when it binds every address. Peers forward table requests there."""
    if settings.web_host:
        return settings.web_host
    if settings.web_bind not in ("", "0.0.0.0", "::"):
        return settings.web_bind
    return socket.gethostname()


class LeadstreamApp(faust.App):
    """A Faust app that prepares its start (`prepare_start`) before its consumer and agents start,
    and runs the public web surface (`leadstream.websurface.PublicSite`) when it has one."""

    def __init__(self, settings: Settings, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.leadstream_settings = settings
        self.public_site: PublicSite | None = None
        self.runtime: WorkerRuntime | None = None
        self.telemetry: WorkerTelemetry | None = None

    async def on_first_start(self) -> None:
        await super().on_first_start()
        await prepare_start(self.leadstream_settings)

    async def on_started(self) -> None:
        await super().on_started()
        if self.telemetry is not None:
            await self.telemetry.start()
        if self.public_site is not None:
            await self.public_site.start()

    async def _consumer_wait_empty(self, consumer: Any, logger: Any) -> None:
        """Faust calls this when partitions are revoked (and when its fetcher stops), before it flushes the
        producer: wait, bounded by half the rebalance timeout, for the stateful stages' batches in flight
        (`WorkerRuntime.wait_for_ordered_batches`) instead of Faust's unbounded `consumer.wait_empty()`."""
        if self.runtime is not None:
            await self.runtime.wait_for_ordered_batches(self.leadstream_settings.rebalance_timeout_s / 2)

    async def on_stop(self) -> None:
        if self.public_site is not None:
            await self.public_site.stop()
        if self.runtime is not None:  # before Faust stops the consumer: it then commits what was acked
            await self.runtime.drain()
        await super().on_stop()
        if self.telemetry is not None:
            await self.telemetry.stop()


def use_event_loop(settings: Settings) -> None:
    """Make `settings.event_loop` the kind of every event loop made from now on: the worker's and its Kafka
    consumer thread's. Call before any loop exists, as both start paths do (`leadstream worker`, and app.py for
    `faust -A app worker`). Without the uvloop package, `create_app` refuses to start and says why."""
    if settings.event_loop == "uvloop" and importlib.util.find_spec("uvloop") is not None:
        import mode.loop

        mode.loop.use("uvloop")


def create_app(settings: Settings) -> LeadstreamApp:
    """The worker's app; raises `SettingsError` for settings no worker may run with (`check_worker_settings`)."""
    check_worker_settings(settings)
    install_log_redaction()  # no credential in any log line (config.redact)
    app = LeadstreamApp(
        settings,
        settings.app_id,
        broker=settings.kafka_broker,
        store=settings.store,
        datadir=str(settings.data_dir),
        topic_partitions=settings.partitions,
        topic_replication_factor=settings.replication_factor,
        topic_allow_declare=True,
        processing_guarantee="exactly_once" if settings.exactly_once else "at_least_once",
        broker_commit_interval=settings.commit_interval_s,
        broker_session_timeout=settings.session_timeout_s,
        broker_heartbeat_interval=settings.heartbeat_interval_s,
        broker_rebalance_timeout=settings.rebalance_timeout_s,
        consumer_group_instance_id=settings.group_instance_id or None,
        producer_acks=-1,
        producer_linger_ms=settings.producer_linger_ms,
        table_cleanup_interval=60,
        table_standby_replicas=settings.table_standby_replicas,
        web_enabled=settings.web_enabled,
        web_port=settings.web_port,
        web_tables_enabled=False,  # ours route by partition (tables.views)
        web_host=advertised_web_host(settings),  # how peers reach this worker's table partitions
        web_bind=settings.web_bind,  # internal surface: loopback unless a token guards it (websurface)
        autodiscover=False,
        stream_buffer_maxsize=4096,
        # Shutdown waits for events in flight in `WorkerRuntime.drain`, bounded by LEADSTREAM_SHUTDOWN_GRACE_S;
        # Faust's own wait (stream_wait_empty) has no bound and would hang on an abandoned event.
        stream_wait_empty=False,
        TableManager=PromptTableManager,
    )
    app.telemetry = WorkerTelemetry(app, settings)

    # Faust's consumer, with commits that never pass an offset that did not run (streams.consumer, issue #10).
    # (Rebalances wait for ordered batches in `_consumer_wait_empty`, bounded; shutdown drains in on_stop.)
    # Its aiokafka consumer long-polls LEADSTREAM_FETCH_MAX_WAIT_MS, not Faust's fixed 1.5 s, for at least
    # LEADSTREAM_FETCH_MIN_BYTES; without a group instance id it records its member id for the next start
    # to leave the group for (`worker_consumer`, `streams.membership`).
    app.transport.Consumer = worker_consumer(  # type: ignore[misc]
        safe_consumer(None),
        settings.fetch_max_wait_ms,
        settings.fetch_min_bytes,
        None if settings.group_instance_id else MemberFile(settings.data_dir, settings.app_id),
    )

    @app.page("/metrics")
    async def metrics(self: Any, request: Any) -> Any:  # Prometheus scrape endpoint
        # aiohttp refuses a charset inside content_type; the exposition format is UTF-8 text.
        return self.bytes(generate_latest(), content_type=CONTENT_TYPE_LATEST.split(";")[0] + "; version=0.0.4")

    @app.page("/health")
    async def health(self: Any, request: Any) -> Any:
        """Liveness: 503 when the event loop stalls or a stage has lag and makes no progress (streams.health)."""
        report = MONITOR.liveness()
        body = {"status": "ok" if report.ok else "failing", "stages": settings.stage_list, **report.as_json()}
        return self.json(body, status=200 if report.ok else 503)

    @app.page("/ready")
    async def ready(self: Any, request: Any) -> Any:
        """200 once partitions are assigned, tables recovered and streams flowing, and no stage holds
        lag without progress (a k8s readiness probe)."""
        consumer = app.consumer if app.producer is not None else None
        assigned = bool(consumer and consumer.assignment())
        flowing = app.flow_control.is_active() and not app.rebalancing
        report = MONITOR.readiness(assigned=assigned, rebalancing=not flowing)
        body = {
            "ready": report.ok,
            "assigned": assigned,
            "rebalancing": app.rebalancing,
            "flow": _flow_state(app, consumer),
            **report.as_json(),
        }
        return self.json(body, status=200 if report.ok else 503)

    runtime = app.runtime = WorkerRuntime(app, settings)
    app.telemetry.pool = runtime.pool  # the dead-letter backlog's gauge reads PostgreSQL through the stages' pool
    register_stages(runtime, settings.stage_list)
    register_table_views(app, {name: table for name, table in app.tables.items() if name in TABLE_NAMES})
    app.on_partitions_assigned.connect(_log_assignment)  # type: ignore[arg-type]  # faust's stub wants `signal=`
    if settings.web_token:
        app.web.web_app.middlewares.append(bearer_token_required(settings.web_token))  # type: ignore[attr-defined]
    if "email" in settings.stages and settings.public_web_port:  # compliance endpoints: public surface only
        from leadstream.webhooks import routes

        app.public_site = PublicSite(
            routes(
                runtime.pool,
                unsubscribe_secret=settings.email.unsubscribe_secret,
                webhook_public_key=settings.email.webhook_public_key or None,
                token_days=settings.email.unsubscribe_token_days,
            ),
            settings.public_web_bind,
            settings.public_web_port,
        )
    return app
