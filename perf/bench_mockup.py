"""Mockup throughput: full mockups (LLM concept + desktop and mobile PNG + blob writes) per minute per core.

Runs the simulator in-process on loopback (LLM latency set by --llm-ms), one
Chromium, and `MockupMaker.make` over N distinct leads with bounded concurrency.
CPU time is summed over this process, the Playwright driver and every Chromium
process (psutil, by process type: `perf/chromium_cpu.py`) to give CPU-seconds
per mockup, the figure that sizes a deployment. ``--variants`` measures
renderer configurations side by side in one run (interleaved ``--rounds``
times: the machine is shared, so compare within a run, not across runs).

    python perf/bench_mockup.py --mockups 40 --render-concurrency 3
    python perf/bench_mockup.py --mockups 30 --variants before,after --rounds 2
    python perf/bench_mockup.py --mockups 40 --variants no-preview,after --rounds 3   # the email preview's cost
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
from typing import Any

from aiohttp import web

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from perf import chromium_cpu
from providers.chromium import BEGIN_FRAME_SWITCH, CHROMIUM_ARGS, DEFAULT_EXECUTABLE, FULL_CHROMIUM, RENDER_COST_ARGS
from providers.html_render import DESKTOP, MOBILE, MOBILE_SCALE, ChromiumRenderer
from providers.llm import FallbackConcepts, OllamaConcepts, OpenAIConcepts
from schemas.lead import Enrichment, Lead, Performance, Tech
from simulator.app import make_app
from simulator.core import SimConfig, Simulator
from stages.mockup.maker import PREVIEW, MockupMaker
from storage.blobs import LocalBlobStore

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


# The defaults of 2026-12-02 (before the render-cost switches of 2026-12-03).
DEC02_ARGS = tuple(arg for arg in CHROMIUM_ARGS if arg not in RENDER_COST_ARGS)
# Before 2026-12-02: Playwright's screenshot (Chromium's default PNG encoding) and the omnibox popups left on.
BEFORE_ARGS = tuple(arg for arg in DEC02_ARGS if not arg.startswith("--disable-features="))
VARIANTS: dict[str, dict[str, Any]] = {
    # name: ChromiumRenderer keyword arguments (and `preview`, MockupMaker's: PREVIEW unless given)
    "before": {"executable_path": FULL_CHROMIUM, "fast_png": False, "args": BEFORE_ARGS},
    "fast-png": {"executable_path": FULL_CHROMIUM, "fast_png": True, "args": BEFORE_ARGS},  # + fast PNG encoding
    "no-popups": {"executable_path": FULL_CHROMIUM, "args": DEC02_ARGS},  # + no omnibox popups (HEADLESS_UI_FEATURES)
    "dec02": {"args": DEC02_ARGS},  # + the headless shell when installed (DEFAULT_EXECUTABLE): 2026-12-02
    # + begin-frame pages: one frame per view, its screenshot from HeadlessExperimental.beginFrame
    "frames": {"args": DEC02_ARGS + (BEGIN_FRAME_SWITCH,)},
    "in-gpu": {"args": DEC02_ARGS + ("--in-process-gpu",)},  # dec02 + the GPU thread in the browser process
    "after": {},  # both (providers.chromium.RENDER_COST_ARGS): the defaults now
    "small-png": {"fast_png": False},  # the defaults with Chromium's default (small, slow) PNG encoding
    # The defaults without the email preview (stages/mockup/preview.py): as before 2026-12-03's preview.jpg.
    "no-preview": {"preview": None},
}


EXPECTED = {"desktop.png": DESKTOP, "mobile.png": (MOBILE[0] * MOBILE_SCALE, MOBILE[1] * MOBILE_SCALE)}


def _png_size(path: Path) -> tuple[int, int] | None:
    """(width, height) from a PNG's header; None when the file is not a PNG."""
    head = path.read_bytes()[:24]
    if head[:8] != b"\x89PNG\r\n\x1a\n" or head[12:16] != b"IHDR":
        return None
    return int.from_bytes(head[16:20], "big"), int.from_bytes(head[20:24], "big")


async def measure(args: argparse.Namespace, concepts: FallbackConcepts, variant: str) -> dict[str, float]:
    """One variant: its own Chromium, a warm-up mockup, then `args.mockups` mockups; prints and returns figures."""
    with tempfile.TemporaryDirectory(prefix="bench-mockup-") as root:
        options = {"executable_path": args.chromium, "max_concurrency": args.render_concurrency, **VARIANTS[variant]}
        preview = options.pop("preview", PREVIEW)
        renderer = ChromiumRenderer(**options)
        async with renderer:
            maker = MockupMaker(concepts, renderer, LocalBlobStore(Path(root)), quality_threshold=0.7, preview=preview)
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

            before = chromium_cpu.snapshot()
            wall = time.perf_counter()
            await asyncio.gather(*(one(n) for n in range(args.mockups)))
            wall = time.perf_counter() - wall
            spent = chromium_cpu.delta(before, chromium_cpu.snapshot())
        pngs = [path.stat().st_size for path in Path(root).rglob("*.png")]
        jpegs = [path.stat().st_size for path in Path(root).rglob("preview.jpg")]
        if len(jpegs) != (0 if preview is None else args.mockups + 1):
            raise SystemExit(f"{variant}: {len(jpegs)} previews for {args.mockups + 1} mockups")
        wrong = [path.name for path in Path(root).rglob("*.png") if _png_size(path) != EXPECTED[path.name]]
        if wrong:
            raise SystemExit(f"{variant}: {len(wrong)} PNGs that are not PNGs of their view's size")
    cpu = sum(spent.values())
    latencies.sort()
    figures = {
        "cpu_s_per_mockup": cpu / args.mockups,
        "mockups_per_min": args.mockups / wall * 60,
        "mockups_per_cpu_min": 60 * args.mockups / cpu,
        "png_kb": statistics.mean(pngs) / 1024,
        "preview_kb": statistics.mean(jpegs) / 1024 if jpegs else 0.0,
        "p50_s": statistics.median(latencies),
    }
    print(
        f"{variant:<10} {figures['cpu_s_per_mockup']:.3f} cpu-s/mockup  {figures['mockups_per_min']:6.1f} mockups/min"
        f"  {figures['mockups_per_cpu_min']:6.1f} per cpu-min  PNG {figures['png_kb']:4.0f} KB avg"
        f"  preview {figures['preview_kb']:4.1f} KB avg"
        f"  p50 {figures['p50_s']:.2f} s  sources {sources}"
    )
    print(f"           {options['executable_path']}: {chromium_cpu.format_kinds(spent, args.mockups, 'mockup')}")
    return figures


async def run(args: argparse.Namespace) -> None:
    sim = Simulator(SimConfig(seed=7))
    sim.config.update(
        {"openai": {"latency_median_ms": args.llm_ms, "latency_p95_ms": args.llm_ms * 2, "garbage_rate": args.garbage}}
    )
    runner = web.AppRunner(make_app(sim))
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    base_url = f"http://127.0.0.1:{runner.addresses[0][1]}"
    concepts = FallbackConcepts(
        [
            OpenAIConcepts(f"{base_url}/v1", "sk-bench", "gpt-4o", timeout_s=30),
            OllamaConcepts(base_url, "llama3.1", timeout_s=30),
        ]
    )
    variants = args.variants.split(",")
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    print(
        f"mockups per variant and round: {args.mockups} (desktop {DESKTOP[0]}x{DESKTOP[1]} + mobile "
        f"{MOBILE[0]}x{MOBILE[1]}@{MOBILE_SCALE}x PNG each); render concurrency {args.render_concurrency}, "
        f"stage concurrency {args.concurrency}, LLM median {args.llm_ms} ms, {cores} cores; "
        "cpu = this process + Playwright driver + every Chromium process"
    )
    results: dict[str, list[dict[str, float]]] = {v: [] for v in variants}
    try:
        for _ in range(args.rounds):  # variants interleaved, so a noisy neighbour hits them alike
            for variant in variants:
                results[variant].append(await measure(args, concepts, variant))
    finally:
        await concepts.aclose()
        await runner.cleanup()
    if args.rounds > 1 or len(variants) > 1:
        print(f"summary (median of {args.rounds} rounds):")
        for variant, rounds in results.items():
            med = {key: statistics.median(r[key] for r in rounds) for key in rounds[0]}
            print(
                f"  {variant:<10} {med['cpu_s_per_mockup']:.3f} cpu-s/mockup  {med['mockups_per_min']:6.1f} mockups/min"
                f"  {med['mockups_per_cpu_min']:6.1f} per cpu-min  PNG {med['png_kb']:4.0f} KB"
                f"  preview {med['preview_kb']:4.1f} KB"
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mockups", type=int, default=30)
    parser.add_argument("--concurrency", type=int, default=8, help="mockups in flight at once")
    parser.add_argument("--render-concurrency", type=int, default=3, help="pages rendered at once")
    parser.add_argument("--llm-ms", type=float, default=50.0, help="simulated LLM median latency")
    parser.add_argument("--garbage", type=float, default=0.0, help="share of garbage LLM answers")
    parser.add_argument("--chromium", default=DEFAULT_EXECUTABLE, help="for variants that do not name their own")
    parser.add_argument(
        "--variants",
        default="after",
        help=f"comma list of renderer configurations measured side by side: {', '.join(VARIANTS)}",
    )
    parser.add_argument("--rounds", type=int, default=1, help="times each variant is measured (interleaved)")
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
