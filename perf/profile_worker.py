"""Profile a live main (or mockup) worker with py-spy, and print CPU per lead next to throughput.

The lightest path by default; `--full` keeps the full default workload (tier-3
enrichment, SPA renders, mockups) and `--group mockup` profiles the mockup
worker instead of a main one.

Starts the pipeline (one main worker by default, so its profile is the whole
main group), pushes leads at `--rate`, lets it warm up, records the main worker
with py-spy for `--seconds`, waits until it drains, then prints: the share of
samples in what the scale-out issue named (cookie handling, thread-pool
workers, tech detection, socket writes, PostgreSQL), the top functions by own
time, throughput, and the workers' CPU per lead.

    pip install py-spy
    source /work/main/.services/env
    PYTHONPATH=$PWD python perf/profile_worker.py --leads 2000 --rate 6000          # this tree
    cd /tmp/base && PYTHONPATH=$PWD python /work/wt/scale/perf/profile_worker.py --leads 2000 --rate 6000

The workers run `python -m leadstream` in the current directory, which Python puts before
PYTHONPATH: to measure another checkout (e.g. `git archive <commit> | tar -x -C /tmp/base`), run
from inside it.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import subprocess
import time
from collections import Counter
from pathlib import Path

import psutil

LIGHT_PATH = {"LEADSTREAM_ENRICH_TIER": "1", "LEADSTREAM_RENDER_JS": "false", "LEADSTREAM_MOCKUP_TIERS": "none"}
BUCKETS = {
    "cookies (http.cookiejar, httpx cookies)": ("cookiejar", "_models.py:extract_cookies", "Cookies"),
    "thread-pool workers": ("concurrent/futures/thread.py",),
    "tech detection": ("enrich/detect.py",),
    "socket writes": ("sock_send", "socket.send", "_SelectorSocketTransport.write", "transports.py:write"),
    "PostgreSQL (asyncpg)": ("asyncpg",),
    "Kafka client (aiokafka)": ("aiokafka",),
    "pydantic": ("pydantic",),
}


def summarize(raw: Path) -> str:
    total = 0
    buckets: Counter[str] = Counter()
    leaves: Counter[str] = Counter()
    for line in raw.read_text(errors="replace").splitlines():
        stack, _, count = line.rpartition(" ")
        if not count.isdigit():
            continue
        n = int(count)
        total += n
        for name, needles in BUCKETS.items():
            if any(needle in stack for needle in needles):
                buckets[name] += n
        leaves[stack.split(";")[-1]] += n
    out = [f"py-spy: {total} samples"]
    out += [f"  {share / max(1, total):6.1%}  {name}" for name, share in buckets.most_common()]
    out.append("  top functions by own samples:")
    out += [f"  {n / max(1, total):6.1%}  {leaf[:110]}" for leaf, n in leaves.most_common(12)]
    return "\n".join(out)


def group_cpu(demo) -> dict[str, float]:
    """CPU seconds of the worker processes (and their reaped children) by group (main, mockup)."""
    groups: dict[str, float] = {}
    for name, proc in demo.workers.items():
        with contextlib.suppress(psutil.Error):
            times = psutil.Process(proc.pid).cpu_times()
            group = name.rsplit("-", 1)[0]
            groups[group] = (
                groups.get(group, 0.0) + times.user + times.system + times.children_user + times.children_system
            )
    return groups


async def main(args: argparse.Namespace) -> None:
    from leadstream.demo import Demo, DemoOptions
    from simulator.leads import generate_leads

    if not args.full:
        os.environ.update(LIGHT_PATH)
    options = {"leads": args.leads, "seed": args.seed, "partitions": args.partitions, "timeout_s": 600.0}
    if "workers" in DemoOptions.__dataclass_fields__:  # this tree; main before the scale-out work has one worker
        options.update(workers=args.workers, mockup_workers=1)
    demo = Demo(DemoOptions(**options))  # type: ignore[arg-type]
    await demo.start()
    try:
        generated = generate_leads(args.leads, args.seed)
        groups_at_start = group_cpu(demo)  # start-up (imports, recovery) is not the leads' cost
        began = time.monotonic()
        pushing = asyncio.create_task(demo.push_generated(generated, args.rate))
        await asyncio.sleep(args.warmup)
        name = next(n for n in demo.workers if n.startswith(args.group))
        raw = Path(f"/tmp/profile-{demo.run_id}-{name}.txt")
        spy = await asyncio.create_subprocess_exec(
            "py-spy", "record", "-p", str(demo.workers[name].pid), "-d", str(args.seconds), "-r", "50",
            "--format", "raw", "-o", str(raw), "--nonblocking",
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        await spy.wait()
        await pushing
        snap = await demo.wait_until_drained([g.lead_id for g in generated], began)
        summary = await demo.summary(snap, [g.lead_id for g in generated])
        groups = {g: c - groups_at_start.get(g, 0.0) for g, c in group_cpu(demo).items()}
        cpu = sum(groups.values())
    finally:
        await demo.stop()
    print(summarize(raw) if raw.exists() else "py-spy wrote nothing (is it installed? ptrace allowed?)")
    print(f"raw profile (collapsed stacks): {raw}")
    print(
        f"throughput {summary['leads_per_min']} leads/min (offered {args.rate:.0f}/min), p50 {summary['p50_latency_s']} s, "
        f"p95 {summary['p95_latency_s']} s, lost {summary['lost']}; worker processes' CPU {cpu:.1f} s (from the first push) = "
        f"{cpu / max(1, summary['leads_in']) * 1000:.1f} ms per lead ({summary['leads_in']} leads)"
    )
    per_group = ", ".join(f"{g} {c / max(1, summary['leads_in']) * 1000:.1f}" for g, c in sorted(groups.items()))
    print(f"worker CPU per lead by group (ms): {per_group}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--leads", type=int, default=3000)
    parser.add_argument("--rate", type=float, default=6000.0)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--partitions", type=int, default=12)
    parser.add_argument("--seed", type=int, default=5)
    parser.add_argument("--warmup", type=float, default=10.0)
    parser.add_argument("--seconds", type=int, default=20)
    parser.add_argument("--full", action="store_true", help="the full default path (tier 3, SPA renders, mockups)")
    parser.add_argument("--group", choices=("main", "mockup"), default="main", help="which worker group to profile")
    asyncio.run(main(parser.parse_args()))
