"""Mockup throughput: full mockups (LLM concept + desktop and mobile PNG + blob writes) per minute per core.

Runs the simulator in-process on loopback (LLM latency set by --llm-ms), one
Chromium, and `MockupMaker.make` over N distinct leads with bounded concurrency.
CPU time is summed over this process and its Chromium children (psutil, when
installed) to give CPU-seconds per mockup, the figure that sizes a deployment.

    python perf/bench_mockup.py --mockups 40 --render-concurrency 3
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

from aiohttp import web

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from providers.html_render import ChromiumRenderer
from providers.llm import FallbackConcepts, OllamaConcepts, OpenAIConcepts
from schemas.lead import Enrichment, Lead, Performance, Tech
from simulator.app import make_app
from simulator.core import SimConfig, Simulator
from stages.mockup.maker import MockupMaker
from storage.blobs import LocalBlobStore

try:
    import psutil
except ImportError:  # CPU figures are skipped without it
    psutil = None

VERTICALS = ("plumber", "hvac", "roofer", "dentist", "vet", "electrician", "bakery")


def _lead(n: int) -> Lead:
    return Lead(
        lead_id=f"ld_bench{n:05d}",
        geo_key="IL:627",
        source="bench",
        name=f"Bench Business {n}",
        city="Springfield",
        state="IL",
        zip="62701",
        website=f"http://bench{n}.example",
        vertical=VERTICALS[n % len(VERTICALS)],
        enrichment=Enrichment(
            tech=[Tech(name="jQuery", version="1.12.4")] if n % 2 else [Tech(name="WordPress", version="5.9")],
            performance=Performance(lcp_ms=1800 + 300 * (n % 10), https=bool(n % 3), mobile_responsive=bool(n % 4)),
        ),
    )


def _cpu_seconds() -> float | None:
    if psutil is None:
        return None
    me = psutil.Process()
    total = 0.0
    for proc in [me, *me.children(recursive=True)]:
        try:
            times = proc.cpu_times()
            total += times.user + times.system
        except psutil.Error:
            pass
    return total


async def run(args: argparse.Namespace) -> None:
    sim = Simulator(SimConfig(seed=7))
    sim.config.update(
        {"openai": {"latency_median_ms": args.llm_ms, "latency_p95_ms": args.llm_ms * 2, "garbage_rate": args.garbage}}
    )
    runner = web.AppRunner(make_app(sim))
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    base_url = f"http://127.0.0.1:{site._server.sockets[0].getsockname()[1]}"
    concepts = FallbackConcepts(
        [
            OpenAIConcepts(f"{base_url}/v1", "sk-bench", "gpt-4o", timeout_s=30),
            OllamaConcepts(base_url, "llama3.1", timeout_s=30),
        ]
    )
    with tempfile.TemporaryDirectory(prefix="bench-mockup-") as root:
        async with ChromiumRenderer(args.chromium, max_concurrency=args.render_concurrency) as renderer:
            maker = MockupMaker(concepts, renderer, LocalBlobStore(Path(root)), quality_threshold=0.7)
            await maker.make(_lead(99999))  # warm-up: browser, fonts, template
            gate = asyncio.Semaphore(args.concurrency)
            latencies: list[float] = []
            sources: dict[str, int] = {}

            async def one(n: int) -> None:
                async with gate:
                    started = time.perf_counter()
                    ref = await maker.make(_lead(n))
                    latencies.append(time.perf_counter() - started)
                    sources[ref.concept_source] = sources.get(ref.concept_source, 0) + 1

            cpu_before, wall_before = _cpu_seconds(), time.perf_counter()
            await asyncio.gather(*(one(n) for n in range(args.mockups)))
            wall = time.perf_counter() - wall_before
            cpu_after = _cpu_seconds()
    await concepts.aclose()
    await runner.cleanup()

    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    per_minute = args.mockups / wall * 60
    latencies.sort()
    print(f"mockups: {args.mockups} (desktop 1200x800 + mobile 390x844@2x each), sources {sources}")
    print(
        f"render concurrency {args.render_concurrency}, stage concurrency {args.concurrency}, LLM median {args.llm_ms} ms"
    )
    print(
        f"wall: {wall:.1f} s -> {per_minute:.1f} mockups/min on {cores} cores = {per_minute / cores:.1f} per minute per core"
    )
    print(f"latency: p50 {statistics.median(latencies):.2f} s, p95 {latencies[int(0.95 * (len(latencies) - 1))]:.2f} s")
    if cpu_before is not None and cpu_after is not None:
        cpu = cpu_after - cpu_before
        print(
            f"cpu: {cpu:.1f} cpu-s (python + chromium) = {cpu / args.mockups:.2f} cpu-s per mockup "
            f"-> {60 * args.mockups / cpu:.1f} mockups per cpu-minute"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mockups", type=int, default=30)
    parser.add_argument("--concurrency", type=int, default=8, help="mockups in flight at once")
    parser.add_argument("--render-concurrency", type=int, default=3, help="pages rendered at once")
    parser.add_argument("--llm-ms", type=float, default=50.0, help="simulated LLM median latency")
    parser.add_argument("--garbage", type=float, default=0.0, help="share of garbage LLM answers")
    parser.add_argument("--chromium", default="/usr/bin/chromium")
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
