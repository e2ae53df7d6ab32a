"""Benchmark: plain fetch + tech detection through the simulator proxy.

Runs the simulator's websites in a child process (so this process's CPU time is
the fetcher's and detector's alone), fetches home pages of well-behaved
simulated sites with bounded concurrency and prints pages/s and CPU seconds per
page (fetch, and detection on its own).

    python perf/bench_fetch.py --pages 400 --concurrency 32
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import resource
import socket
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from providers.web import WebFetcher  # noqa: E402
from simulator.websites import site_profile  # noqa: E402
from stages.techdetect import TechDetector  # noqa: E402

WELL_BEHAVED = {"wordpress_legacy", "wordpress_modern", "wix", "squarespace", "shopify", "godaddy",
                "static_bootstrap", "nextjs", "joomla", "weebly"}


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
    domains = [d for d in (f"bench{n}.com" for n in range(pages * 4)) if site_profile(seed, d) in WELL_BEHAVED][:pages]
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

    await _wait_ready(port)
    wall, cpu = time.perf_counter(), _cpu()
    await asyncio.gather(*(one(d) for d in domains))
    wall, cpu = time.perf_counter() - wall, _cpu() - cpu
    await fetcher.aclose()
    n = len(domains)
    print(f"pages: {n}  concurrency: {concurrency}  (each page = robots.txt + home page; sites add their own latency)")
    print(f"wall: {wall:.2f}s  pages/s: {n / wall:.1f}")
    print(f"cpu total: {cpu:.2f}s  cpu/page: {cpu / n * 1000:.2f} ms  (of which detection {detect_cpu / n * 1000:.2f} ms)")
    print(f"technologies found: {techs} ({techs / n:.1f}/page)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, default=300)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    port = _free_port()
    server = multiprocessing.get_context("spawn").Process(target=_serve, args=(port, args.seed), daemon=True)
    server.start()
    try:
        asyncio.run(bench(port, args.pages, args.concurrency, args.seed))
    finally:
        server.terminate()
        server.join(5)


if __name__ == "__main__":
    main()
