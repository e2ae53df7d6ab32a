"""Benchmark: plain fetches (+ tech detection) and Playwright renders (+ lab metrics) through the simulator proxy.

Runs the simulator's websites in a child process (so the CPU measured here is
the fetcher's, detector's and renderer's alone), then:

* ``http``: fetches home pages of well-behaved simulated sites with bounded
  concurrency; pages/s and CPU seconds per page (fetch, and detection alone)
  of this process.
* ``browser``: renders home pages with `providers.browser.PageRenderer` in the
  shared headless Chromium (one context per page, `--render-concurrency` at
  once); pages/s, CPU seconds per page of the whole process tree — this
  process, the Playwright driver and every Chromium process, exited renderers
  included (psutil, before/after, the simulator's process excluded), by
  process type (`perf/chromium_cpu.py`) — median and p95 render time, and the
  median lab values. Chromium's launch and two warm-up renders are not
  measured. ``--variants`` measures renderer configurations side by side.

    python perf/bench_fetch.py --mode both --pages 300 --render-pages 60 --render-concurrency 2
    python perf/bench_fetch.py --mode browser --render-pages 30 --variants before,after --rounds 2
    python perf/bench_fetch.py --mode browser --profiles spa_react --render-pages 60 --screenshot   # SPA renders only
    python perf/bench_fetch.py --mode browser --profiles spa_react --render-pages 20 --gap-s 2.5 --variants dec03,after
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import resource
import socket
import statistics
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from perf import chromium_cpu
from providers.browser import PageRenderer, RenderResult
from providers.chromium import (
    CHROMIUM_ARGS,
    DEFAULT_EXECUTABLE,
    FULL_CHROMIUM,
    RENDER_COST_ARGS,
    LaunchPolicy,
    close_shared_browser,
    configure_launch,
)
from providers.netguard import FetchRefused
from providers.web import SiteError, WebFetcher
from simulator.websites import site_profile
from stages.enrich.detect import TechDetector

WELL_BEHAVED = {
    "wordpress_legacy",
    "wordpress_modern",
    "wix",
    "squarespace",
    "shopify",
    "godaddy",
    "static_bootstrap",
    "nextjs",
    "joomla",
    "weebly",
    "spa_react",
    "heavy_js",
    "layout_shift",
    "fast_modern",
    "ssrf_assets",
}


def _serve(port: int, seed: int) -> None:
    from aiohttp import web

    from simulator import websites
    from simulator.core import SimConfig, Simulator

    sim = Simulator(SimConfig(seed=seed))
    try:
        from simulator.app import make_app

        app = make_app(sim)
    except ImportError:

        async def proxied(request: web.Request) -> web.StreamResponse:
            return await websites.serve(request, sim, request.host.split(":")[0])

        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", proxied)
    web.run_app(app, host="127.0.0.1", port=port, print=None, access_log=None)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _domains(seed: int, prefix: str, count: int) -> list[str]:
    found = []
    for n in range(count * 200):  # rare profiles (--profiles spa_react: ~3 % of sites) need a wide search
        domain = f"{prefix}{n}.com"
        if site_profile(seed, domain) in WELL_BEHAVED:
            found.append(domain)
            if len(found) == count:
                break
    return found


async def _wait_ready(port: int) -> None:
    for _ in range(100):
        try:
            _, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.close()
            return
        except OSError:
            await asyncio.sleep(0.1)
    raise RuntimeError("simulator did not start")


async def bench(port: int, pages: int, concurrency: int, seed: int) -> None:
    domains = _domains(seed, "bench", pages)
    detector = TechDetector.from_file()
    fetcher = WebFetcher(f"http://127.0.0.1:{port}", timeout_s=10.0, max_bytes=2_000_000, per_domain_concurrency=2)
    gate = asyncio.Semaphore(concurrency)
    detect_cpu = 0.0
    techs = 0

    async def one(domain: str) -> None:
        nonlocal detect_cpu, techs
        async with gate:
            result = await fetcher.fetch(f"http://{domain}/")
            started = time.process_time()
            techs += len(detector.detect(result.final_url, result.headers, result.text(), result.cookies))
            detect_cpu += time.process_time() - started

    wall, cpu = time.perf_counter(), _cpu()
    await asyncio.gather(*(one(d) for d in domains))
    wall, cpu = time.perf_counter() - wall, _cpu() - cpu
    await fetcher.aclose()
    n = len(domains)
    print("== http: WebFetcher + TechDetector ==")
    print(f"pages: {n}  concurrency: {concurrency}  (each page = robots.txt + home page; sites add their own latency)")
    print(f"wall: {wall:.2f}s  pages/s: {n / wall:.1f}")
    print(
        f"cpu total: {cpu:.2f}s  cpu/page: {cpu / n * 1000:.2f} ms  (of which detection {detect_cpu / n * 1000:.2f} ms)"
    )
    print(f"technologies found: {techs} ({techs / n:.1f}/page)")


def _median(values: Sequence[float | None]) -> float | None:
    present = [v for v in values if v is not None]
    return statistics.median(present) if present else None


def _p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


def _fmt(value: float | None, digits: int = 0) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


# The defaults of 2026-12-02 (before the render-cost switches of 2026-12-03).
DEC02_ARGS = tuple(arg for arg in CHROMIUM_ARGS if arg not in RENDER_COST_ARGS)
# Before 2026-12-02: the omnibox popup pages left on (two renderer processes per browser context).
BEFORE_ARGS = tuple(arg for arg in DEC02_ARGS if not arg.startswith("--disable-features="))
VARIANTS: dict[str, dict[str, Any]] = {
    # name: PageRenderer keyword arguments
    # and a new context + page per render, Chromium's default PNG encoding, media fetched, the full browser
    "before": {
        "executable_path": FULL_CHROMIUM,
        "args": BEFORE_ARGS,
        "tab_renders": 1,
        "fast_png": False,
        "block_media": False,
    },
    "no-popups": {
        "executable_path": FULL_CHROMIUM,
        "args": DEC02_ARGS,
        "tab_renders": 1,
        "fast_png": False,
        "block_media": False,
    },
    "reuse": {"executable_path": FULL_CHROMIUM, "args": DEC02_ARGS, "fast_png": False, "block_media": False},
    "full-after": {"executable_path": FULL_CHROMIUM, "args": DEC02_ARGS},  # + fast PNG screenshots, no audio/video
    "dec02": {"args": DEC02_ARGS},  # + the headless shell when installed (DEFAULT_EXECUTABLE): 2026-12-02
    "dec03": {"idle_tab_s": None},  # + providers.chromium.RENDER_COST_ARGS (in-process GPU, all compositor stages)
    "after": {},  # + idle tabs closed after PageRenderer.idle_tab_s (they keep compositing): the defaults now
    "idle1": {"idle_tab_s": 1.0},  # idle tabs closed after 1 s instead
    "idle5": {"idle_tab_s": 5.0},  # after 5 s
}


async def bench_browser(
    port: int,
    pages: int,
    concurrency: int,
    seed: int,
    server_pid: int,
    chromium: str,
    variant: str,
    screenshot: bool,
    gap_s: float = 0.0,
) -> dict[str, float]:
    domains = _domains(seed, "render", pages + 2)
    warmup, domains = domains[:2], domains[2:]
    detector = TechDetector.from_file()
    options = {"executable_path": chromium, **VARIANTS[variant]}
    renderer = PageRenderer(proxy=f"http://127.0.0.1:{port}", max_concurrency=concurrency, timeout_s=20.0, **options)
    results: list[RenderResult] = []
    failures: list[str] = []

    async def one(domain: str, delay_s: float = 0.0) -> None:
        await asyncio.sleep(delay_s)  # --gap-s: renders arriving apart, as in the pipeline
        try:
            results.append(
                await renderer.render(f"http://{domain}/", js_paths=detector.js_paths, screenshot=screenshot)
            )
        except (SiteError, FetchRefused) as exc:
            failures.append(f"{domain}: {exc}")

    try:
        await renderer.start()
        await asyncio.gather(*(renderer.render(f"http://{d}/") for d in warmup), return_exceptions=True)
        wall = time.perf_counter()
        before = chromium_cpu.snapshot(exclude=[server_pid])
        await asyncio.gather(*(one(d, i * gap_s) for i, d in enumerate(domains)))
        if gap_s:  # the last render's gap too: what idle tabs cost until the next one would arrive
            await asyncio.sleep(max(0.0, wall + len(domains) * gap_s - time.perf_counter()))
        spent = chromium_cpu.delta(before, chromium_cpu.snapshot(exclude=[server_pid]))
        wall = time.perf_counter() - wall
    finally:
        await renderer.close()
        await close_shared_browser()
    n = len(domains)
    cpu = sum(spent.values())
    profiles = sorted({site_profile(seed, d) for d in domains})
    print(
        f"== browser [{variant}]: PageRenderer (shared headless Chromium, one context per page, unthrottled lab values) =="
    )
    print(
        f"chromium: {renderer.executable_path}  pages: {n}  render concurrency: {concurrency}"
        f"  screenshot: {screenshot}  gap: {gap_s:g} s  failures: {len(failures)}"
        f"  profiles: {', '.join(profiles)}"
    )
    print(f"wall: {wall:.2f}s  pages/s: {n / wall:.2f}  cpu total: {cpu:.2f}s  cpu/page: {cpu / n * 1000:.0f} ms")
    print(chromium_cpu.format_kinds(spent, n, "render"))
    render_ms = [r.render_ms for r in results]
    print(f"render ms: median {_fmt(_median(render_ms))}  p95 {_fmt(_p95(render_ms) if render_ms else None)}")
    print(
        f"{'median lab value':<18}{'LCP ms':>9}{'FCP ms':>9}{'CLS':>7}{'TBT ms':>9}{'TTFB ms':>9}{'load ms':>9}"
        f"{'KB':>8}{'requests':>10}"
    )
    print(
        f"{'all pages':<18}{_fmt(_median([r.lcp_ms for r in results])):>9}{_fmt(_median([r.fcp_ms for r in results])):>9}"
        f"{_fmt(_median([r.cls for r in results]), 3):>7}{_fmt(_median([r.tbt_ms for r in results])):>9}"
        f"{_fmt(_median([r.ttfb_ms for r in results])):>9}{_fmt(_median([r.load_ms for r in results])):>9}"
        f"{_fmt(_median([r.page_bytes / 1024 for r in results]), 1):>8}{_fmt(_median([r.requests for r in results])):>10}"
    )
    responsive = sum(1 for r in results if r.mobile_responsive)
    print(f"mobile responsive: {responsive}/{len(results)}  blocked requests: {sum(len(r.blocked) for r in results)}")
    for failure in failures[:5]:
        print(f"  failed: {failure}")
    chromium_s = sum(v for kind, v in spent.items() if kind not in ("python", "driver"))  # not ours, nor the driver
    print(
        f"tabs opened: {renderer.tabs_opened}  closed idle: {renderer.tabs_reaped}  chromium cpu/page: {chromium_s / n * 1000:.0f} ms"
    )
    return {
        "cpu_s_per_render": cpu / n,
        "chromium_s_per_render": chromium_s / n,
        "renders_per_s": n / wall,
        "failures": len(failures),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mode", choices=("http", "browser", "both"), default="both")
    parser.add_argument("--pages", type=int, default=300, help="http mode: pages fetched")
    parser.add_argument("--concurrency", type=int, default=32, help="http mode: fetches in flight")
    parser.add_argument("--render-pages", type=int, default=60, help="browser mode: pages rendered")
    parser.add_argument("--render-concurrency", type=int, default=2, help="browser mode: pages rendering at once")
    parser.add_argument("--chromium", default=DEFAULT_EXECUTABLE, help="for variants that do not name their own")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument(
        "--variants", default="after", help=f"browser mode: comma list measured side by side: {', '.join(VARIANTS)}"
    )
    parser.add_argument("--rounds", type=int, default=1, help="browser mode: times each variant is measured")
    parser.add_argument("--screenshot", action="store_true", help="browser mode: take the screenshot (tier 2+)")
    parser.add_argument(
        "--gap-s",
        type=float,
        default=0.0,
        help="browser mode: start render i at i × this many seconds (CPU counted to the end of the last gap), "
        "as in the pipeline, where a worker renders a single-page app every few seconds; 0: all at once",
    )
    parser.add_argument(
        "--no-sandbox", action="store_true", help="browser mode: Chromium without its sandbox (what the sandbox costs)"
    )
    parser.add_argument(
        "--profiles",
        default="",
        help="comma list of website profiles to render or fetch (default: every well-behaved one), e.g. spa_react",
    )
    args = parser.parse_args()
    if args.profiles:  # only these kinds of site (the full default path renders single-page apps only)
        WELL_BEHAVED.intersection_update(args.profiles.split(","))
        if not WELL_BEHAVED:
            parser.error(f"--profiles names no well-behaved profile: {args.profiles}")
    configure_launch(LaunchPolicy(sandbox=not args.no_sandbox))
    port = _free_port()
    server = multiprocessing.get_context("spawn").Process(target=_serve, args=(port, args.seed), daemon=True)
    server.start()
    server_pid = server.pid
    assert server_pid is not None  # started

    async def run() -> None:
        await _wait_ready(port)
        if args.mode in ("http", "both"):
            await bench(port, args.pages, args.concurrency, args.seed)
        if args.mode in ("browser", "both"):
            variants = args.variants.split(",")
            results: dict[str, list[dict[str, float]]] = {v: [] for v in variants}
            for _ in range(args.rounds):  # interleaved, so a noisy neighbour hits every variant alike
                for variant in variants:
                    results[variant].append(
                        await bench_browser(
                            port,
                            args.render_pages,
                            args.render_concurrency,
                            args.seed,
                            server_pid,
                            args.chromium,
                            variant,
                            args.screenshot,
                            args.gap_s,
                        )
                    )
            if len(variants) > 1 or args.rounds > 1:
                print(f"summary (median of {args.rounds} rounds):")
                for variant, rounds in results.items():
                    cpu = statistics.median(r["cpu_s_per_render"] for r in rounds)
                    chromium = statistics.median(r["chromium_s_per_render"] for r in rounds)
                    rate = statistics.median(r["renders_per_s"] for r in rounds)
                    print(
                        f"  {variant:<8} {cpu:.3f} cpu-s/render (chromium {chromium:.3f})  {rate:.2f} renders/s"
                        f"  {60 * rate:.0f} renders/min"
                    )

    try:
        asyncio.run(run())
    finally:
        server.terminate()
        server.join(5)


if __name__ == "__main__":
    main()
