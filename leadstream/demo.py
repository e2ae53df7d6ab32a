"""`leadstream demo`: the whole pipeline on one machine, end to end.

Starts what is not given from outside (the tansu broker, an embedded
PostgreSQL) plus the provider simulator, runs N main worker processes (five
stages) and M mockup worker processes (the GPU group), pushes scrape jobs and
generated leads (with duplicates, malformed records and variety), shows
progress until the pipeline drains, and reports.

Every worker is its own process with its own data dir (RocksDB tables), web
port and log (`<workdir>/worker-<group>-<n>.log`), advertising 127.0.0.1 as its
web host (`LEADSTREAM_WEB_HOST`). Workers of a group share one consumer group,
so Kafka spreads the partitions over them; `add_worker` and `kill_worker`
change the group mid-run (the scale-out test does).

On a broker given from outside (`LEADSTREAM_KAFKA_BROKER`), `stop` deletes the
run's own topics (its topic prefix and its app ids' changelog and assignor
topics, all named after the run id) unless `keep_topics` is set: a shared
broker otherwise collects a few dozen topics per run, and a 3-node test cluster
with small heaps ran out of memory at about 2,500.
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
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from leadstream.embedded import EmbeddedServices, free_port, wait_for_http
from leadstream.producer import LeadProducer
from leadstream.progress import LagReader, Snapshot, latency_percentiles, missing_terminal, record_counts
from schemas import ScrapeJob
from storage.db import create_pool, isolated_url, migrate
from storage.dedupe_phones import PhoneClaims
from storage.lead_queries import LeadQueries
from storage.outbox import Outbox
from streams.admin import ensure_topics

# The demo runs the design's two worker groups: the main one, and the mockup
# ("GPU") group in its own consumer group, as in production; each with as many
# worker processes as asked (by default: every core for the main group).
WORKER_GROUPS = {
    "main": ("scrape,enrich,dedupe,score,email", ""),
    "mockup": ("mockup", "-mockup"),
}


def default_workers() -> int:
    """Main workers by default: one per core."""
    return max(1, os.cpu_count() or 1)


def default_mockup_workers() -> int:
    """Mockup workers by default: one per two cores (Chromium runs its own processes besides)."""
    return max(1, (os.cpu_count() or 1) // 2)


DEFAULT_JOBS = [("10002", "plumber"), ("98908", "hvac"), ("46032", "vet")]


@dataclass
class DemoOptions:
    leads: int = 1000
    seed: int = 7
    out: Path | None = None
    timeout_s: float = 600.0
    partitions: int = 12
    scrape_results: int = 10
    rate_per_min: float | None = 1200.0
    workdir: Path | None = None
    workers: int = 0  # main workers; 0: default_workers()
    mockup_workers: int = 0  # mockup workers; 0: default_mockup_workers()
    loglevel: str = "warning"
    keep_topics: bool = False  # on an outside broker, leave the run's topics there after `stop`
    stall_report_s: float = 60.0  # nothing moved this long while work remains: report each worker's state once

    def count(self, group: str) -> int:
        if group == "main":
            return self.workers or default_workers()
        return self.mockup_workers or default_mockup_workers()


class Demo:
    def __init__(self, options: DemoOptions, on_progress=None) -> None:
        self.options = options
        self.on_progress = on_progress or (lambda snap, elapsed: None)
        self.services = EmbeddedServices(
            kafka_broker=os.environ.get("LEADSTREAM_KAFKA_BROKER") or None,
            database_url=os.environ.get("LEADSTREAM_DATABASE_URL") or None,
        )
        if options.workdir:
            options.workdir.mkdir(parents=True, exist_ok=True)
            self.services.workdir = options.workdir
        self.run_id = uuid.uuid4().hex[:8]
        self.workers: dict[str, subprocess.Popen] = {}  # worker name ("main-0") → its process
        self.worker_logs: dict[str, Path] = {}
        self.group_env: dict[str, dict[str, str]] = {}  # worker name → its environment
        self.code_dirs: dict[str, Path] = {}  # worker name → the checkout it runs from (default: this one)
        self.killed: set[str] = set()  # workers killed on purpose (not a failure of the run)

    async def run(self) -> dict:
        """The demo: start, push scrape jobs and generated leads, wait until drained, report, stop."""
        from simulator.leads import generate_leads

        opts = self.options
        await self.start()
        try:
            generated = generate_leads(opts.leads, opts.seed)
            started = time.monotonic()
            await self.push_jobs(
                [ScrapeJob(zip=z, vertical=v, max_results=opts.scrape_results) for z, v in DEFAULT_JOBS]
            )
            await self.push_generated(generated, opts.rate_per_min)
            snap = await self.wait_until_drained([g.lead_id for g in generated], started)
            summary = await self.summary(snap, [g.lead_id for g in generated])
            if opts.out:
                await self._write_artefacts(self.sim, self.services.workdir / "blobs", opts.out)
            return summary
        finally:
            await self.stop()

    async def start(self, sim_config=None) -> None:
        """Services, simulator, schema, topics and one worker; returns when the worker answers."""
        from simulator.app import start_simulator
        from simulator.core import SimConfig, Simulator
        from simulator.dns import start_dns

        self.services.start()
        self.sim = Simulator(sim_config or SimConfig(seed=self.options.seed))
        self.sim_runner, self.sim_url = await start_simulator(self.sim)
        self.sim_dns, self.sim_dns_address = await start_dns(self.sim)
        schema = f"run_{self.run_id}"
        assert self.services.database_url and self.services.kafka_broker  # set by start()
        # its own schema; its own database when the URL goes through PgBouncer (search_path would not hold)
        self.database_url = await isolated_url(
            self.services.database_url, schema, os.environ.get("LEADSTREAM_DATABASE_ADMIN_URL") or None
        )
        self.pool = await create_pool(self.database_url, size=4)
        await migrate(self.pool)
        self.env = self._worker_env(self.sim_url)
        await ensure_topics(
            self.env["LEADSTREAM_KAFKA_BROKER"],
            partitions=self.options.partitions,
            replication=1,
            prefix=self.env["LEADSTREAM_TOPIC_PREFIX"],
        )
        await self.start_worker()

    async def start_worker(self) -> None:
        """Start every worker of both groups (again, after `kill_worker`) and wait until each answers."""
        names = [name for name in self.group_env if name not in self.killed] or [
            f"{group}-{n}" for group in WORKER_GROUPS for n in range(self.options.count(group))
        ]
        for name in names:
            self._start_worker(name)
        for name in names:
            await self.wait_ready(name)

    async def add_worker(self, group: str = "main", wait: bool = True, code_dir: Path | None = None) -> str:
        """One more worker in `group` (joins its consumer group: a rebalance); returns its name.

        `code_dir`: run it from another checkout of leadstream (its working directory and PYTHONPATH), e.g.
        the previous release beside this one, as during a rolling upgrade (docs/upgrades.md).
        """
        n = sum(1 for name in self.group_env if name.startswith(group + "-"))
        name = f"{group}-{n}"
        if code_dir is not None:
            self.code_dirs[name] = code_dir
        self._start_worker(name)
        if wait:
            await self.wait_ready(name)
        return name

    async def wait_ready(self, name: str, timeout_s: float = 180) -> None:
        await wait_for_http(f"{self.web_url(name)}/ready", timeout_s=timeout_s, ok_below=300)

    def web_url(self, name: str) -> str:
        return f"http://127.0.0.1:{self.group_env[name]['LEADSTREAM_WEB_PORT']}"

    def kill_worker(self, name: str | None = None) -> None:
        """SIGKILL one worker, or every worker (fault tests): no shutdown, no final commit."""
        for each, proc in self.workers.items():
            if (name is None or each == name) and proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
                if name is not None:
                    self.killed.add(name)

    async def push_jobs(self, jobs) -> None:
        async with LeadProducer(
            self.env["LEADSTREAM_KAFKA_BROKER"],
            self.env["LEADSTREAM_TOPIC_PREFIX"],
            idempotent=not self.services.embedded_broker,
        ) as producer:
            await producer.push_jobs(jobs)

    async def push_generated(self, generated, per_minute: float | None = None) -> None:
        """Push generated leads, paced at `per_minute` (all at once when None)."""
        chunk = 20
        async with LeadProducer(
            self.env["LEADSTREAM_KAFKA_BROKER"],
            self.env["LEADSTREAM_TOPIC_PREFIX"],
            idempotent=not self.services.embedded_broker,
        ) as producer:
            began = time.monotonic()
            for i in range(0, len(generated), chunk):
                if per_minute:
                    await asyncio.sleep(max(0.0, began + i / per_minute * 60 - time.monotonic()))
                await producer.push_leads((g.lead_id, _geo_of(g), g.payload) for g in generated[i : i + chunk])

    async def stop(self) -> None:
        self._stop_worker()
        await self._delete_own_topics()
        if getattr(self, "sim_dns", None) is not None:
            self.sim_dns.close()
        for closer in (
            getattr(self, "pool", None) and self.pool.close,
            getattr(self, "sim_runner", None) and self.sim_runner.cleanup,
        ):
            if closer:
                with contextlib.suppress(Exception):
                    await closer()
        self.services.stop()

    async def _delete_own_topics(self) -> None:
        """The run's topics on an outside broker, once its workers are gone (see the module docstring)."""
        env = getattr(self, "env", None)
        if self.options.keep_topics or self.services.embedded_broker or not env:
            return
        from streams.admin import delete_topics

        try:
            async with asyncio.timeout(30):
                await delete_topics(
                    env["LEADSTREAM_KAFKA_BROKER"],
                    prefixes=(env["LEADSTREAM_TOPIC_PREFIX"], env["LEADSTREAM_APP_ID"] + "-"),
                )
        except Exception as exc:  # a cluster in trouble (a chaos run) must not hide the run's own result
            print(f"demo: could not delete the run's topics: {type(exc).__name__}: {exc}", file=sys.stderr)

    def _worker_env(self, sim_url: str) -> dict[str, str]:
        opts = self.options
        assert self.services.kafka_broker  # set by start()
        return {
            **os.environ,
            "LEADSTREAM_KAFKA_BROKER": self.services.kafka_broker,
            "LEADSTREAM_DATABASE_URL": self.database_url,
            "LEADSTREAM_APP_ID": f"leadstream-demo-{self.run_id}",
            "LEADSTREAM_TOPIC_PREFIX": f"demo-{self.run_id}.",
            "LEADSTREAM_PARTITIONS": str(opts.partitions),
            "LEADSTREAM_YELP_BASE_URL": sim_url,
            "LEADSTREAM_YELP_API_KEY": "sim-key",
            "LEADSTREAM_GOOGLE_BASE_URL": sim_url,
            "LEADSTREAM_GOOGLE_API_KEY": "sim-key",
            "LEADSTREAM_WEB_PROXY": sim_url,
            "LEADSTREAM_FETCH_ALLOWLIST": sim_url.split("://", 1)[1],
            "LEADSTREAM_OPENAI_BASE_URL": f"{sim_url}/v1",
            "LEADSTREAM_OPENAI_API_KEY": "sim-key",
            "LEADSTREAM_OLLAMA_HOST": sim_url,
            "LEADSTREAM_SENDGRID_BASE_URL": sim_url,
            "LEADSTREAM_SENDGRID_API_KEY": "SG.sim-key",
            "LEADSTREAM_EMAIL__UNSUBSCRIBE_SECRET": secrets.token_urlsafe(32),  # workers refuse the default
            "LEADSTREAM_HUNTER_BASE_URL": sim_url,
            "LEADSTREAM_HUNTER_API_KEY": "sim-hunter-key-0123456789",
            "LEADSTREAM_PAGESPEED_BASE_URL": sim_url,
            "LEADSTREAM_PAGESPEED_API_KEY": "sim-key",
            "LEADSTREAM_DNS_NAMESERVERS": self.sim_dns_address,
            # The real PageSpeed quota (400 per 100 s) would cap tier-3 audits at 240 leads/min: the demo
            # runs as if a raised quota had been granted (see docs/enrichment.md).
            "LEADSTREAM_PROVIDERS__HUNTER__RATE": "50/second",
            "LEADSTREAM_PROVIDERS__PAGESPEED__RATE": "50/second",
        }

    def _start_worker(self, name: str) -> None:
        group = name.rsplit("-", 1)[0]
        stages, app_suffix = WORKER_GROUPS[group]
        if name not in self.group_env:
            self.group_env[name] = {
                **self.env,
                "LEADSTREAM_STAGES": stages,
                "LEADSTREAM_APP_ID": self.env["LEADSTREAM_APP_ID"] + app_suffix,
                "LEADSTREAM_WEB_PORT": str(free_port()),
                "LEADSTREAM_WEB_HOST": "127.0.0.1",  # what peers use to reach this worker's table partitions
                "LEADSTREAM_DATA_DIR": str(self.services.workdir / f"worker-{name}"),
                "LEADSTREAM_BLOB_DIR": str(self.services.workdir / "blobs"),
            }
            if name in self.code_dirs:  # `python -m` puts the working directory first on sys.path
                self.group_env[name]["PYTHONPATH"] = str(self.code_dirs[name])
        log_path = self.services.workdir / f"worker-{name}.log"
        self.worker_logs[name] = log_path
        self.workers[name] = subprocess.Popen(
            [sys.executable, "-m", "leadstream", "worker", "--loglevel", self.options.loglevel],
            env=self.group_env[name],
            cwd=self.code_dirs.get(name),
            stdout=open(log_path, "ab"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def _stop_worker(self) -> None:
        for proc in self.workers.values():
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in self.workers.values():
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()

    def stage_groups(self) -> dict[str, str]:
        """Stage → consumer group id, for lag."""
        return {
            stage: self.env["LEADSTREAM_APP_ID"] + suffix
            for stages, suffix in WORKER_GROUPS.values()
            for stage in stages.split(",")
        }

    async def wait_until_drained(self, pushed_ids: list[str], started: float | None = None) -> Snapshot:
        pool, env = self.pool, self.env
        started = started or time.monotonic()
        lag_reader = LagReader(env["LEADSTREAM_KAFKA_BROKER"], self.stage_groups(), env["LEADSTREAM_TOPIC_PREFIX"])
        await lag_reader.start()
        try:
            quiet_since = None
            moved_at, last_seen, reported = time.monotonic(), None, False
            while True:
                snap = await record_counts(pool)
                with contextlib.suppress(Exception):
                    snap.lag = await lag_reader.lag()
                elapsed = time.monotonic() - started
                self.on_progress(snap, elapsed)
                seen = (snap.total, sorted(snap.terminal.items()), sorted(snap.in_flight_by_stage.items()), snap.lag)
                if seen != last_seen:
                    moved_at, last_seen, reported = time.monotonic(), seen, False
                elif not reported and time.monotonic() - moved_at > self.options.stall_report_s:
                    await self.report_stall(time.monotonic() - moved_at)
                    reported = True
                for name, proc in self.workers.items():
                    if proc.poll() is not None and name not in self.killed:
                        raise RuntimeError(f"worker {name} exited with {proc.returncode}; see {self.worker_logs[name]}")
                drained = snap.in_flight == 0 and snap.total_lag == 0 and not await missing_terminal(pool, pushed_ids)
                if drained:
                    quiet_since = quiet_since or time.monotonic()
                    if time.monotonic() - quiet_since > 1.5:  # committed offsets trail processing a little
                        return snap
                else:
                    quiet_since = None
                if elapsed > self.options.timeout_s:
                    return snap
                await asyncio.sleep(0.5)
        finally:
            await lag_reader.stop()

    async def report_stall(self, still_s: float) -> Path:
        """Nothing moved for `still_s` while work remains: each live worker's /ready answer (its flow, recovery
        and waiting partitions) into ``<workdir>/stall-<n>.txt``, and a SIGUSR2 so its log gets every task's
        await chain (`leadstream.taskdump`). Returns the report's path; it changes nothing."""
        lines = [f"nothing moved for {still_s:.0f} s"]
        async with httpx.AsyncClient(timeout=5, trust_env=False) as client:
            for name, proc in sorted(self.workers.items()):
                if proc.poll() is not None:
                    lines.append(f"--- {name}: exited {proc.returncode}")
                    continue
                try:
                    answer = (await client.get(f"{self.web_url(name)}/ready")).text
                except httpx.HTTPError as exc:
                    answer = repr(exc)
                lines.append(f"--- {name} (pid {proc.pid}) /ready: {answer}")
                with contextlib.suppress(ProcessLookupError):
                    os.kill(proc.pid, signal.SIGUSR2)
        path = self.services.workdir / f"stall-{len(list(self.services.workdir.glob('stall-*.txt')))}.txt"
        path.write_text("\n".join(lines) + "\n")
        print(f"demo: {lines[0]}; each worker's state in {path}, task dumps in the worker logs", file=sys.stderr)
        return path

    async def summary(self, snap: Snapshot, pushed_ids: list[str]) -> dict:
        pool, sim = self.pool, self.sim
        from simulator import sendgrid as sim_sendgrid

        leads = LeadQueries(pool)
        missing = await missing_terminal(pool, pushed_ids)
        in_flight = await leads.in_flight()
        lost = len(set(missing) | await leads.lead_ids(in_flight=True))
        leads_in = len(set(pushed_ids) | await leads.lead_ids())
        stats = await latency_percentiles(pool)
        emails = sim_sendgrid.summary(sim)
        span = stats["span_s"] or 0.0
        visited = await leads.stages_visited()
        busy, per_batch = await self._stage_batches()
        return {
            "leads_in": leads_in,
            "terminal": dict(sorted(snap.terminal.items())),
            "lost": lost,
            "in_flight": in_flight,
            "emails_sent": emails["messages"],
            "duplicate_emails": sum(n - 1 for n in emails["by_idempotency_key"].values() if n > 1),
            "recipients_emailed_twice": sum(1 for n in emails["by_recipient"].values() if n > 1),
            "sent_not_emailed": len(await Outbox(pool).sent_not_emailed()),
            "leads_per_min": round(leads_in / span * 60, 1) if span else None,
            "p50_latency_s": round(stats["p50"], 2) if stats["p50"] is not None else None,
            "p95_latency_s": round(stats["p95"], 2) if stats["p95"] is not None else None,
            "stages_visited": visited,
            "dead_letters": await leads.dead_letters(),
            "tiers": await leads.tiers(),
            "mockups": await leads.with_mockup(),
            "phone_claims": await PhoneClaims(pool).count(),  # the dedupe phone directory's (0 when it is off)
            "stage_busy_s": busy,
            "events_per_batch": per_batch,
            "workers": {
                group: sum(1 for name in self.workers if name.rsplit("-", 1)[0] == group) for group in WORKER_GROUPS
            },
        }

    async def worker_metrics(self) -> dict[str, list[Any]]:
        """Each live worker's /metrics, parsed (prometheus_client metric families), by worker name."""
        import httpx
        from prometheus_client.parser import text_string_to_metric_families

        out: dict[str, list[Any]] = {}
        async with httpx.AsyncClient(timeout=5, trust_env=False) as client:
            for name, proc in self.workers.items():
                if proc.poll() is not None:
                    continue  # killed mid-run: its counts went with it
                try:
                    text = (await client.get(f"{self.web_url(name)}/metrics")).text
                    out[name] = list(text_string_to_metric_families(text))
                except (httpx.HTTPError, ValueError):
                    continue
        return out

    async def _stage_batches(self) -> tuple[dict[str, float], dict[str, float]]:
        """Seconds each stage spent in batches (where a bottleneck shows) and its events per batch (how full an
        ordered stage's batches are; a streaming stage handles each event on its own: 1.0), from the workers'
        /metrics."""
        busy: dict[str, float] = {}
        batches: dict[str, float] = {}
        consumed: dict[str, float] = {}
        for families in (await self.worker_metrics()).values():
            for family in families:
                for sample in family.samples:
                    stage = sample.labels.get("stage")
                    if sample.name == "leadstream_stage_batch_seconds_sum":
                        busy[stage] = busy.get(stage, 0.0) + sample.value
                    elif sample.name == "leadstream_stage_batch_seconds_count":
                        batches[stage] = batches.get(stage, 0.0) + sample.value
                    elif sample.name == "leadstream_stage_events_consumed_total":
                        consumed[stage] = consumed.get(stage, 0.0) + sample.value
        per_batch = {stage: round(consumed.get(stage, 0.0) / n, 2) for stage, n in batches.items() if n}
        return {stage: round(seconds, 1) for stage, seconds in busy.items()}, per_batch

    async def _write_artefacts(self, sim, data_dir: Path, out: Path) -> None:
        from simulator.sendgrid import sent_messages
        from simulator.sendgrid_eml import build_eml

        out.mkdir(parents=True, exist_ok=True)
        (out / "emails").mkdir(exist_ok=True)
        for n, record in enumerate(sent_messages(sim)):
            (out / "emails" / f"{n:05d}.eml").write_bytes(build_eml(record))
        mockups = out / "mockups"
        mockups.mkdir(exist_ok=True)
        for image in [*data_dir.rglob("*.png"), *data_dir.rglob("*.jpg")]:  # desktop, mobile; the email's preview
            target = mockups / f"{image.parent.name}-{image.name}"
            target.write_bytes(image.read_bytes())


def _geo_of(generated) -> str:
    import orjson

    from schemas.geo import geo_key

    try:
        row = orjson.loads(generated.payload)
        return geo_key(str(row.get("zip") or "")[:5] or None, row.get("state"), row.get("phone"), row.get("city"))
    except Exception:  # malformed on purpose: any key will do, it is dead-lettered
        return "unknown"
