"""The API under a mixed load: N requests/s of ingest and status calls for D seconds, open loop.

Against the real stack of .services/env (Kafka, PostgreSQL, Redis), in a schema and topics of its own:
records `--leads` leads so status calls find them, makes an API key, then per round and per variant
starts `leadstream api` with the variant's settings, warms it up, and sends requests on a fixed
schedule with aiohttp. Request n is due at start + n/rate whatever happened before it, and its latency
is measured from that due time, not from when it was sent: a slow answer, a full connection pool or a
stalled client all count (no coordinated omission). Prints p50/p95/p99 per route (HdrHistogram),
errors by status, and the CPU the API processes and this client spent per request.

Variants run interleaved (round 1: a, b; round 2: a, b; …) so a noisy machine hurts each alike:
  before  one process, /v1/stats counted on every call (LEADSTREAM_API__WORKERS=1, __STATS_CACHE_S=0)
  after   the defaults (one process, stats counted at most once a second)
  cache   one process with the stats cache, whatever the defaults
  cores   one process per core with the stats cache;  cores-nocache  without it

`--verify` then starts a main and a mockup worker group on the run's topics and schema (the demo's
harness, lightest path) and waits until every lead answered 202 has a terminal state: the ingest path
adds no loss. Everything it made (schema with its leads and key, topics, worker data) is removed at the end.

    source .services/env
    flock /work/wt/heavy.lock python perf/bench_api.py --rate 200 --seconds 60 --rounds 2 --variants before,after
    flock /work/wt/heavy.lock python perf/bench_api.py --rate 200 --seconds 20 --variants after --verify
    python perf/bench_api.py --seconds 20 --variants after --py-spy /tmp/api-profile   # flame graph per run
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import aiohttp
import orjson
import psutil
from hdrh.histogram import HdrHistogram

from leadstream.api.keys import create_key
from leadstream.demo import Demo, DemoOptions
from leadstream.embedded import free_port
from schemas import Lead, Score, TerminalState
from storage.api_keys import ApiKeys
from storage.db import drop_isolated
from storage.lead_queries import LeadQueries
from storage.records import LeadRecords, RecordUpdate
from streams.consumer import SAFETY_NET

ROOT = Path(__file__).resolve().parents[1]
POST, GET_ONE, GET_PAGE, STATS = "POST /v1/leads", "GET /v1/leads/{id}", "GET /v1/leads", "GET /v1/stats"
MIX = ((POST, 0.5), (GET_ONE, 0.3), (GET_PAGE, 0.1), (STATS, 0.1))
VARIANTS: dict[str, dict[str, str]] = {
    "before": {"LEADSTREAM_API__WORKERS": "1", "LEADSTREAM_API__STATS_CACHE_S": "0"},
    "after": {},  # the defaults
    "cache": {"LEADSTREAM_API__WORKERS": "1", "LEADSTREAM_API__STATS_CACHE_S": "1"},
    "cores": {"LEADSTREAM_API__WORKERS": "0", "LEADSTREAM_API__STATS_CACHE_S": "1"},
    "cores-nocache": {"LEADSTREAM_API__WORKERS": "0", "LEADSTREAM_API__STATS_CACHE_S": "0"},
}
# what --verify runs the workers with: tier-1 enrichment, no SPA renders, no mockups (perf/bench_steps.py --light)
LIGHT_PATH = {"LEADSTREAM_ENRICH_TIER": "1", "LEADSTREAM_RENDER_JS": "false", "LEADSTREAM_MOCKUP_TIERS": "none"}


def histogram() -> HdrHistogram:
    return HdrHistogram(1, 600_000_000, 3)  # microseconds, 1 µs … 10 min, 3 significant digits


def ms(h: HdrHistogram, q: float) -> float:
    return h.get_value_at_percentile(q) / 1000 if h.get_total_count() else float("nan")


@dataclass
class Result:
    """One variant's requests, over one round or merged over all."""

    by_route: dict[str, HdrHistogram] = field(default_factory=lambda: {route: histogram() for route, _ in MIX})
    errors: dict[str, Counter[str]] = field(default_factory=lambda: {route: Counter() for route, _ in MIX})
    sent: int = 0
    seconds: float = 0.0
    api_cpu_s: float = 0.0
    client_cpu_s: float = 0.0
    per_process_cpu_s: list[list[float]] = field(default_factory=list)  # per round: each API process
    accepted: list[str] = field(default_factory=list)

    def merge(self, other: Result) -> None:
        for route in self.by_route:
            self.by_route[route].add(other.by_route[route])
            self.errors[route].update(other.errors[route])
        self.sent += other.sent
        self.seconds += other.seconds
        self.api_cpu_s += other.api_cpu_s
        self.client_cpu_s += other.client_cpu_s
        self.per_process_cpu_s += other.per_process_cpu_s
        self.accepted += other.accepted

    def everything(self) -> HdrHistogram:
        h = histogram()
        for each in self.by_route.values():
            h.add(each)
        return h

    def error_count(self) -> int:
        return sum(sum(c.values()) for c in self.errors.values())


# ---- setup -----------------------------------------------------------------------------------------------


class BenchDemo(Demo):
    """The demo's harness (own schema and topics, simulator, worker processes) with workers only on demand."""

    workers_wanted = False

    async def start_worker(self) -> None:
        if self.workers_wanted:
            await super().start_worker()


async def seed(pool: Any, count: int, rng: random.Random) -> list[str]:
    """`count` recorded leads (a third terminal) for the status calls to find."""
    records = LeadRecords(pool)
    ids = [f"ld_bench_{i}" for i in range(count)]
    now_ms = int(time.time() * 1000)
    for start in range(0, count, 500):
        updates = []
        for i, lead_id in enumerate(ids[start : start + 500], start):
            lead = Lead(
                lead_id=lead_id,
                geo_key=rng.choice(("NY", "CA", "TX", "IL")),
                source="bench",
                name=f"Bench Co {i}",
                zip="10002",
                vertical=rng.choice(("hvac", "plumber", "vet")),
                score=Score(value=60, tier=rng.choice("ABC"), qualified=True, rules_version="bench", base=50),
            )
            state = TerminalState.disqualified if i % 3 == 0 else None
            updates.append(RecordUpdate(lead, "score", "b" * 32, now_ms - i, state))
        await records.write(updates)
    return ids


def plan(n: int, rng: random.Random, bodies: list[bytes], ids: list[str]) -> list[tuple[str, str, bytes | None]]:
    """n requests (route, path, body), drawn from the mix; each POST takes the next unused lead."""
    routes, weights = [r for r, _ in MIX], [w for _, w in MIX]
    out: list[tuple[str, str, bytes | None]] = []
    for route in rng.choices(routes, weights, k=n):
        if route == POST:
            out.append((route, "/v1/leads", bodies.pop()))
        elif route == GET_ONE:
            out.append((route, f"/v1/leads/{rng.choice(ids)}", None))
        elif route == GET_PAGE:
            query = rng.choice(("vertical=hvac", "geography=NY", "state=disqualified", "tier=A", "state=in_flight"))
            out.append((route, f"/v1/leads?limit=20&{query}", None))
        else:
            out.append((route, "/v1/stats", None))
    return out


# ---- one API process (tree) ------------------------------------------------------------------------------


class Api:
    def __init__(self, env: dict[str, str], log: Path) -> None:
        self.port = free_port()
        self.env = {**env, "LEADSTREAM_API__PORT": str(self.port), "PYTHONPATH": str(ROOT)}
        self.log = log
        self.proc: subprocess.Popen | None = None

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "leadstream", "api"],
            env=self.env,
            cwd=ROOT,
            stdout=self.log.open("ab"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def processes(self) -> list[psutil.Process]:
        """The process uvicorn runs, and its server processes when there are several."""
        assert self.proc is not None
        top = psutil.Process(self.proc.pid)
        with contextlib.suppress(psutil.Error):
            return [top, *top.children(recursive=True)]
        return [top]

    def servers(self) -> list[psutil.Process]:
        """The processes that serve requests: those holding the listening socket (with several, not the
        supervisor above them, which binds it but serves nothing)."""
        tree = self.processes()
        out = []
        for p in tree[1:] or tree:
            with contextlib.suppress(psutil.Error):
                if any(c.status == psutil.CONN_LISTEN and c.laddr.port == self.port for c in p.net_connections("tcp")):
                    out.append(p)
        return out

    def ready(self, expected: int, kafka_port: int) -> bool:
        """`expected` server processes, each through its startup (its Kafka producer connected)."""
        servers = self.servers()
        if len(servers) < expected:
            return False
        for p in servers:
            with contextlib.suppress(psutil.Error):
                if not any(
                    c.status == psutil.CONN_ESTABLISHED and c.raddr and c.raddr.port == kafka_port
                    for c in p.net_connections("tcp")
                ):
                    return False
        return True

    def cpu(self) -> dict[int, float]:
        out = {}
        for p in self.processes():
            with contextlib.suppress(psutil.Error):
                t = p.cpu_times()
                out[p.pid] = t.user + t.system
        return out

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        tree = self.processes()
        os.killpg(self.proc.pid, signal.SIGTERM)
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()
        _, alive = psutil.wait_procs(tree, timeout=15)
        for p in alive:
            with contextlib.suppress(psutil.Error):
                p.kill()


def expected_processes(env: dict[str, str]) -> int:
    from config.sections import ApiSettings

    workers = env.get("LEADSTREAM_API__WORKERS")
    api = ApiSettings() if workers is None else ApiSettings(workers=int(workers))
    return api.process_count()


# ---- the load --------------------------------------------------------------------------------------------


async def drive(
    sessions: list[aiohttp.ClientSession],
    requests: list[tuple[str, str, bytes | None]],
    rate: float,
    result: Result | None,
) -> None:
    """Send `requests` at `rate`, open loop, request n from client n mod len(sessions); record into `result`
    (None: a warm-up, not recorded)."""
    tasks: set[asyncio.Task] = set()

    async def one(session: aiohttp.ClientSession, route: str, path: str, body: bytes | None, due: float) -> None:
        status: str
        accepted: list[str] = []
        try:
            if body is None:
                async with session.get(path) as r:
                    await r.read()
                    status = str(r.status)
                    ok = r.status == 200
            else:
                async with session.post(path, data=body, headers={"content-type": "application/json"}) as r:
                    payload = await r.read()
                    status = str(r.status)
                    ok = r.status == 202
                    if ok:
                        accepted = orjson.loads(payload)["lead_ids"]
        except (aiohttp.ClientError, TimeoutError) as exc:
            status, ok = type(exc).__name__, False
        if result is not None:
            micros = max(1, int((time.perf_counter() - due) * 1_000_000))
            result.by_route[route].record_value(min(micros, 600_000_000))
            if not ok:
                result.errors[route][status] += 1
            result.accepted += accepted

    start = time.perf_counter() + 0.05
    for n, (route, path, body) in enumerate(requests):
        due = start + n / rate
        delay = due - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        task = asyncio.create_task(one(sessions[n % len(sessions)], route, path, body, due))
        tasks.add(task)
        task.add_done_callback(tasks.discard)
    while tasks:
        await asyncio.gather(*list(tasks))
    if result is not None:
        result.sent += len(requests)
        result.seconds += time.perf_counter() - start


async def run_variant(
    name: str, round_no: int, demo: BenchDemo, args: argparse.Namespace, key: str, requests, warmup
) -> Result:
    env = {k: v for k, v in demo.env.items() if not k.startswith("LEADSTREAM_API__")}
    env.update(VARIANTS[name])
    if args.replica and os.environ.get("LEADSTREAM_REPLICA_DATABASE_URL"):
        schema = demo.database_url.rsplit("search_path=", 1)[-1]
        env["LEADSTREAM_REPLICA_DATABASE_URL"] = f"{os.environ['LEADSTREAM_REPLICA_DATABASE_URL']}?search_path={schema}"
    else:
        env.pop("LEADSTREAM_REPLICA_DATABASE_URL", None)
    api = Api(env, demo.services.workdir / f"api-{name}-{round_no}.log")
    kafka_port = urlsplit(demo.env["LEADSTREAM_KAFKA_BROKER"].split(";")[0]).port or 9092
    processes = expected_processes(env)
    api.start()
    spy = None
    try:
        deadline = time.monotonic() + 120
        while not api.ready(processes, kafka_port):
            assert api.proc is not None and api.proc.poll() is None, f"the API exited; see {api.log}"
            assert time.monotonic() < deadline, f"the API did not start; see {api.log}"
            await asyncio.sleep(0.2)
        async with contextlib.AsyncExitStack() as clients:
            # several clients, as an API has: one client opens only as many keep-alive connections as it has
            # requests in flight at once (a few at 200/s), which could all sit on one server process
            sessions = [
                await clients.enter_async_context(
                    aiohttp.ClientSession(
                        base_url=f"http://127.0.0.1:{api.port}",
                        connector=aiohttp.TCPConnector(limit=args.connections, keepalive_timeout=120),
                        headers={"X-API-Key": key},
                        timeout=aiohttp.ClientTimeout(total=30),
                    )
                )
                for _ in range(args.clients)
            ]
            await drive(sessions, warmup, args.rate, None)
            result = Result()
            if args.py_spy:
                assert api.proc is not None  # started above
                args.py_spy.mkdir(parents=True, exist_ok=True)
                out = args.py_spy / f"bench_api-{name}-r{round_no}.svg"
                spy = subprocess.Popen(
                    ["py-spy", "record", "--pid", str(api.proc.pid), "--subprocesses", "--nonblocking"]
                    + ["--duration", str(int(args.seconds)), "--rate", "100", "--format", "flamegraph", "-o", str(out)],
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                )
            api_before, client_before = api.cpu(), psutil.Process().cpu_times()
            await drive(sessions, requests, args.rate, result)
            api_after, client_after = api.cpu(), psutil.Process().cpu_times()
        result.per_process_cpu_s = [[api_after[pid] - api_before.get(pid, 0.0) for pid in api_after]]
        result.api_cpu_s = sum(result.per_process_cpu_s[0])
        result.client_cpu_s = (client_after.user + client_after.system) - (client_before.user + client_before.system)
        return result
    finally:
        if spy is not None:
            with contextlib.suppress(subprocess.TimeoutExpired):
                spy.wait(timeout=args.seconds + 30)
            if spy.poll() is None:
                spy.kill()
        api.stop()


# ---- report ----------------------------------------------------------------------------------------------


def route_table(title: str, r: Result) -> None:
    print(f"\n{title}")
    print(f"  {'route':<20}{'n':>7}{'p50 ms':>9}{'p95 ms':>9}{'p99 ms':>9}{'max ms':>9}  errors")
    for route, h in [*r.by_route.items(), ("all", r.everything())]:
        errors = r.errors.get(route) if route != "all" else sum((c for c in r.errors.values()), Counter())
        print(
            f"  {route:<20}{h.get_total_count():>7}{ms(h, 50):>9.1f}{ms(h, 95):>9.1f}{ms(h, 99):>9.1f}"
            f"{h.get_max_value() / 1000 if h.get_total_count() else 0:>9.1f}  "
            f"{dict(errors) if errors else 0}"
        )


def summary_line(name: str, r: Result, processes: int) -> str:
    h = r.everything()
    per_req = 1000 / max(r.sent, 1)
    shares = " ; ".join(  # per round, the processes above 2 % of that round's API CPU
        "/".join(str(round(100 * s / sum(each))) for s in sorted(each, reverse=True) if s > 0.02 * sum(each))
        for each in r.per_process_cpu_s
    )
    return (
        f"| {name} | {processes} | {r.sent / r.seconds:.0f} | {ms(h, 50):.1f} | {ms(h, 95):.1f} | {ms(h, 99):.1f} "
        f"| {h.get_max_value() / 1000:.0f} | {r.error_count()} | {r.api_cpu_s * per_req:.2f} "
        f"| {shares} | {r.client_cpu_s * per_req:.2f} |"
    )


# ---- main ------------------------------------------------------------------------------------------------


async def main(args: argparse.Namespace) -> int:
    variants = args.variants.split(",")
    unknown = [v for v in variants if v not in VARIANTS]
    if unknown:
        raise SystemExit(f"unknown variants {unknown}; known: {sorted(VARIANTS)}")
    if args.verify:
        os.environ.update(LIGHT_PATH)  # the workers' environment is made from this one
    rng = random.Random(args.seed)
    options = DemoOptions(
        leads=0,
        seed=args.seed,
        partitions=args.partitions,
        workers=2,
        mockup_workers=1,
        loglevel=args.worker_loglevel,
    )
    demo = BenchDemo(options)
    started_demo = False
    failed = False
    try:
        await demo.start()
        started_demo = True
        print(f"bench_api: schema and topics of run {demo.run_id}; seeding {args.leads} leads", flush=True)
        ids = await seed(demo.pool, args.leads, rng)
        key, _ = await create_key(ApiKeys(demo.pool), "bench", ["ingest", "read"], rate="1000000/second")
        per_run = int(args.rate * args.seconds)
        warm = int(args.rate * args.warmup)
        runs = args.rounds * len(variants)
        from simulator.leads import generate_leads  # the demo's generator: realistic, valid, distinct leads

        wanted = int((per_run + warm) * runs * 0.6) + 100
        bodies = [g.payload for g in generate_leads(int(wanted / 0.96) + 50, args.seed) if g.expected_valid][:wanted]
        rng.shuffle(bodies)
        print(
            f"bench_api: {args.rounds} round(s) × {variants}, {args.rate:g} requests/s for {args.seconds:g} s "
            f"after {args.warmup:g} s of warm-up, mix {dict(MIX)}, {args.clients} clients",
            flush=True,
        )
        totals = {name: Result() for name in variants}
        for round_no in range(1, args.rounds + 1):
            for name in variants:
                warmup = plan(warm, rng, bodies, ids)
                requests = plan(per_run, rng, bodies, ids)
                r = await run_variant(name, round_no, demo, args, key.token, requests, warmup)
                totals[name].merge(r)
                h = r.everything()
                print(
                    f"round {round_no} {name:<8} {r.sent / r.seconds:6.1f} req/s  p50 {ms(h, 50):6.1f}  "
                    f"p95 {ms(h, 95):6.1f}  p99 {ms(h, 99):7.1f} ms  errors {r.error_count()}  "
                    f"API {r.api_cpu_s * 1000 / max(r.sent, 1):.2f} CPU-ms/req",
                    flush=True,
                )
        for name in variants:
            route_table(f"{name}: every round", totals[name])
        print(
            "\n| variant | API processes | req/s | p50 ms | p95 ms | p99 ms | max ms | errors | API CPU-ms/req "
            "| CPU % per API process, per round | client CPU-ms/req |"
        )
        print("|---|---|---|---|---|---|---|---|---|---|---|")
        for name in variants:
            env = {**demo.env, **VARIANTS[name]}
            print(summary_line(name, totals[name], expected_processes(env)))
        for name in variants:
            r = totals[name]
            met = ms(r.everything(), 99) < 50 and r.error_count() == 0
            print(f"target (p99 < 50 ms, no errors) for {name}: {'met' if met else 'NOT met'}")
            failed |= not met
        if args.verify:
            accepted = [lead_id for name in variants for lead_id in totals[name].accepted]
            failed |= not await verify(demo, accepted, args.drain_timeout)
        return 1 if failed else 0
    finally:
        await demo.stop()  # workers, the run's topics (Demo.stop), simulator, pool
        if started_demo:
            base = os.environ["LEADSTREAM_DATABASE_URL"]
            await drop_isolated(base, f"run_{demo.run_id}", os.environ.get("LEADSTREAM_DATABASE_ADMIN_URL"))
            print(f"bench_api: dropped run_{demo.run_id} and the run's topics", flush=True)
        shutil.rmtree(demo.services.workdir, ignore_errors=True)


async def verify(demo: BenchDemo, accepted: list[str], timeout_s: float) -> bool:
    """Start the workers on the run's topics; wait until every accepted lead has a terminal state."""
    unique = sorted(set(accepted))
    print(f"\nverify: {len(accepted)} answered 202 ({len(unique)} distinct ids); starting the workers", flush=True)
    began = time.monotonic()
    demo.workers_wanted = True
    await demo.start_worker()
    queries = LeadQueries(demo.pool)
    missing = unique
    while missing and time.monotonic() - began < timeout_s:
        await asyncio.sleep(5)
        for name, proc in demo.workers.items():
            assert proc.poll() is None, f"worker {name} exited; see {demo.worker_logs[name]}"
        missing = await queries.missing_terminal(missing)
        print(f"verify: {len(unique) - len(missing)}/{len(unique)} terminal after {time.monotonic() - began:.0f} s")
    states = await queries.states_of(unique)
    print(f"verify: states of the accepted leads {dict(sorted(states.items()))}")
    if missing:
        print(f"verify: NOT met, {len(missing)} without a terminal state after {timeout_s:g} s, e.g. {missing[:5]}")
        async with aiohttp.ClientSession() as client:
            for name in demo.workers:
                with contextlib.suppress(aiohttp.ClientError, TimeoutError):
                    async with client.get(f"{demo.web_url(name)}/ready", timeout=aiohttp.ClientTimeout(5)) as r:
                        body = await r.json()
                        print(f"verify: worker {name} /ready: {body.get('reasons')} flow {body.get('flow')}")
        report_safety_nets(demo)
        await keep_worker_logs(demo)
        return False
    print(f"verify: every 202 reached a terminal state ({time.monotonic() - began:.0f} s to drain)")
    report_safety_nets(demo)
    return True


def report_safety_nets(demo: BenchDemo) -> None:
    """Print the consumer's repairs of a stalled partition (`streams.consumer`, faults 4, 7, 8) the workers logged."""
    for name, path in demo.worker_logs.items():
        with contextlib.suppress(OSError):
            lines = [line for line in path.read_text(errors="replace").splitlines() if SAFETY_NET in line]
            print(f"verify: worker {name}: {len(lines)} consumer safety-net repair(s)")
            for line in lines[:5]:
                print(f"verify:   {line[:400]}")


async def keep_worker_logs(demo: BenchDemo) -> None:
    """A failed drain: have each worker log every task's stack (SIGUSR1, SIGUSR2), then keep the logs past cleanup."""
    for proc in demo.workers.values():
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGUSR1)  # mode's dump: each task's outer frame with its locals
            os.kill(proc.pid, signal.SIGUSR2)  # leadstream.taskdump: each task's await chain, innermost line
    await asyncio.sleep(3)  # the dump is written by the worker's own event loop
    kept = Path(tempfile.mkdtemp(prefix=f"bench_api-{demo.run_id}-"))
    for path in demo.worker_logs.values():
        with contextlib.suppress(OSError):
            shutil.copy(path, kept / path.name)
    print(f"verify: worker logs with their task stacks (SIGUSR1) kept in {kept}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rate", type=float, default=200.0, help="requests per second, all routes together")
    parser.add_argument("--seconds", type=float, default=60.0, help="measured seconds per round and variant")
    parser.add_argument("--warmup", type=float, default=5.0, help="seconds at the rate before measuring (not recorded)")
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--variants", default="after", help=f"comma-separated, of {', '.join(VARIANTS)}")
    parser.add_argument("--leads", type=int, default=10_000, help="leads recorded before the run")
    parser.add_argument("--clients", type=int, default=16, help="clients sharing the rate, each its own connections")
    parser.add_argument("--connections", type=int, default=32, help="most connections one client opens")
    parser.add_argument("--partitions", type=int, default=12)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--replica", action="store_true", help="reads from LEADSTREAM_REPLICA_DATABASE_URL")
    parser.add_argument("--verify", action="store_true", help="then check every 202 reaches a terminal state")
    parser.add_argument("--drain-timeout", type=float, default=240.0, help="seconds --verify waits")
    parser.add_argument(
        "--worker-loglevel", default="warning", help="the workers' log level (info: every rebalance step)"
    )
    parser.add_argument(
        "--py-spy",
        type=Path,
        nargs="?",
        const=Path("/tmp/bench_api-py-spy"),
        default=None,
        metavar="DIR",
        help="record a flame graph of the API processes during each measured run into DIR",
    )
    sys.exit(asyncio.run(main(parser.parse_args())))
