"""Stall seconds per fault, printed: worker kill -9 (during a rebalance) and broker kill -9 on the 3-broker cluster.

    source .services/env   # a cluster of your own if you kill brokers: scripts/services --state DIR up kafka-cluster
    flock /work/wt/heavy.lock python perf/chaos_recovery.py --scenario worker-kill --leads 400
    flock /work/wt/heavy.lock python perf/chaos_recovery.py --scenario broker-kill --leads 300
    ... --membership dynamic,static --rounds 3   # interleaved rounds of each, then a summary table
                   # static: LEADSTREAM_GROUP_INSTANCE_ID per worker, as k8s/base ships it (the default)

Uses the chaos suite's pipeline and verifier (tests/chaos/harness.py) and prints its CHAOS line:
leads, lost, sent twice, dead letters and the recovery seconds (from the fault until every
partition that had work waiting then has committed past it: its first commit after the fault), and
beside them the longest time one of those partitions had work waiting and no commit moved
(`no_progress_s`; it also counts a partition that committed once, then stalled again).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import shutil
import statistics
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "scripts")]

from simulator.leads import generate_leads  # noqa: E402
from tests.chaos.harness import ChaosPipeline, Progress, verify  # noqa: E402


def log(text: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {text}", flush=True)


# worker log lines (Faust/aiokafka at --loglevel info) that mark where a cycle's stall goes
MILESTONES = re.compile(
    r"^\[(?P<at>[\d-]+ [\d:]+,\d+)\] \[\d+\] \[\w+\] (?P<what>\[\^Worker\]: Starting|\(Re-\)joining group"
    r"|Joined group|Successfully synced group|\[\^-*Recovery\]: Worker ready)(?: '[^']+' (?P<gen>\(generation \d+\)))?"
)


def breakdown(pipeline: ChaosPipeline, progress: Progress, fault_wall: float, stall: float) -> None:
    """Where the stall went: the main workers' milestones from their logs, and when each stage's source
    topic had committed past the fault on every partition that had work waiting (seconds after the fault)."""
    if not progress.waiting_at_fault:
        log("  no partition had work waiting at the fault: this cycle measures nothing")
        return
    events = []
    for name in pipeline.names:
        if name == "mockup" or name not in pipeline.worker_logs:
            continue
        for line in pipeline.worker_logs[name].read_text(errors="replace").splitlines():
            if (m := MILESTONES.match(line)) is not None:
                at = datetime.strptime(m["at"], "%Y-%m-%d %H:%M:%S,%f").timestamp() - fault_wall
                if 0 <= at <= stall:
                    events.append((at, name, f"{m['what'].lstrip('[^-')} {m['gen'] or ''}"))
    for at, name, what in sorted(events):
        log(f"  +{at:5.1f} s {name}: {what}")
    by_topic: dict[str, float] = {}
    for tp, at in progress.cleared.items():
        topic = tp.topic.removeprefix(progress.prefix)
        by_topic[topic] = max(at, by_topic.get(topic, 0.0))
    log(
        "  committed past the fault: "
        + ", ".join(f"{t} +{at:.1f}" for t, at in sorted(by_topic.items(), key=lambda x: x[1]))
    )
    if by_topic:  # the last topic's partitions: one straggler (a slow event at the head) or all late (throughput)
        last = max(by_topic, key=lambda t: by_topic[t])
        parts = sorted((at, tp.partition) for tp, at in progress.cleared.items() if tp.topic.endswith(last))
        log(f"  {last} by partition: " + ", ".join(f"p{p} +{at:.1f}" for at, p in parts))


async def worker_kill(pipeline: ChaosPipeline, progress: Progress, cycles: int) -> list[float]:
    stalls = []
    for cycle in range(cycles):
        await asyncio.sleep(8)
        fault_at, fault_wall = time.monotonic(), time.time()
        pipeline.kill("main-1")
        log(f"cycle {cycle + 1}: killed main-1")
        stall = asyncio.create_task(progress.stall_s(fault_at))
        await asyncio.sleep(5)
        pipeline.restart("main-1")
        await asyncio.sleep(3)
        pipeline.kill("main-2")
        log("killed main-2 during the rebalance main-1's restart started")
        await asyncio.sleep(3)
        pipeline.restart("main-2")
        stalls.append(await stall)
        log(f"cycle {cycle + 1}: stall {stalls[-1]:.1f} s")
        breakdown(pipeline, progress, fault_wall, stalls[-1])
    return stalls


async def broker_kill(pipeline: ChaosPipeline, progress: Progress, cycles: int) -> list[float]:
    from svclib import kafka_cluster

    stalls = []
    for cycle in range(cycles):
        await asyncio.sleep(8)
        fault_at = time.monotonic()
        await asyncio.to_thread(kafka_cluster.kill_broker, 2)
        log(f"cycle {cycle + 1}: killed broker 2")
        stall = asyncio.create_task(progress.stall_s(fault_at))
        await asyncio.sleep(10)
        await asyncio.to_thread(kafka_cluster.start_broker, 2)
        log(f"broker 2 back after {time.monotonic() - fault_at:.1f} s")
        stalls.append(await stall)
        log(f"cycle {cycle + 1}: stall {stalls[-1]:.1f} s")
    return stalls


async def run_once(args: argparse.Namespace, membership: str) -> tuple[list[float], list[float], bool]:
    """One fresh pipeline, the scenario's faults, the verifier: (stall seconds per cycle, longest time without
    progress per cycle, clean?)."""
    broker = os.environ["LEADSTREAM_KAFKA_CLUSTER"]
    workdir = Path(tempfile.mkdtemp(prefix="chaos-"))
    pipeline = ChaosPipeline(
        f"{args.scenario}-{membership}",
        broker=broker,
        database_url=os.environ["LEADSTREAM_DATABASE_URL"],
        redis_url=os.environ["LEADSTREAM_REDIS_URL"],
        leads=args.leads,
        workdir=workdir,
        static_membership=membership == "static",
        worker_loglevel=args.loglevel,
    )
    generated = generate_leads(args.leads, 21)
    clean = False
    log(f"{membership} membership: starting (worker logs in {workdir})")
    await pipeline.start()
    try:
        log("workers ready; pushing leads")
        push = asyncio.create_task(pipeline.push_generated(generated, args.per_minute))
        async with Progress(pipeline) as progress:
            faults = worker_kill if args.scenario == "worker-kill" else broker_kill
            recovery = await faults(pipeline, progress, args.cycles)
            for cycle, (idle, where) in enumerate(zip(await progress.settle(), progress.no_progress_where), 1):
                log(f"cycle {cycle}: longest without progress {idle:.1f} s ({where})")
        await push
        log("pushed; waiting until drained")
        await pipeline.wait_until_drained([g.lead_id for g in generated])
        figures = await verify(
            pipeline,
            generated,
            scenario=pipeline.name,
            recovery_s=recovery,
            expected_errors={"InvalidMessage"},
            no_progress_s=progress.no_progress_s,
        )
        for problem in figures.problems:
            log(f"PROBLEM {problem[:400]}")
        clean = not figures.problems
    finally:
        await pipeline.stop()
    if clean and not args.keep:  # a failed or interrupted run keeps its logs to read
        shutil.rmtree(workdir, ignore_errors=True)
        log(f"clean run: removed {workdir} (--keep keeps it)")
    return recovery, progress.no_progress_s, clean


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--scenario", choices=["worker-kill", "broker-kill"], default="worker-kill")
    parser.add_argument("--leads", type=int, default=400)
    parser.add_argument("--cycles", type=int, default=2)
    parser.add_argument("--per-minute", type=float, default=900.0)
    parser.add_argument(
        "--membership",
        default="static",
        help="comma-separated group memberships to run, interleaved per round: static (k8s/base's), dynamic",
    )
    parser.add_argument("--rounds", type=int, default=1, help="rounds of every membership, interleaved")
    parser.add_argument(
        "--loglevel", default="info", help="workers' log level (info: Faust's rebalance/recovery lines)"
    )
    parser.add_argument("--keep", action="store_true", help="keep the worker logs of a clean run too")
    args = parser.parse_args()
    variants = [v.strip() for v in args.membership.split(",") if v.strip()]
    if not variants or set(variants) - {"static", "dynamic"}:
        parser.error(f"--membership: expected static and/or dynamic, got {args.membership!r}")
    stalls: dict[str, list[float]] = {v: [] for v in variants}
    idle: dict[str, list[float]] = {v: [] for v in variants}
    dirty = 0
    for round_no in range(1, args.rounds + 1):
        for membership in variants:
            log(f"round {round_no}/{args.rounds}: {membership}")
            recovery, no_progress, clean = await run_once(args, membership)
            stalls[membership] += recovery
            idle[membership] += no_progress
            dirty += not clean
    print(f"\n{args.scenario}, {args.leads} leads, {args.cycles} cycle(s) per run, {args.rounds} round(s)")
    print(
        "| membership | stalls (s) | median | max | longest without progress (s) | median | max |\n"
        "|---|---|---|---|---|---|---|"
    )
    for membership, values in stalls.items():
        shown = ", ".join(f"{v:.1f}" for v in values)
        still = idle[membership]
        print(
            f"| {membership} | {shown} | {statistics.median(values):.1f} | {max(values):.1f} "
            f"| {', '.join(f'{v:.1f}' for v in still)} | {statistics.median(still):.1f} | {max(still):.1f} |"
        )
    if dirty:
        print(f"{dirty} run(s) had problems (see PROBLEM lines above); their logs were kept")
        raise SystemExit(1)


if __name__ == "__main__":
    asyncio.run(main())
