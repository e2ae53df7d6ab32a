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
import json
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


def thread_cpu(pid: int) -> dict[int, tuple[float, float]]:
    """(user, system) CPU seconds of each thread of `pid` (from /proc; {} where unreadable)."""
    ticks = os.sysconf("SC_CLK_TCK")
    out: dict[int, tuple[float, float]] = {}
    for task in Path(f"/proc/{pid}/task").glob("*"):
        with contextlib.suppress(OSError, ValueError, IndexError):
            fields = (task / "stat").read_text().rpartition(")")[2].split()
            out[int(task.name)] = (int(fields[11]) / ticks, int(fields[12]) / ticks)  # utime, stime
    return out


async def thread_names(pid: int) -> dict[int, str]:
    """Python thread names by OS thread id (py-spy dump), with the innermost frame of each for the unnamed."""
    proc = await asyncio.create_subprocess_exec(
        "py-spy", "dump", "-p", str(pid), "--json", "--nonblocking",
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    out, _ = await proc.communicate()
    names: dict[int, str] = {}
    with contextlib.suppress(ValueError):
        for thread in json.loads(out or b"[]"):
            frames = [f"{f.get('name')} ({f.get('filename', '').rsplit('/', 1)[-1]})" for f in thread.get("frames", [])]
            where = next((f for f in reversed(frames) if "threading" not in f), "")
            names[int(thread.get("os_thread_id") or 0)] = f"{thread.get('thread_name') or '?'} [{where[:60]}]"
    return names


def thread_summary(
    before: dict[int, tuple[float, float]], after: dict[int, tuple[float, float]], names: dict[int, str], pid: int
) -> str:
    """Each thread's share of the process's CPU over the py-spy window, user and system (py-spy's samples are
    wall time of threads not idle: a thread preempted inside a syscall counts, so they overstate I/O)."""
    zero = (0.0, 0.0)
    used = {tid: (u - before.get(tid, zero)[0], s - before.get(tid, zero)[1]) for tid, (u, s) in after.items()}
    total = sum(u + s for u, s in used.values()) or 1.0
    system = sum(s for _, s in used.values())
    lines = [f"  per-thread CPU over the window: {total:.1f} s ({system / total:.0%} system)"]
    for tid, (u, s) in sorted(used.items(), key=lambda kv: -sum(kv[1]))[:6]:
        label = "main" if tid == pid else names.get(tid, "?")
        lines.append(f"  {(u + s) / total:6.1%}  {u:5.1f} s user {s:5.1f} s sys  {label}")
    return "\n".join(lines)


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
        pid = demo.workers[name].pid
        raw = Path(f"/tmp/profile-{demo.run_id}-{name}.txt")
        names = await thread_names(pid)
        threads_before = thread_cpu(pid)
        spy = await asyncio.create_subprocess_exec(
            "py-spy", "record", "-p", str(pid), "-d", str(args.seconds), "-r", "50",
            "--format", "raw", "-o", str(raw), "--nonblocking", *(["--gil"] if args.gil else []),
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        await spy.wait()
        threads = thread_summary(threads_before, thread_cpu(pid), names, pid)
        await pushing
        snap = await demo.wait_until_drained([g.lead_id for g in generated], began)
        summary = await demo.summary(snap, [g.lead_id for g in generated])
        groups = {g: c - groups_at_start.get(g, 0.0) for g, c in group_cpu(demo).items()}
        cpu = sum(groups.values())
    finally:
        await demo.stop()
    print(summarize(raw) if raw.exists() else "py-spy wrote nothing (is it installed? ptrace allowed?)")
    print(threads)
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
    parser.add_argument(
        "--gil", action="store_true", help="py-spy samples only threads holding the GIL (CPU in Python, not waits)"
    )
    parser.add_argument("--full", action="store_true", help="the full default path (tier 3, SPA renders, mockups)")
    parser.add_argument("--group", choices=("main", "mockup"), default="main", help="which worker group to profile")
    asyncio.run(main(parser.parse_args()))
