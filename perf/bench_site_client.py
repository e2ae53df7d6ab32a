"""Client CPU per website request through the simulator's proxy: httpx (the old site client) against aiohttp.

Each simulated site (the same ones for each client in a round) gets robots.txt, its home page and /contact one after the
other (what the enrich stage asks of a site), `--concurrency` sites at once,
on uvloop as the workers run. The simulator runs in a child process, so the
CPU measured (getrusage of this process, warm-up excluded) is the client's:

* ``httpx``: `providers.http.make_client` as `WebFetcher` used it (forward-proxy
  transport, linear pool, no cookies), streamed and capped as `read_capped` read it;
* ``aiohttp``: `providers.sitehttp.SiteClient`, what `WebFetcher` uses now.

    python perf/bench_site_client.py --sites 700 --rounds 3
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import resource
import sys
import time
from pathlib import Path

import uvloop

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from perf.bench_fetch import _domains, _free_port, _wait_ready
from providers import sitehttp
from providers.http import make_client
from providers.netguard import NetGuard
from providers.web import read_capped

WARMUP_SITES = 50
MAX_BYTES = 2_000_000
HEADERS = {"Accept": "text/html,application/xhtml+xml;q=0.9,*/*;q=0.5"}


def _serve(port: int, seed: int) -> None:
    from aiohttp import web

    from simulator.app import make_app
    from simulator.core import SimConfig, Simulator

    web.run_app(make_app(Simulator(SimConfig(seed=seed))), host="127.0.0.1", port=port, print=None, access_log=None)


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


async def _httpx(proxy: str, sites: list[list[str]], concurrency: int) -> tuple[float, int]:
    client = make_client(timeout_s=10.0, proxy=proxy, max_keepalive=16, keep_cookies=False, headers=HEADERS)

    async def one(url: str) -> int:
        async with client.stream("GET", url) as response:
            body, _ = await read_capped(response, MAX_BYTES)
            dict(response.headers.multi_items())
            return len(body)

    try:
        return await _measure(one, sites, concurrency)
    finally:
        await client.aclose()


async def _aiohttp(proxy: str, sites: list[list[str]], concurrency: int) -> tuple[float, int]:
    client = sitehttp.SiteClient(proxy=proxy, guard=NetGuard(resolve_names=False), timeout_s=10.0, headers=HEADERS)

    async def one(url: str) -> int:
        async with client.get(url) as response:
            body = (await sitehttp.read_capped(response, MAX_BYTES)).body
            dict(response.headers.items())
            return len(body)

    try:
        return await _measure(one, sites, concurrency)
    finally:
        await client.aclose()


async def _measure(one, sites: list[list[str]], concurrency: int) -> tuple[float, int]:  # type: ignore[no-untyped-def]
    gate = asyncio.Semaphore(concurrency)
    received = 0

    async def site(urls: list[str]) -> None:
        nonlocal received
        async with gate:
            for url in urls:
                async with asyncio.timeout(10.0):
                    received += await one(url)

    await asyncio.gather(*(site(urls) for urls in sites[:WARMUP_SITES]))
    received, started = 0, _cpu()
    await asyncio.gather(*(site(urls) for urls in sites[WARMUP_SITES:]))
    return _cpu() - started, received


async def main(args: argparse.Namespace) -> None:
    await _wait_ready(args.port)
    proxy = f"http://127.0.0.1:{args.port}"
    clients = {"httpx": _httpx, "aiohttp": _aiohttp}
    for round_ in range(1, args.rounds + 1):
        domains = _domains(args.seed, f"r{round_}x", args.sites + WARMUP_SITES)  # the same sites for each client
        for kind in args.clients.split(","):
            sites = [[f"http://{d}/robots.txt", f"http://{d}/", f"http://{d}/contact"] for d in domains]
            wall = time.perf_counter()
            cpu, received = await clients[kind](proxy, sites, args.concurrency)
            wall = time.perf_counter() - wall
            requests = 3 * args.sites
            print(
                f"round {round_} {kind:8s} {requests} requests: client CPU {cpu / requests * 1e6:5.0f} us per request"
                f"  ({received / requests / 1024:.1f} KB each, {wall:.1f} s wall)",
                flush=True,
            )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sites", type=int, default=700)
    parser.add_argument("--concurrency", type=int, default=48)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--clients", default="httpx,aiohttp")
    args = parser.parse_args()
    args.port = _free_port()
    server = multiprocessing.Process(target=_serve, args=(args.port, args.seed), daemon=True)
    server.start()
    try:
        uvloop.run(main(args))
    finally:
        server.terminate()
