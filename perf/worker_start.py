"""How long a worker takes from its spawn to its partitions, printed: a main worker and a mockup worker.

    source .services/env
    flock /work/wt/heavy.lock python perf/worker_start.py --reps 5
    ... --tree /tmp/base --tree .   # compare two checkouts of the code, interleaved, in one run

Each repetition spawns `python -m leadstream worker --loglevel info` (the code of `--tree`) on the
broker of LEADSTREAM_KAFKA_BROKER, in a PostgreSQL schema and topics of its own, and times the lines
it logs from the spawn: Faust's worker start (Python's imports and `create_app` are done), the
assignment (`partitions assigned`, `leadstream.faustapp`), and Faust's "Worker ready" (tables
recovered); and the worker's CPU (user+sys, every thread) when it logs its assignment. Then it stops
the worker with SIGTERM (a graceful leave, so the next one joins an empty group) and waits for it.
The schema, topics and data dirs are made before the first repetition, so each repetition is a
restart, and are removed at the end. It prints figures only, never judges them.

    python perf/worker_start.py --imports --reps 7 --tree /tmp/base --tree .   # light: no broker, no lock

`--changelog-records N` (main group) first writes N records to the dedupe-state changelog, spread over its
partitions (the engine's own records for invented leads, encoded as Faust encodes the table's), and starts
every repetition from an empty data dir: "ready" minus "assigned" is then the replay a worker does when it takes
over partitions it has no state for, which is what a takeover without a standby costs
(`LEADSTREAM_TABLE_STANDBY_REPLICAS=0`, docs/performance.md round 8); the replay rate is printed.

`--imports` runs only `leadstream worker`'s own code up to Faust's start (its imports, the settings,
`create_app`, `faust.Worker`; `execute_from_commandline` is left out), once under `python -X importtime`
per repetition for each module's cumulative import time, and once plainly for the CPU (user+sys) and wall
time, which importtime's own bookkeeping would inflate.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import resource
import secrets
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT)]

from leadstream.embedded import free_port  # noqa: E402
from storage.db import create_pool, drop_isolated, isolated_url, migrate  # noqa: E402
from streams.admin import changelog_topic, delete_topics, ensure_topics  # noqa: E402

GROUPS = {"main": "scrape,enrich,dedupe,score,email", "mockup": "mockup"}  # as tests/chaos/harness.py runs them
TABLES = {"main": ("dedupe-state", "score-counters"), "mockup": ()}
# what each milestone's log line contains (Faust's worker at --loglevel info, and leadstream.faustapp)
MILESTONES = {"started": "[^Worker]: Starting", "assigned": "partitions assigned (", "ready": "Worker ready"}
TICKS = os.sysconf("SC_CLK_TCK")
# `leadstream worker --stages S` up to Faust's start: everything but execute_from_commandline
UP_TO_FAUST_START = """
import sys
from leadstream import cli

make_worker = cli.make_worker


class NotRun:
    def __init__(self, worker):
        self.worker = worker

    def execute_from_commandline(self):
        pass


cli.make_worker = lambda app, loglevel: NotRun(make_worker(app, loglevel))
sys.argv = ["leadstream", "worker", "--stages", sys.argv[1]]
cli.main()
"""
IMPORT_LINE = re.compile(r"import time:\s+\d+ \|\s+(\d+) \| \s*(\S+)")


def cpu_s(pid: int) -> float:
    """User+sys CPU seconds of process `pid` so far (all its threads), from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


@dataclass
class Start:
    tree: str
    group: str
    at: dict[str, float] = field(default_factory=dict)  # milestone -> seconds after the spawn
    cpu_at_assigned: float | None = None


async def one_start(tree: Path, group: str, env: dict[str, str], timeout_s: float, log: Path | None) -> Start:
    """Spawn a worker, time its milestones, stop it gracefully; its output (each line with the seconds since
    the spawn) goes to `log` if given."""
    result = Start(str(tree), group)
    spawned = time.monotonic()
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "leadstream",
        "worker",
        "--loglevel",
        "info",
        cwd=tree,
        env={**env, "PYTHONPATH": str(tree)},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
        start_new_session=True,
    )
    assert proc.stdout is not None
    tail: list[str] = []
    try:
        async with asyncio.timeout(timeout_s):
            while "ready" not in result.at:
                line = (await proc.stdout.readline()).decode(errors="replace")
                if not line:
                    raise RuntimeError(f"worker exited ({await proc.wait()}):\n" + "".join(tail[-20:]))
                now = time.monotonic() - spawned
                tail.append(f"{now:7.3f} {line}")
                for name, text in MILESTONES.items():
                    if text in line and name not in result.at:
                        result.at[name] = now
                        if name == "assigned":
                            result.cpu_at_assigned = cpu_s(proc.pid)
    finally:
        if proc.returncode is None:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                async with asyncio.timeout(60):
                    await proc.stdout.read()  # drain, so the worker never blocks on a full pipe
                    await proc.wait()
            except TimeoutError:
                os.killpg(proc.pid, signal.SIGKILL)
                await proc.wait()
        if log is not None:
            log.write_text("".join(tail))
    return result


def up_to_faust_start(tree: Path, group: str, importtime: bool) -> tuple[float, float, dict[str, float]]:
    """(CPU s, wall s, cumulative import ms per module if `importtime`) of one run of UP_TO_FAUST_START."""
    env = {
        **os.environ,
        "PYTHONPATH": str(tree),
        "LEADSTREAM_EMAIL__UNSUBSCRIBE_SECRET": secrets.token_urlsafe(32),
        "LEADSTREAM_DATA_DIR": tempfile.gettempdir() + "/worker-start-imports",
    }
    before, began = resource.getrusage(resource.RUSAGE_CHILDREN), time.monotonic()
    done = subprocess.run(
        [sys.executable, *(["-X", "importtime"] if importtime else []), "-c", UP_TO_FAUST_START, GROUPS[group]],
        cwd=tree,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    wall, after = time.monotonic() - began, resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode:
        raise RuntimeError(f"{tree} {group}: exit {done.returncode}\n{done.stderr[-3000:]}")
    modules: dict[str, float] = {}
    for m in IMPORT_LINE.finditer(done.stderr):
        modules.setdefault(m[2], int(m[1]) / 1000)
    cpu = after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime
    return cpu, wall, modules


def imports(trees: list[Path], groups: list[str], reps: int, top: int) -> None:
    """Print, per group and tree, the median CPU and wall time up to Faust's start, and the modules with the
    largest median cumulative import time (in the first tree) side by side for every tree."""
    for group in groups:
        cpu: dict[Path, list[float]] = {tree: [] for tree in trees}
        wall: dict[Path, list[float]] = {tree: [] for tree in trees}
        cumulative: dict[Path, dict[str, list[float]]] = {tree: {} for tree in trees}
        for _ in range(reps):
            for tree in trees:  # interleaved
                c, w, _ = up_to_faust_start(tree, group, importtime=False)
                cpu[tree].append(c)
                wall[tree].append(w)
                for module, ms in up_to_faust_start(tree, group, importtime=True)[2].items():
                    cumulative[tree].setdefault(module, []).append(ms)
        print(f"\n{group}: up to Faust's start, {reps} runs each (medians)")
        for tree in trees:
            loaded = len([m for m, runs in cumulative[tree].items() if len(runs) > reps // 2])  # in most runs
            print(
                f"  CPU {statistics.median(cpu[tree]):5.2f} s  wall {statistics.median(wall[tree]):5.2f} s"
                f"  modules {loaded}  {tree}"
            )
        first = cumulative[trees[0]]
        ranked = sorted(first, key=lambda m: -statistics.median(first[m]))[:top]
        print("  cumulative import ms (python -X importtime), " + " | ".join(t.name or str(t) for t in trees))
        for module in ranked:
            cells = [
                f"{statistics.median(cumulative[t][module]):7.1f}" if module in cumulative[t] else "      -"
                for t in trees
            ]
            print(f"  {' | '.join(cells)}  {module}")


def engine_changelog(records: int) -> list[tuple[str, str | None]]:
    """The first ``records`` changelog records the dedupe engine logs for a stream of invented leads (about one
    in four a listing of an earlier business, another spelling), in order: entities, lead outcomes, retention and
    sequence keys, as `stages.dedupe.state` logs them."""
    import random

    from stages.dedupe.engine import EntityResolver
    from stages.dedupe.record import DedupeInput

    class Log(dict):
        def __init__(self) -> None:
            super().__init__()
            self.records: list[tuple[str, str | None]] = []

        def __setitem__(self, key: str, value: str) -> None:
            self.records.append((key, value))
            super().__setitem__(key, value)

        def __delitem__(self, key: str) -> None:
            self.records.append((key, None))
            super().__delitem__(key)

    rng = random.Random(7)
    log = Log()
    resolver = EntityResolver(log, derived={}, clock=lambda: 1_700_000_000.0)
    words = ["Acme", "Sunrise", "Golden", "Pacific", "Cedar", "Harbor", "Summit", "Maple", "Union", "Bright"]
    kinds = ["Plumbing", "Dental", "Bakery", "Auto Repair", "Law Office", "Salon", "Roofing", "Cafe"]
    lead = 0
    while len(log.records) < records:
        b = rng.randrange(max(1, lead * 3 // 4) + 1)
        name = f"{words[b % 10]} {words[b // 10 % 10]} {kinds[b % 8]} {b}"
        row = {
            "id": f"ld_{lead:012d}",
            "name": name if rng.random() < 0.7 else name.upper() + " LLC",
            "address": f"{100 + b % 9000} {words[b // 7 % 10]} St",
            "zip": f"9{b % 10000:04d}",
            "phone": f"310-{b % 1000:03d}-{b % 10000:04d}",
        }
        resolver.resolve(DedupeInput.from_row(row))
        lead += 1
    print(f"  changelog: {records:,} records of {lead:,} leads ({records / lead:.2f} per lead), from the engine")
    return log.records[:records]


async def fill_changelog(broker: str, topic: str, records: int) -> None:
    """`records` changelog records over the topic's 12 partitions, the engine's own (`engine_changelog`), JSON-encoded
    twice as Faust's json serializer stores a table's JSON-text values."""
    import zlib

    import orjson
    from aiokafka import AIOKafkaProducer

    from streams.admin import bootstrap_servers

    producer = AIOKafkaProducer(bootstrap_servers=bootstrap_servers(broker), linger_ms=50, max_batch_size=262_144)
    await producer.start()
    try:
        for key, value in engine_changelog(records):
            payload = None if value is None else orjson.dumps(value)
            await producer.send(topic, payload, key=orjson.dumps(key), partition=zlib.crc32(key.encode()) % 12)
        await producer.flush()
    finally:
        await producer.stop()


def median(values: list[float]) -> str:
    return f"{statistics.median(values):5.2f}" if values else "    -"


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--reps", type=int, default=5, help="repetitions of each (tree, group)")
    parser.add_argument("--group", choices=[*GROUPS, "both"], default="both")
    parser.add_argument("--tree", action="append", type=Path, help="a checkout to run (repeat); default: this one")
    parser.add_argument("--timeout", type=float, default=180.0, help="seconds one start may take")
    parser.add_argument("--log-dir", type=Path, help="keep each worker's output (lines up to Worker ready) here")
    parser.add_argument("--imports", action="store_true", help="only the imports up to Faust's start (no broker)")
    parser.add_argument("--top", type=int, default=25, help="--imports: how many modules to list")
    parser.add_argument(
        "--changelog-records",
        type=int,
        default=0,
        help="main group: write this many dedupe-state changelog records first; each rep replays them from empty",
    )
    args = parser.parse_args()
    trees = [tree.resolve() for tree in args.tree or [ROOT]]
    groups = list(GROUPS) if args.group == "both" else [args.group]
    if args.imports:
        imports(trees, groups, args.reps, args.top)
        return
    run_id = secrets.token_hex(4)
    base_url = os.environ["LEADSTREAM_DATABASE_URL"]
    admin_url = os.environ.get("LEADSTREAM_DATABASE_ADMIN_URL") or None
    broker = os.environ["LEADSTREAM_KAFKA_BROKER"]
    workdir = Path(tempfile.mkdtemp(prefix="worker-start-"))
    if args.log_dir:
        args.log_dir.mkdir(parents=True, exist_ok=True)
    schema, prefix = f"wstart_{run_id}", f"wstart-{run_id}."
    database_url = await isolated_url(base_url, schema, admin_url)
    pool = await create_pool(database_url, size=1)
    try:
        await migrate(pool)
    finally:
        await pool.close()
    envs: dict[tuple[Path, str], dict[str, str]] = {}
    for t, tree in enumerate(trees):
        for group in groups:
            app_id = f"wstart-{run_id}-{t}-{group}"  # a group of its own per (tree, group)
            await ensure_topics(
                broker, partitions=12, replication=1, prefix=prefix, app_id=app_id, tables=TABLES[group]
            )
            if group == "main" and args.changelog_records:
                await fill_changelog(broker, changelog_topic(app_id, "dedupe-state"), args.changelog_records)
            envs[tree, group] = {
                **os.environ,
                "LEADSTREAM_DATABASE_URL": database_url,
                "LEADSTREAM_APP_ID": app_id,
                "LEADSTREAM_TOPIC_PREFIX": prefix,
                "LEADSTREAM_STAGES": GROUPS[group],
                "LEADSTREAM_WEB_PORT": str(free_port()),
                "LEADSTREAM_DATA_DIR": str(workdir / f"data-{t}-{group}"),
                "LEADSTREAM_BLOB_DIR": str(workdir / "blobs"),
                "LEADSTREAM_EMAIL__UNSUBSCRIBE_SECRET": secrets.token_urlsafe(32),
            }
    starts: list[Start] = []
    print(f"worker_start: {args.reps} reps x {groups} x {[str(t) for t in trees]} on {broker}", flush=True)
    print(f"{'rep':>3} {'group':<6} {'started s':>9} {'assigned s':>10} {'ready s':>8} {'CPU s':>6}  tree", flush=True)
    try:
        for rep in range(1, args.reps + 1):
            for group in groups:
                for tree in trees:  # interleaved: load drifts hit every tree alike
                    log = args.log_dir / f"{group}-{trees.index(tree)}-{rep}.log" if args.log_dir else None
                    if args.changelog_records:  # replay from nothing, as a new owner without a standby does
                        shutil.rmtree(envs[tree, group]["LEADSTREAM_DATA_DIR"], ignore_errors=True)
                    s = await one_start(tree, group, envs[tree, group], args.timeout, log)
                    starts.append(s)
                    cpu = f"{s.cpu_at_assigned:6.2f}" if s.cpu_at_assigned is not None else "     -"
                    at = [f"{s.at[m]:{w}.2f}" if m in s.at else " " * w for m, w in (("started", 9), ("assigned", 10))]
                    print(f"{rep:>3} {group:<6} {at[0]} {at[1]} {s.at.get('ready', 0):8.2f} {cpu}  {tree}", flush=True)
                    if group == "main" and args.changelog_records and {"assigned", "ready"} <= s.at.keys():
                        replay = s.at["ready"] - s.at["assigned"]
                        print(
                            f"    replayed {args.changelog_records:,} records in {replay:.1f} s after the "
                            f"assignment: {args.changelog_records / replay:,.0f} records/s",
                            flush=True,
                        )
        print("\nmedians (seconds after the spawn)", flush=True)
        print(f"{'group':<6} {'started':>7} {'assigned':>8} {'ready':>6} {'CPU@assigned':>12}  tree")
        for group in groups:
            for tree in trees:
                mine = [s for s in starts if s.group == group and s.tree == str(tree)]
                got = {m: [s.at[m] for s in mine if m in s.at] for m in MILESTONES}
                cpus = [s.cpu_at_assigned for s in mine if s.cpu_at_assigned is not None]
                print(
                    f"{group:<6} {median(got['started']):>7} {median(got['assigned']):>8} {median(got['ready']):>6}"
                    f" {median(cpus):>12}  {tree} (n={len(mine)})",
                    flush=True,
                )
    finally:
        await drop_isolated(base_url, schema, admin_url)
        app_ids = tuple(env["LEADSTREAM_APP_ID"] + "-" for env in envs.values())
        deleted = await delete_topics(broker, prefixes=(prefix, *app_ids))
        print(f"worker_start: dropped {schema} and {len(deleted)} topics", flush=True)
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    asyncio.run(main())
