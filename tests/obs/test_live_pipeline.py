"""The real pipeline under the real Prometheus and Jaeger (issue #12: metrics, dashboards, traces).

Both worker groups (main and mockup, `leadstream.demo`) and `leadstream lag-exporter` run as
processes on the shared broker and PostgreSQL, with the simulator as the outside world. Each is
registered in Prometheus's file_sd directory with a ``run`` label, so every query below selects
this run's series only, never another checkout's. Then:

The simulator fails 10 % of Hunter and PageSpeed calls and 5 % of SendGrid sends, so retries
and the breaker have something to show.

* values scraped by Prometheus are compared with the truth in PostgreSQL and Kafka (terminal
  states, dead letters, emails sent, consumed and produced messages, zero lag after the drain,
  committed == log-end offsets, group members, partitions assigned);
* every panel of every dashboard (`ops/dashboards/*.json`) is run against Prometheus over the
  run's window, scoped to this run, and must return data; the lag and e2e latency panels are
  drawn to PNG into ``perf/reports/<date>/``;
* Jaeger's query API holds one trace with a span of each of the six stages, parent to child.

Heavy: run it under ``flock /work/wt/heavy.lock`` (about 3-4 minutes on 2 cores).
"""

from __future__ import annotations

import asyncio
import itertools
import json
import os
import re
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
import pytest_asyncio

from leadstream.demo import DEFAULT_JOBS, Demo, DemoOptions
from leadstream.embedded import free_port, wait_for_http
from leadstream.producer import LeadProducer
from ops import promql
from ops.contract import series_names
from schemas import ScrapeJob
from simulator.core import SimConfig
from simulator.leads import generate_leads

pytestmark = [pytest.mark.services, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]
LEADS = 200
MAIN_WORKERS, MOCKUP_WORKERS = 2, 1  # the main group shares its partitions: values are summed across workers
PARTITIONS = 4
STAGES = ("scrape", "enrich", "dedupe", "score", "mockup", "email")
REPORT_DIR = ROOT / "perf" / "reports" / datetime.now(UTC).strftime("%Y-%m-%d")
PNG_PANELS = {  # (dashboard uid or file stem, title start) -> file name
    ("leadstream-kafka-lag", "Lag by partition"): "lag-by-partition.png",
    ("leadstream-kafka-lag", "Lag by topic"): "lag-by-topic.png",
    ("leadstream-pipeline", "End-to-end latency p50"): "e2e-latency.png",
    ("leadstream-pipeline", "End-to-end p95 by terminal state"): "e2e-p95-by-state.png",
}


def scoped(expr: str, run: str) -> str:
    """`expr` with ``run="<run>"`` added to every selector of a contract metric (this run's series only)."""
    names = sorted(series_names(), key=len, reverse=True)
    pattern = re.compile(r"\b(" + "|".join(map(re.escape, names)) + r")\b(?![:\w])(\{)?")

    def add(match: re.Match) -> str:
        return f'{match.group(1)}{{run="{run}",' if match.group(2) else f'{match.group(1)}{{run="{run}"}}'

    return pattern.sub(add, expr)


class Prom:
    def __init__(self, url: str) -> None:
        self.url = url

    def query(self, expr: str) -> list[dict]:
        answer = httpx.get(f"{self.url}/api/v1/query", params={"query": expr}, timeout=30).json()
        assert answer["status"] == "success", answer
        return answer["data"]["result"]

    def value(self, expr: str) -> float | None:
        result = self.query(expr)
        return float(result[0]["value"][1]) if result else None

    def by(self, expr: str, label: str) -> dict[str, float]:
        return {r["metric"].get(label, ""): float(r["value"][1]) for r in self.query(expr)}


async def eventually(check, timeout_s: float = 60.0, interval_s: float = 1.0):
    """Poll `check` (a blocking call) until it returns a truthy value; return it (or the last one)."""
    deadline = time.monotonic() + timeout_s
    while True:
        value = await asyncio.to_thread(check)
        if value or time.monotonic() > deadline:
            return value
        await asyncio.sleep(interval_s)


@pytest_asyncio.fixture(scope="module")
async def live(kafka_broker, database_url, prometheus_url, jaeger_urls, svc):
    """One run of the pipeline, registered in Prometheus; yields what the tests read. Stops everything."""
    otlp, _ = jaeger_urls
    demo = Demo(
        DemoOptions(
            leads=LEADS,
            seed=23,
            partitions=PARTITIONS,
            timeout_s=420,
            workers=MAIN_WORKERS,
            mockup_workers=MOCKUP_WORKERS,
        )
    )
    run = demo.run_id
    saved = {k: os.environ.get(k) for k in ("LEADSTREAM_OTLP_ENDPOINT", "LEADSTREAM_OTLP_SERVICE_NAME")}
    budget_var = "LEADSTREAM_PROVIDERS__HUNTER__DAILY_BUDGET_USD"
    saved[budget_var] = os.environ.get(budget_var)
    os.environ.update(
        {
            "LEADSTREAM_OTLP_ENDPOINT": otlp,
            "LEADSTREAM_OTLP_SERVICE_NAME": f"leadstream-{run}",
            budget_var: "50",  # so the budget gauges have a cap to report against
        }
    )
    import svclib.prometheus as targets  # scripts/ is on sys.path once `svc` has run

    registered: list[tuple[str, str]] = []
    exporter = None
    prom = Prom(prometheus_url)
    try:
        world = SimConfig(seed=23)
        # Some transient provider failures, so retries (and the breaker) show on the dashboards too.
        world.update(
            {"hunter": {"error_rate": 0.1}, "pagespeed": {"error_rate": 0.1}, "sendgrid": {"error_rate": 0.05}}
        )
        await demo.start(world)
        for name, env in demo.group_env.items():  # main-0, main-1, mockup-0
            job = "leadstream-" + name.rsplit("-", 1)[0]
            target = f"127.0.0.1:{env['LEADSTREAM_WEB_PORT']}"
            targets.register_scrape_target(job, target, {"run": run})
            registered.append((job, target))
        port = free_port()
        exporter_log = open(demo.services.workdir / "lag-exporter.log", "ab")
        exporter = subprocess.Popen(
            [sys.executable, "-m", "leadstream", "lag-exporter", "--host", "127.0.0.1", "--port", str(port)]
            + ["--group-prefix", demo.env["LEADSTREAM_APP_ID"], "--interval", "2"],
            env={**demo.env, "PYTHONPATH": str(ROOT)},
            stdout=exporter_log,
            stderr=subprocess.STDOUT,
        )
        await wait_for_http(f"http://127.0.0.1:{port}/metrics", timeout_s=60)
        targets.register_scrape_target("leadstream-lag-exporter", f"127.0.0.1:{port}", {"run": run})
        registered.append(("leadstream-lag-exporter", f"127.0.0.1:{port}"))
        for job, target in registered:
            await asyncio.to_thread(targets.wait_target_up, job, target, 60)

        started = time.time()
        generated = generate_leads(LEADS, 23)
        await demo.push_jobs([ScrapeJob(zip=z, vertical=v, max_results=10) for z, v in DEFAULT_JOBS])
        async with LeadProducer(demo.env["LEADSTREAM_KAFKA_BROKER"], demo.env["LEADSTREAM_TOPIC_PREFIX"]) as p:
            await p.send("leads.scraped", b"CA", b'{"not": "a lead"', lead_id="ld_broken_1")  # one dead letter
        await demo.push_generated(generated, per_minute=400)  # paced: lag rises and falls on the dashboards
        ids = [g.lead_id for g in generated]
        await demo.wait_until_drained(ids)
        pg = {
            "terminal": {
                r["state"]: r["n"]
                for r in await demo.pool.fetch(
                    "SELECT state, count(*) AS n FROM leads WHERE state IS NOT NULL GROUP BY 1"
                )
            },
            "sent": await demo.pool.fetchval("SELECT count(*) FROM email_outbox WHERE status = 'sent'"),
            "dead_letters": {
                (r["stage"], r["error_type"]): r["n"]
                for r in await demo.pool.fetch(
                    "SELECT stage, error_type, count(*) AS n FROM dead_letters GROUP BY 1, 2"
                )
            },
        }
        # Prometheus scrapes every 2 s: wait until it has seen the final counts, then a few more scrapes
        # so the rate() windows of the panels cover the end of the run.
        total = sum(pg["terminal"].values())
        await eventually(lambda: prom.value(f'sum(leadstream_terminal_total{{run="{run}"}})') == total, 60)
        await eventually(lambda: prom.value(f'sum(leadstream_kafka_consumer_lag{{run="{run}"}})') == 0, 60)
        await asyncio.sleep(20)  # the table and email samplers (every 15 s) take one more reading
        yield {"demo": demo, "run": run, "prom": prom, "pg": pg, "started": started, "ended": time.time()}
    finally:
        for job, target in registered:
            targets.unregister_scrape_target(job, target)
        if exporter is not None:
            exporter.terminate()
            exporter.wait(10)
        await demo.stop()
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


async def test_scraped_values_match_postgresql_and_kafka(live):
    prom, run, pg, demo = live["prom"], live["run"], live["pg"], live["demo"]
    r = f'run="{run}"'
    main_group, mockup_group = demo.env["LEADSTREAM_APP_ID"], demo.env["LEADSTREAM_APP_ID"] + "-mockup"
    prefix = demo.env["LEADSTREAM_TOPIC_PREFIX"]

    # Every lead that ended is counted once, in its state, and its e2e latency observed once.
    terminal = prom.by(f"sum by (state) (leadstream_terminal_total{{{r}}})", "state")
    assert {k: v for k, v in terminal.items() if v} == {k: float(v) for k, v in pg["terminal"].items()}
    assert prom.value(f"sum(leadstream_lead_e2e_seconds_count{{{r}}})") == sum(pg["terminal"].values())
    # Dead letters (the generator's malformed leads and our broken message): as many as PostgreSQL holds,
    # per stage and reason.
    assert pg["dead_letters"].get(("enrich", "InvalidMessage"), 0) >= 1
    letters = prom.query(f"sum by (stage, reason) (leadstream_dead_letters_total{{{r}}}) > 0")
    assert {(x["metric"]["stage"], x["metric"]["reason"]): float(x["value"][1]) for x in letters} == {
        k: float(v) for k, v in pg["dead_letters"].items()
    }
    # Emails: the counter equals the outbox rows marked sent; the outbox gauge agrees.
    assert prom.value(f"sum(leadstream_emails_sent_total{{{r}}})") == pg["sent"]
    assert prom.value(f'max(leadstream_email_outbox_entries{{{r},status="sent"}})') == pg["sent"]
    # Messages: scrape consumed the 3 jobs; enrich consumed every lead message plus the broken one.
    consumed = prom.by(f"sum by (stage) (leadstream_stage_events_consumed_total{{{r}}})", "stage")
    assert consumed["scrape"] == len(DEFAULT_JOBS)
    produced = prom.by(f"sum by (topic) (leadstream_stage_messages_produced_total{{{r}}})", "topic")
    end = prom.by(f"sum by (topic) (leadstream_kafka_log_end_offset{{{r}}})", "topic")
    # leads.scraped holds the pushed leads, the scraped ones and the broken message; enrich read each once
    # (no worker restarted, so no redelivery).
    assert end[prefix + "leads.scraped"] == LEADS + produced["leads.scraped"] + 1
    assert consumed["enrich"] == end[prefix + "leads.scraped"]
    assert end[prefix + "leads.enriched"] == produced["leads.enriched"]
    # Lag is zero once drained, and committed == log-end for every partition each group reads.
    assert prom.value(f"sum(leadstream_kafka_consumer_lag{{{r}}})") == 0
    committed = prom.by(f'sum by (topic) (leadstream_kafka_committed_offset{{{r},group="{main_group}"}})', "topic")
    assert committed[prefix + "leads.scraped"] == end[prefix + "leads.scraped"]
    members = prom.by(f"max by (group) (leadstream_kafka_group_members{{{r}}})", "group")
    assert members[main_group] == MAIN_WORKERS and members[mockup_group] == MOCKUP_WORKERS
    assigned = prom.by(f"sum by (topic) (leadstream_worker_assigned_partitions{{{r}}})", "topic")
    assert assigned[prefix + "leads.scraped"] == PARTITIONS and assigned[prefix + "mockups.requested"] == PARTITIONS
    # Providers: calls were made and costed; the hunter budget shrank by exactly what was spent.
    assert prom.value(f'sum(leadstream_provider_calls_total{{{r},outcome="ok"}})') > 0
    spent = prom.value(f'sum(leadstream_provider_cost_usd_total{{{r},provider="hunter"}})')
    left = prom.value(f'min(leadstream_provider_budget_remaining_usd{{{r},provider="hunter"}})')
    assert spent and spent > 0 and left is not None and 50 - spent - 0.05 <= left < 50
    # Chromium rendered sites (enrich) and mockups; nothing is left open.
    renders = prom.by(f'sum by (kind) (leadstream_chromium_renders_total{{{r},outcome="ok"}})', "kind")
    assert renders.get("site", 0) > 0 and renders.get("mockup", 0) > 0
    assert prom.value(f"sum(leadstream_chromium_pages_open{{{r}}})") == 0
    assert prom.value(f"sum(leadstream_stage_in_flight{{{r}}})") == 0
    # Health: both workers live and ready; the loop lag is small.
    assert prom.value(f"max(leadstream_event_loop_lag_seconds{{{r}}})") < 2
    for env in demo.group_env.values():
        port = env["LEADSTREAM_WEB_PORT"]
        health = httpx.get(f"http://127.0.0.1:{port}/health", timeout=10)
        ready = httpx.get(f"http://127.0.0.1:{port}/ready", timeout=10)
        assert health.status_code == 200 and ready.status_code == 200, (health.text, ready.text)
    # Context for the tracing overhead (perf/bench_tracing.py): the workers' own CPU per lead, tracing on
    # (start-up included; Chromium's processes excluded).
    cpu = prom.value(f'sum(process_cpu_seconds_total{{{r},job=~"leadstream-main|leadstream-mockup"}})') or 0.0
    per_lead_ms = round(cpu / sum(pg["terminal"].values()) * 1000, 1)
    print(
        "\nlive values:",
        json.dumps(
            {
                "terminal": terminal,
                "emails_sent": pg["sent"],
                "consumed": consumed,
                "renders": renders,
                "dead_letters": {f"{k[0]}/{k[1]}": v for k, v in pg["dead_letters"].items()},
                "worker_cpu_ms_per_lead_tracing_on": per_lead_ms,
            }
        ),
    )
    REPORT_DIR.mkdir(parents=True, exist_ok=True)
    (REPORT_DIR / "live-values.json").write_text(
        json.dumps(
            {
                "run": run,
                "terminal": terminal,
                "emails_sent": pg["sent"],
                "consumed": consumed,
                "produced": produced,
                "renders": renders,
                "worker_cpu_ms_per_lead": per_lead_ms,
            },
            indent=1,
        )
        + "\n"
    )


async def test_every_dashboard_panel_returns_data_and_the_lag_and_latency_panels_are_drawn(live):
    prom, run, demo = live["prom"], live["run"], live["demo"]
    fetch = promql.prometheus_fetcher(prom.url)
    variables = {
        "main_group": demo.env["LEADSTREAM_APP_ID"],
        "mockup_group": demo.env["LEADSTREAM_APP_ID"] + "-mockup",
    }

    def scoped_fetch(expr: str, start: float, end: float, step: float) -> dict:
        return fetch(scoped(expr, run), start, end, step)

    start, end = live["started"] - 10, time.time()
    results = promql.run_panels(scoped_fetch, promql.load_all(), start, end, step=2, variables=variables)
    empty = [r.describe() for r in results if not r.has_data]
    print(f"\npanels with data: {len(results) - len(empty)}/{len(results)}")
    REPORT_DIR.mkdir(parents=True, exist_ok=True)
    drawn = []
    for result in results:
        for (dashboard, title), name in PNG_PANELS.items():
            if dashboard in result.panel.dashboard and result.panel.title.startswith(title):
                rendered = promql.render_png(result, REPORT_DIR / name)
                assert rendered.lines > 0, name
                drawn.append(name)
    (REPORT_DIR / "live-panels.txt").write_text(
        f"run {run}: {len(results) - len(empty)}/{len(results)} panels with data over "
        f"{end - start:.0f} s ({LEADS} leads + {len(DEFAULT_JOBS)} scrape jobs)\n" + "\n".join(empty) + "\n"
    )
    assert sorted(drawn) == sorted(PNG_PANELS.values())
    assert not empty, "\n".join(empty)


async def test_one_trace_in_jaeger_covers_all_six_stages(live, jaeger_urls):
    _, query = jaeger_urls
    service = f"leadstream-{live['run']}"

    def six_stage_trace() -> dict | None:
        answer = httpx.get(
            f"{query}/api/traces",
            params={"service": service, "operation": "mockup", "limit": 200, "lookback": "1h"},
            timeout=30,
        ).json()
        for trace in answer.get("data") or []:
            ops = {s["operationName"] for s in trace["spans"]}
            if set(STAGES) <= ops:
                return trace
        return None

    trace = await eventually(six_stage_trace, timeout_s=60, interval_s=3)
    assert trace, f"no trace of service {service} with spans of all of {STAGES}"
    spans = {s["spanID"]: s for s in trace["spans"]}
    stage_span = {s["operationName"]: s for s in trace["spans"] if s["operationName"] in STAGES}
    # Each stage's span is the child of the previous stage's (mockup sits between score and email).
    for before, after in itertools.pairwise(STAGES):
        parents = [ref["spanID"] for ref in stage_span[after]["references"] if ref["refType"] == "CHILD_OF"]
        assert parents == [stage_span[before]["spanID"]], (after, parents)
    # Provider calls are child spans of a stage span.
    children = [s for s in trace["spans"] if s["operationName"] not in STAGES and s["references"]]
    assert any(spans.get(ref["spanID"], {}).get("operationName") in STAGES for s in children for ref in s["references"])
    print(f"\ntrace {trace['traceID']}: {len(trace['spans'])} spans, stages {sorted(stage_span)}")
