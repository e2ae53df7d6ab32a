"""One start path: `faust -A app worker` prepares its start itself, as `leadstream worker` does —
the rules check, migrations, topics and table changelogs — against the real broker and PostgreSQL."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from aiokafka.admin import AIOKafkaAdminClient

from storage.db import connect, isolated_url, migration_files
from streams.admin import bootstrap_servers, changelog_topic
from streams.topology import all_topics
from tables import DEDUPE_STATE, SCORE_COUNTERS
from tests.workers import worker_env

pytestmark = pytest.mark.services

DEADLINE_S = 120.0


def _worker_env(kafka_broker: str, database_url: str, unique: str, tmp_path: Path, **extra: str) -> dict[str, str]:
    return worker_env(kafka_broker, f"start-{unique}", tmp_path, LEADSTREAM_DATABASE_URL=database_url, **extra)


def _start(env: dict[str, str], tmp_path: Path) -> tuple[subprocess.Popen[bytes], Path]:
    log = tmp_path / "worker.log"
    proc = subprocess.Popen(
        [sys.executable, "-m", "faust", "-A", "app", "worker", "-l", "info"],
        env=env,
        stdout=open(log, "wb"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    return proc, log


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


async def _applied_migrations(database_url: str) -> set[str]:
    conn = await connect(database_url)
    try:
        exists = await conn.fetchval("SELECT to_regclass('schema_migrations') IS NOT NULL")
        return {r["name"] for r in await conn.fetch("SELECT name FROM schema_migrations")} if exists else set()
    finally:
        await conn.close()


async def test_faust_worker_creates_topics_changelogs_and_migrates(kafka_broker, database_url, unique, tmp_path):
    isolated = await isolated_url(database_url, f"start_{unique}", os.environ.get("LEADSTREAM_DATABASE_ADMIN_URL"))
    env = _worker_env(kafka_broker, isolated, unique, tmp_path)
    wanted_topics = {f"start-{unique}.{name}" for name in all_topics()}
    wanted_changelogs = {changelog_topic(f"start-{unique}", table) for table in (DEDUPE_STATE, SCORE_COUNTERS)}
    wanted_migrations = {path.name for path in migration_files()}
    proc, log = _start(env, tmp_path)
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap_servers(kafka_broker))
    await admin.start()
    try:
        deadline = time.monotonic() + DEADLINE_S
        while True:
            assert proc.poll() is None, f"the worker exited with {proc.returncode}:\n{log.read_text()[-3000:]}"
            topics = set(await admin.list_topics())
            migrations = await _applied_migrations(isolated)
            if wanted_topics | wanted_changelogs <= topics and migrations == wanted_migrations:
                break
            assert time.monotonic() < deadline, (
                f"after {DEADLINE_S}s: missing topics {sorted((wanted_topics | wanted_changelogs) - topics)}, "
                f"migrations {sorted(migrations)}\n{log.read_text()[-3000:]}"
            )
            await asyncio.sleep(0.2)
        described = await admin.describe_topics(sorted(wanted_changelogs))
        assert all(len(d["partitions"]) == 2 for d in described)
    finally:
        await admin.close()
        _stop(proc)


async def test_faust_worker_refuses_to_start_with_invalid_rules(kafka_broker, database_url, unique, tmp_path):
    rules = tmp_path / "rules.yaml"
    rules.write_text(
        "version: 1\ntiers:\n  A: {min: 80}\nrules:\n  - id: x\n    when: {field: nope, op: eq, value: 1}\n"
    )
    env = _worker_env(kafka_broker, database_url, unique, tmp_path, LEADSTREAM_RULES_FILE=str(rules))
    proc, log = _start(env, tmp_path)
    try:
        code = await asyncio.to_thread(proc.wait, DEADLINE_S)
    finally:
        _stop(proc)
    output = log.read_text()
    assert code != 0
    assert "refusing to start: invalid rules" in output and f"{rules}:" in output


@pytest.mark.parametrize(
    ("command", "secret", "says"),
    [
        (["-m", "faust", "-A", "app", "worker", "-l", "info"], None, "is the default 'change-me'"),
        (["-m", "leadstream", "worker"], "too-short-secret", "has 16 characters; use a random one of at least 32"),
    ],
)
async def test_a_worker_with_the_email_stage_refuses_a_default_or_short_unsubscribe_secret(
    kafka_broker, database_url, unique, tmp_path, command, secret, says
):
    env = _worker_env(kafka_broker, database_url, unique, tmp_path, LEADSTREAM_STAGES="email")
    env.pop("LEADSTREAM_EMAIL__UNSUBSCRIBE_SECRET", None)
    if secret is not None:
        env["LEADSTREAM_EMAIL__UNSUBSCRIBE_SECRET"] = secret
    done = await asyncio.to_thread(
        subprocess.run, [sys.executable, *command], env=env, capture_output=True, timeout=DEADLINE_S
    )
    output = (done.stdout + done.stderr).decode()
    assert done.returncode != 0
    assert "refusing to start a worker" in output and f"LEADSTREAM_EMAIL__UNSUBSCRIBE_SECRET {says}" in output


async def test_the_worker_consumer_long_polls_the_configured_fetch_wait(kafka_broker, unique, tmp_path, monkeypatch):
    """Faust builds its aiokafka consumer with a fixed 1.5 s fetch wait, which every offset request of a
    table recovery queued behind; the worker's consumer uses LEADSTREAM_FETCH_MAX_WAIT_MS instead."""
    from config import load_settings
    from leadstream.faustapp import create_app

    for name, value in _worker_env(kafka_broker, "postgresql://unused", unique, tmp_path).items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("LEADSTREAM_FETCH_MAX_WAIT_MS", "123")
    monkeypatch.setenv("LEADSTREAM_FETCH_MIN_BYTES", "4567")
    monkeypatch.setenv("LEADSTREAM_TABLE_STANDBY_REPLICAS", "0")
    # No tracing: an in-process app would install the OTLP exporter as this process's global tracer provider
    # (set once per process), and later tests' provider spans would go there instead of to their exporter.
    monkeypatch.delenv("LEADSTREAM_OTLP_ENDPOINT", raising=False)
    app = create_app(load_settings())
    assert app.conf.table_standby_replicas == 0
    consumer = app.consumer._thread._create_worker_consumer(app.transport)
    await consumer.start()  # the fetcher is built here, from the consumer's value
    try:
        assert consumer._fetcher._fetch_max_wait_ms == 123
        assert consumer._fetcher._fetch_min_bytes == 4567
    finally:
        await consumer.stop()
