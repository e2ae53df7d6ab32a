"""Step load: offered rates held for a fixed time, and a scaling curve; writes a report with plots.

    source /work/main/.services/env
    python perf/bench_steps.py steps --rates 500,1000,1500,2000,3000 --hold 60 --workers 2 --light
    python perf/bench_steps.py scaling --workers-list 1,2,3 --rate 3000 --hold 45 --light
    python perf/bench_steps.py report          # perf/reports/<date>/report.md + PNGs from the runs' JSON

`steps` runs one pipeline (N main and M mockup worker processes, the simulator
as the outside world) and offers each rate for `--hold` seconds, one after the
other, then waits until it drains. It records:

* end-to-end latency (ingest-ts → terminal state, from PostgreSQL) in an
  HdrHistogram per step, and per ingest window over time;
* per-stage latency: when each lead's message reached each topic (the broker's
  message timestamp minus its ``ingest-ts`` header), in an HdrHistogram per
  topic, so a stage's share is the step between two topics;
* Kafka lag per stage (its consumer group on its source topic) every 2 s;
* CPU seconds per process kind (main workers, mockup workers, Chromium and its
  driver under each of the two (``chromium-main``: the enrich stage's site
  renders; ``chromium-mockup``: the mockups), the Kafka broker, PostgreSQL,
  the harness: simulator + producer),
  per step, divided by the leads that ended in the step. The broker and
  PostgreSQL are shared services: their CPU includes anyone else's load.

`scaling` runs the same workload once per main-worker count, each on a fresh
pipeline, and records sustained leads/min (leads / (last terminal − first
ingest)). `--light` is the lightest path (tier-1 enrichment, no SPA renders, no
mockups). `--worker-cpu CORES` holds each main worker to that many cores, as a
pod's CPU limit (`perf/cpuquota.py`), so the curve shows what one more
fixed-size instance adds rather than what the shared box has left. Each run
writes JSON into perf/reports/<date>/; `report` reads them.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import json
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psutil
from hdrh.histogram import HdrHistogram

LIGHT_PATH = {"LEADSTREAM_ENRICH_TIER": "1", "LEADSTREAM_RENDER_JS": "false", "LEADSTREAM_MOCKUP_TIERS": "none"}
REPORTS = Path(__file__).resolve().parent / "reports"
SAMPLE_S = 2.0
MACHINE = "machine"  # CpuMeter's pseudo-kind: the whole box's busy CPU seconds


def report_dir(date: str | None = None) -> Path:
    path = REPORTS / (date or dt.date.today().isoformat())
    path.mkdir(parents=True, exist_ok=True)
    return path


def histogram() -> HdrHistogram:
    return HdrHistogram(1, 3_600_000, 3)  # milliseconds, 1 ms … 1 h, 3 significant digits


def percentiles(h: HdrHistogram) -> dict[str, float | None]:
    if h.get_total_count() == 0:
        return {"n": 0, "p50": None, "p95": None, "p99": None, "max": None}
    return {
        "n": h.get_total_count(),
        **{f"p{q}": round(h.get_value_at_percentile(q) / 1000, 2) for q in (50, 95, 99)},
        "max": round(h.get_max_value() / 1000, 2),
    }


# ---- CPU per process kind ----------------------------------------------------------------------------


def _listener(port: int) -> psutil.Process | None:
    for conn in psutil.net_connections(kind="tcp"):
        if conn.status == psutil.CONN_LISTEN and conn.laddr and conn.laddr.port == port and conn.pid:
            return psutil.Process(conn.pid)
    return None


def _port(url: str, default: int) -> int:
    from urllib.parse import urlparse

    return urlparse(url.split(";")[0].replace("kafka://", "tcp://")).port or default


class CpuMeter:
    """Cumulative CPU seconds per process kind; a process that exits keeps what it used."""

    def __init__(self, demo: Any) -> None:
        self.demo = demo
        self.seen: dict[int, tuple[str, float]] = {}
        env = demo.env
        self.fixed: dict[str, psutil.Process | None] = {
            "kafka": _listener(_port(env["LEADSTREAM_KAFKA_BROKER"], 9092)),
            "postgres": _listener(_port(os.environ.get("LEADSTREAM_DATABASE_URL", ""), 5432)),
        }

    def _kinds(self) -> list[tuple[str, psutil.Process]]:
        out: list[tuple[str, psutil.Process]] = [("harness", psutil.Process())]
        for kind, proc in self.fixed.items():
            if proc is not None:
                out.append((kind, proc))
                with contextlib.suppress(psutil.Error):
                    out.extend((kind, child) for child in proc.children(recursive=True))
        for name, popen in self.demo.workers.items():
            if popen.poll() is not None:
                continue
            with contextlib.suppress(psutil.Error):
                proc = psutil.Process(popen.pid)
                group = name.rsplit("-", 1)[0]
                out.append((f"worker-{group}", proc))
                for child in proc.children(recursive=True):
                    # Playwright's driver and Chromium's processes, by the worker group that owns them
                    out.append((f"chromium-{group}", child))
        return out

    def sample(self) -> dict[str, float]:
        for kind, proc in self._kinds():
            with contextlib.suppress(psutil.Error):
                times = proc.cpu_times()
                self.seen[proc.pid] = (kind, times.user + times.system)
        totals: dict[str, float] = {}
        for kind, seconds in self.seen.values():
            totals[kind] = totals.get(kind, 0.0) + seconds
        machine = psutil.cpu_times()  # every process on the box, ours and other sessions'
        totals[MACHINE] = sum(getattr(machine, f, 0.0) for f in ("user", "nice", "system", "irq", "softirq"))
        return totals


def split_machine(delta: dict[str, float], seconds: float) -> tuple[dict[str, float], dict[str, float]]:
    """(CPU seconds per process kind, {"machine_cores", "others_cores"}): the box's busy cores over `seconds`,
    and those of processes that are none of ours (other sessions, the OS, services not measured by kind)."""
    ours = {k: v for k, v in delta.items() if k != MACHINE}
    machine = delta.get(MACHINE, 0.0)
    span = max(seconds, 1e-9)
    return ours, {
        "machine_cores": round(machine / span, 2),
        "others_cores": round((machine - sum(ours.values())) / span, 2),
    }


# ---- one pipeline, sampled ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Step:
    """One offered rate held for a while: when, how many leads, and each process kind's CPU seconds around it."""

    offered_per_min: float
    pushed: int
    start: float
    end: float
    cpu0: dict[str, float]
    cpu1: dict[str, float]


def standby_replicas() -> int:
    """The workers' standby replicas per table partition (they inherit this process's environment)."""
    from config.settings import Settings

    raw = os.environ.get("LEADSTREAM_TABLE_STANDBY_REPLICAS")
    return int(raw) if raw is not None else Settings.model_fields["table_standby_replicas"].get_default()


class Run:
    def __init__(self, args: argparse.Namespace, workers: int) -> None:
        from leadstream.demo import Demo, DemoOptions

        if args.light:
            os.environ.update(LIGHT_PATH)
        self.args = args
        self.demo = Demo(
            DemoOptions(
                leads=0,
                seed=args.seed,
                partitions=args.partitions,
                timeout_s=args.drain_timeout,
                workers=workers,
                mockup_workers=args.mockup_workers,
            )
        )
        self.samples: list[dict[str, Any]] = []
        self.began = 0.0
        self.quotas: Any = None

    async def start(self) -> None:
        """The pipeline up; with `--worker-cpu`, each main worker then held to that many cores (perf/cpuquota.py)."""
        await self.demo.start()
        if self.args.worker_cpu:
            from perf.cpuquota import CpuQuotas

            self.quotas = CpuQuotas(self.args.worker_cpu, run_name=f"{os.getpid()}-{len(self.demo.workers)}")
            for name, popen in self.demo.workers.items():
                if name.startswith("main-"):
                    self.quotas.limit(name, popen.pid)

    async def stop(self) -> dict[str, dict[str, float]]:
        """The pipeline down; returns each limited worker's throttling (empty without `--worker-cpu`)."""
        throttling = self.quotas.throttling() if self.quotas else {}
        try:
            await self.demo.stop()
        finally:
            if self.quotas:
                self.quotas.close()
        return throttling

    async def sampler(self, cpu: CpuMeter, stop: asyncio.Event) -> None:
        from leadstream.progress import LagReader, record_counts

        reader = LagReader(
            self.demo.env["LEADSTREAM_KAFKA_BROKER"], self.demo.stage_groups(), self.demo.env["LEADSTREAM_TOPIC_PREFIX"]
        )
        await reader.start()
        try:
            while not stop.is_set():
                snap = await record_counts(self.demo.pool)
                lag: dict[str, int] = {}
                with contextlib.suppress(Exception):
                    lag = await reader.lag()
                self.samples.append(
                    {
                        "t": round(time.time() - self.began, 1),
                        "lag": lag,
                        "terminal": sum(snap.terminal.values()),
                        "cpu": cpu.sample(),
                    }
                )
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), SAMPLE_S)
        finally:
            await reader.stop()

    async def changelog_records(self) -> dict[str, int]:
        """Per table: records written to its changelog (the sum of its partitions' end offsets).

        Every table write is one record, which a standby replica (`LEADSTREAM_TABLE_STANDBY_REPLICAS`)
        reads and applies again, so records per lead is what a second worker's standbys cost.
        """
        from aiokafka import AIOKafkaConsumer, TopicPartition

        from streams.admin import bootstrap_servers

        app_id = self.demo.env["LEADSTREAM_APP_ID"]
        consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap_servers(self.demo.env["LEADSTREAM_KAFKA_BROKER"]))
        await consumer.start()
        try:
            topics = [t for t in await consumer.topics() if t.startswith(app_id + "-") and t.endswith("-changelog")]
            partitions = int(self.demo.env["LEADSTREAM_PARTITIONS"])  # co-partitioned with the lead topics
            counts: dict[str, int] = {}
            for topic in topics:
                ends = await consumer.end_offsets([TopicPartition(topic, p) for p in range(partitions)])
                counts[topic[len(app_id) + 1 : -len("-changelog")]] = sum(ends.values())
            return counts
        finally:
            await consumer.stop()

    async def stage_counts(self) -> dict[str, dict[str, int]]:
        """Per main worker: the events each stage took from its source topic (its Prometheus counter).

        The stateful stages' topics are keyed by state (`schemas.geo.dedupe_key`), so a few states hashed
        onto the partitions can load one worker's dedupe and score more than another's; this shows it.
        """
        return {
            name: {
                sample.labels["stage"]: int(sample.value)
                for family in families
                if family.name == "leadstream_stage_events_consumed"
                for sample in family.samples
                if sample.name.endswith("_total")
            }
            for name, families in sorted((await self.demo.worker_metrics()).items())
            if name.startswith("main-")
        }

    async def topic_arrivals(self) -> dict[str, HdrHistogram]:
        """Per lead topic: (broker timestamp − ingest-ts) of every message, in ms."""
        from aiokafka import AIOKafkaConsumer

        from streams.admin import bootstrap_servers
        from streams.topology import LEAD_TOPICS

        prefix = self.demo.env["LEADSTREAM_TOPIC_PREFIX"]
        consumer = AIOKafkaConsumer(
            *(prefix + t for t in LEAD_TOPICS),
            bootstrap_servers=bootstrap_servers(self.demo.env["LEADSTREAM_KAFKA_BROKER"]),
            auto_offset_reset="earliest",
            enable_auto_commit=False,
        )
        hists = {t: histogram() for t in LEAD_TOPICS}
        await consumer.start()
        try:
            idle = 0
            while idle < 3:
                batch = await consumer.getmany(timeout_ms=1000, max_records=5000)
                idle = 0 if batch else idle + 1
                for tp, records in batch.items():
                    topic = tp.topic[len(prefix) :]
                    for r in records:
                        headers = dict(r.headers or ())
                        with contextlib.suppress(KeyError, ValueError):
                            ingest = int(headers["ingest-ts"])
                            hists[topic].record_value(max(1, min(3_600_000, r.timestamp - ingest)))
        finally:
            await consumer.stop()
        return hists


async def run_steps(args: argparse.Namespace) -> dict[str, Any]:
    from simulator.leads import generate_leads
    from storage.lead_queries import LeadQueries
    from streams.topology import LEAD_TOPICS

    rates = [float(r) for r in args.rates.split(",")]
    run = Run(args, args.workers)
    await run.start()
    try:
        total = int(sum(r * args.hold / 60 for r in rates))
        generated = generate_leads(total, args.seed)
        cpu = CpuMeter(run.demo)
        cpu_start = cpu.sample()  # the broker, PostgreSQL and the workers ran before: only what the leads cost
        stop = asyncio.Event()
        run.began = time.time()
        sampling = asyncio.create_task(run.sampler(cpu, stop))
        steps: list[Step] = []
        i = 0
        for rate in rates:
            n = int(rate * args.hold / 60)
            start, cpu0 = time.time(), cpu.sample()
            await run.demo.push_generated(generated[i : i + n], rate)
            await asyncio.sleep(max(0.0, start + args.hold - time.time()))
            steps.append(Step(rate, n, start, time.time(), cpu0, cpu.sample()))
            i += n
        snap = await run.demo.wait_until_drained([g.lead_id for g in generated])
        stop.set()
        await sampling
        cpu_end, drained_at = cpu.sample(), time.time()
        queries = LeadQueries(run.demo.pool)
        timings = await queries.lead_timings()
        # a checkout from before enrichment_sources (perf/steps_ab.sh measures old refs too): none
        sources = await queries.enrichment_sources() if hasattr(queries, "enrichment_sources") else None
        summary = await run.demo.summary(snap, [g.lead_id for g in generated])
        arrivals = await run.topic_arrivals()
        changelogs = await run.changelog_records()
        per_worker = await run.stage_counts()
    finally:
        throttling = await run.stop()

    out_steps = []
    for step in steps:
        h = histogram()
        ended = 0
        for ingested, terminal, _state in timings:
            if step.start <= ingested < step.end:
                h.record_value(max(1, min(3_600_000, int((terminal - ingested) * 1000))))
            if step.start <= terminal < step.end:
                ended += 1
        minutes = (step.end - step.start) / 60
        cpu_delta, machine = split_machine(
            {k: step.cpu1.get(k, 0.0) - step.cpu0.get(k, 0.0) for k in step.cpu1}, minutes * 60
        )
        out_steps.append(
            {
                "offered_per_min": step.offered_per_min,
                "pushed": step.pushed,
                "ended_in_step": ended,
                "sustained_per_min": round(ended / minutes, 1),
                "latency_s": percentiles(h),
                "cpu_s": {k: round(v, 2) for k, v in cpu_delta.items()},
                "cpu_ms_per_lead": {k: round(v / max(1, ended) * 1000, 1) for k, v in cpu_delta.items()},
                **machine,
                "t": [round(step.start - run.began, 1), round(step.end - run.began, 1)],
            }
        )
    total_ours, total_machine = split_machine(
        {k: v - cpu_start.get(k, 0.0) for k, v in cpu_end.items()}, drained_at - run.began
    )
    windows: dict[int, HdrHistogram] = {}
    for ingested, terminal, _state in timings:
        w = int((ingested - run.began) // 10) * 10
        windows.setdefault(w, histogram()).record_value(max(1, min(3_600_000, int((terminal - ingested) * 1000))))
    return {
        "kind": "steps",
        "light": args.light,
        "workers": args.workers,
        "mockup_workers": args.mockup_workers,
        "partitions": args.partitions,
        "hold_s": args.hold,
        "worker_cpu_limit": args.worker_cpu,
        "throttling": throttling,
        "steps": out_steps,
        "latency_over_time": {str(w): percentiles(h) for w, h in sorted(windows.items())},
        "per_topic_arrival_s": {t: percentiles(arrivals[t]) for t in LEAD_TOPICS},
        "samples": run.samples,
        "cpu_total_s": {k: round(v, 1) for k, v in total_ours.items()},
        "cores_whole_run": total_machine,
        "enrichment_sources": sources,
        "standby_replicas": standby_replicas(),
        "changelog_records": changelogs,
        "changelog_records_per_lead": round(sum(changelogs.values()) / max(1, len(timings)), 2),
        "events_per_worker": per_worker,
        "summary": {
            k: summary[k]
            for k in (
                "leads_in",
                "terminal",
                "lost",
                "duplicate_emails",
                "leads_per_min",
                "p50_latency_s",
                "p95_latency_s",
            )
        },
    }


async def run_scaling(args: argparse.Namespace) -> dict[str, Any]:
    from simulator.leads import generate_leads
    from storage.lead_queries import LeadQueries

    points = []
    for workers in [int(w) for w in args.workers_list.split(",")]:
        run = Run(args, workers)
        await run.start()
        try:
            n = int(args.rate * args.hold / 60)
            generated = generate_leads(n, args.seed + workers)
            cpu = CpuMeter(run.demo)
            cpu0, t0 = cpu.sample(), time.time()
            await run.demo.push_generated(generated, args.rate)
            snap = await run.demo.wait_until_drained([g.lead_id for g in generated])
            cpu1, t1 = cpu.sample(), time.time()
            timings = await LeadQueries(run.demo.pool).lead_timings()
            summary = await run.demo.summary(snap, [g.lead_id for g in generated])
            changelogs = await run.changelog_records()
            per_worker = await run.stage_counts()
        finally:
            throttling = await run.stop()
        h = histogram()
        for ingested, terminal, _ in timings:
            h.record_value(max(1, min(3_600_000, int((terminal - ingested) * 1000))))
        span = max(t for _, t, _ in timings) - min(i for i, _, _ in timings) if timings else 0
        ended = len(timings)
        cpu_delta = {k: cpu1.get(k, 0.0) - cpu0.get(k, 0.0) for k in cpu1}
        points.append(
            {
                "workers": workers,
                "offered_per_min": args.rate,
                "leads": ended,
                "sustained_per_min": round(ended / span * 60, 1) if span else None,
                "latency_s": percentiles(h),
                "cpu_ms_per_lead": {k: round(v / max(1, ended) * 1000, 1) for k, v in cpu_delta.items()},
                "main_worker_cores": round(cpu_delta.get("worker-main", 0.0) / max(1e-9, t1 - t0), 2),
                "lost": summary["lost"],
                "duplicate_emails": summary["duplicate_emails"],
                "terminal": summary["terminal"],  # a run whose leads all end as dead letters is fast, not good
                "throttling": throttling,
                "standby_replicas": standby_replicas(),
                "changelog_records_per_lead": round(sum(changelogs.values()) / max(1, ended), 2),
                "events_per_worker": per_worker,
            }
        )
        print(json.dumps(points[-1]))
    return {
        "kind": "scaling",
        "light": args.light,
        "hold_s": args.hold,
        "partitions": args.partitions,
        "worker_cpu_limit": args.worker_cpu,
        "points": points,
    }


# ---- the report ------------------------------------------------------------------------------------------


def write_report(folder: Path, command_lines: dict[str, str]) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    steps = json.loads((folder / "steps.json").read_text()) if (folder / "steps.json").exists() else None
    scaling = json.loads((folder / "scaling.json").read_text()) if (folder / "scaling.json").exists() else None
    lines = [f"# Step load and scaling — {folder.name}", ""]
    lines += [
        "One 2-core machine runs everything: the Kafka 4.1 broker, PostgreSQL, Redis, the simulator, the workers "
        "(and other sessions' work: the broker's and PostgreSQL's CPU include it). Figures from `perf/bench_steps.py`.",
        "",
    ]
    if steps:
        s = steps
        path = "lightest path (tier-1 enrichment, no SPA renders, no mockups)" if s["light"] else "full default path"
        lines += [
            f"## Step load: {s['workers']} main + {s['mockup_workers']} mockup workers, {path}, {s['partitions']} "
            f"partitions, each rate held {s['hold_s']:g} s",
            "",
            f"`{command_lines.get('steps', '')}`",
            "",
            "| offered /min | pushed | sustained /min (ended in step) | e2e p50 s | p95 s | p99 s | worker CPU ms/lead | "
            "Chromium ms/lead | Kafka ms/lead | PostgreSQL ms/lead | harness ms/lead |",
            "|---|---|---|---|---|---|---|---|---|---|---|",
        ]
        for st in s["steps"]:
            c, lat = st["cpu_ms_per_lead"], st["latency_s"]
            workers = c.get("worker-main", 0) + c.get("worker-mockup", 0)
            lines.append(
                f"| {st['offered_per_min']:,.0f} | {st['pushed']} | {st['sustained_per_min']:,.0f} | {lat['p50']} | "
                f"{lat['p95']} | {lat['p99']} | {workers:.1f} | {c.get('chromium-main', 0) + c.get('chromium-mockup', 0) + c.get('chromium', 0):.1f} | {c.get('kafka', 0):.1f} | "
                f"{c.get('postgres', 0):.1f} | {c.get('harness', 0):.1f} |"
            )
        lines += ["", "Per stage: when a lead's message reached each topic, seconds after ingest (HdrHistogram):", ""]
        lines += ["| topic | n | p50 s | p95 s | p99 s |", "|---|---|---|---|---|"]
        for topic, p in s["per_topic_arrival_s"].items():
            lines.append(f"| {topic} | {p['n']} | {p['p50']} | {p['p95']} | {p['p99']} |")
        summ = s["summary"]
        lines += [
            "",
            f"Whole run: {summ['leads_in']} leads, terminal {summ['terminal']}, lost {summ['lost']}, duplicate "
            f"emails {summ['duplicate_emails']}.",
            "",
            "![throughput](throughput.png) ![latency](latency.png) ![lag](lag.png)",
            "",
        ]
        fig, ax = plt.subplots(figsize=(6, 4))
        offered = [st["offered_per_min"] for st in s["steps"]]
        ax.plot(offered, [st["sustained_per_min"] for st in s["steps"]], "o-", label="sustained")
        ax.plot(offered, offered, "--", color="grey", label="offered")
        ax.set_xlabel("offered leads/min")
        ax.set_ylabel("leads/min ended")
        ax.set_title("Throughput against offered load")
        ax.legend()
        fig.tight_layout()
        fig.savefig(folder / "throughput.png", dpi=90)
        plt.close(fig)
        fig, ax = plt.subplots(figsize=(7, 4))
        ts = sorted(int(k) for k in s["latency_over_time"])
        for q in ("p50", "p95", "p99"):
            ax.plot(ts, [s["latency_over_time"][str(t)][q] for t in ts], label=q)
        for st in s["steps"]:
            ax.axvline(st["t"][0], color="grey", lw=0.5)
            ax.text(st["t"][0], ax.get_ylim()[1] * 0.95, f"{st['offered_per_min']:.0f}/min", fontsize=7)
        ax.set_xlabel("ingest time, s into the run (10-s windows)")
        ax.set_ylabel("end-to-end latency, s")
        ax.set_title("Latency percentiles over time")
        ax.legend()
        fig.tight_layout()
        fig.savefig(folder / "latency.png", dpi=90)
        plt.close(fig)
        fig, ax = plt.subplots(figsize=(7, 4))
        stages = sorted({k for sample in s["samples"] for k in sample["lag"]})
        for stage in stages:
            ax.plot([x["t"] for x in s["samples"]], [x["lag"].get(stage, 0) for x in s["samples"]], label=stage)
        ax.set_xlabel("s into the run")
        ax.set_ylabel("consumer lag, messages")
        ax.set_title("Kafka lag per stage over time")
        ax.legend()
        fig.tight_layout()
        fig.savefig(folder / "lag.png", dpi=90)
        plt.close(fig)
    if scaling:
        pts = scaling["points"]
        lines += [
            f"## Scaling: main workers 1 → {pts[-1]['workers']}, same workload "
            f"({pts[0]['offered_per_min']:,.0f}/min offered for {scaling['hold_s']:g} s, "
            f"{'lightest path' if scaling['light'] else 'full path'})",
            "",
            f"`{command_lines.get('scaling', '')}`",
            "",
        ]
        limit = scaling.get("worker_cpu_limit")
        if limit:
            lines += [
                f"Each main worker held to {limit:g} core (its own cgroup, `perf/cpuquota.py`), as a pod's CPU limit: "
                "the curve is what one more fixed-size instance adds. Throttled = the share of the quota's 100 ms "
                "periods in which the worker used its whole quota.",
                "",
            ]
        standbys = sorted({p["standby_replicas"] for p in pts if "standby_replicas" in p})
        if standbys:
            lines += [
                f"Table standby replicas: {', '.join(map(str, standbys))} (`LEADSTREAM_TABLE_STANDBY_REPLICAS`); "
                "changelog records per lead is what each standby reads and applies again.",
                "",
            ]
        lines += [
            "| main workers | leads | sustained /min | × one worker | e2e p50 s | p95 s | worker CPU ms/lead "
            "| main workers' cores | throttled | busiest worker's dedupe share | changelog records/lead "
            "| dead letters | lost | double emails |",
            "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
        ]
        base = pts[0]["sustained_per_min"] or 1
        for p in pts:
            c = p["cpu_ms_per_lead"]
            throttle = p.get("throttling") or {}
            periods = sum(t["periods"] for t in throttle.values())
            throttled = f"{sum(t['throttled_periods'] for t in throttle.values()) / periods:.0%}" if periods else "—"
            dedupe = [w.get("dedupe", 0) for w in (p.get("events_per_worker") or {}).values()]
            busiest = f"{max(dedupe) / sum(dedupe):.0%}" if sum(dedupe) else "—"
            records = p.get("changelog_records_per_lead", "—")
            lines.append(
                f"| {p['workers']} | {p['leads']} | {p['sustained_per_min']:,.0f} | {p['sustained_per_min'] / base:.2f} | "
                f"{p['latency_s']['p50']} | {p['latency_s']['p95']} | "
                f"{c.get('worker-main', 0) + c.get('worker-mockup', 0):.1f} | {p.get('main_worker_cores', '—')} | {throttled} | "
                f"{busiest} | {records} | {(p.get('terminal') or {}).get('dead_lettered', '—')} | {p['lost']} | "
                f"{p['duplicate_emails']} |"
            )
        lines += ["", "![scaling](scaling.png)", ""]
        fig, ax = plt.subplots(figsize=(5, 4))
        ax.plot([p["workers"] for p in pts], [p["sustained_per_min"] for p in pts], "o-", label="measured")
        ax.plot([p["workers"] for p in pts], [base * p["workers"] for p in pts], "--", color="grey", label="linear")
        ax.set_xlabel("main workers")
        ax.set_ylabel("sustained leads/min")
        ax.set_title(f"Scaling curve (2 cores{f', {limit:g} core per worker' if limit else ''})")
        ax.legend()
        fig.tight_layout()
        fig.savefig(folder / "scaling.png", dpi=90)
        plt.close(fig)
    out = folder / "report.md"
    out.write_text("\n".join(lines) + "\n")
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("mode", choices=("steps", "scaling", "report"))
    parser.add_argument("--rates", default="500,1000,1500,2000,3000")
    parser.add_argument("--rate", type=float, default=3000.0, help="scaling: offered leads/min")
    parser.add_argument("--hold", type=float, default=60.0, help="seconds each rate is held")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--workers-list", default="1,2,3")
    parser.add_argument("--mockup-workers", type=int, default=1)
    parser.add_argument("--partitions", type=int, default=12)
    parser.add_argument("--seed", type=int, default=9)
    parser.add_argument("--light", action="store_true", help="the lightest path")
    parser.add_argument("--drain-timeout", type=float, default=240.0)
    parser.add_argument("--date", default=None, help="report folder name (default: today)")
    parser.add_argument(
        "--worker-cpu",
        type=float,
        default=None,
        help="hold each main worker to this many cores, as a pod's CPU limit (perf/cpuquota.py; needs a writable "
        "cgroup CPU controller)",
    )
    args = parser.parse_args()
    folder = report_dir(args.date)
    import sys

    command = "python perf/bench_steps.py " + " ".join(sys.argv[1:])
    commands_file = folder / "commands.json"
    commands = json.loads(commands_file.read_text()) if commands_file.exists() else {}
    if args.mode == "report":
        print(write_report(folder, commands))
        return
    result = asyncio.run(run_steps(args) if args.mode == "steps" else run_scaling(args))
    (folder / f"{args.mode}.json").write_text(json.dumps(result, indent=1))
    commands[args.mode] = command
    commands_file.write_text(json.dumps(commands, indent=1))
    print(write_report(folder, commands))
    if args.mode == "steps":
        for st in result["steps"]:
            print(
                f"offered {st['offered_per_min']:>6.0f}/min: sustained {st['sustained_per_min']:>7.1f}/min, "
                f"p50 {st['latency_s']['p50']} s, p95 {st['latency_s']['p95']} s, CPU ms/lead {st['cpu_ms_per_lead']}, "
                f"box busy {st['machine_cores']} cores, others' {st['others_cores']}"
            )
        summ, leads = result["summary"], max(1, result["summary"]["leads_in"])
        per_lead = {k: round(v / leads * 1000, 1) for k, v in result["cpu_total_s"].items()}
        print(
            f"offered whole run: {summ['leads_in']} leads, {summ['leads_per_min']}/min, p50 {summ['p50_latency_s']} s, "
            f"p95 {summ['p95_latency_s']} s, lost {summ['lost']}, double emails {summ['duplicate_emails']}; "
            f"CPU ms/lead (start to drained) {per_lead}, total {sum(per_lead.values()):.1f}; "
            f"box busy {result['cores_whole_run']['machine_cores']} cores, others' "
            f"{result['cores_whole_run']['others_cores']}; enrichment {result.get('enrichment_sources')}"
        )


if __name__ == "__main__":
    main()
