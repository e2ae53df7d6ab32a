"""Benchmark: the enrich stage alone, as the worker builds it, on generated leads against the simulator.

The simulator (websites through its proxy, PageSpeed, Hunter, fixture DNS) runs
in a child process, so the CPU measured is this process's alone: the enricher
with its fetcher, providers, guards (shared rate limits and response cache in
Redis, no cost ledger: no database), MX checks and blob store. Chromium (SPA
renders) runs in its own processes and is not counted here. Prints leads/s and
CPU ms per enriched lead for each configuration; ``--profile FILE`` writes a
cProfile of the last round.

    source /work/main/.services/env
    PYTHONPATH=$PWD python perf/bench_enrich.py --leads 600 --tiers 1,3 --rounds 2
    PYTHONPATH=$PWD python perf/bench_enrich.py --leads 600 --tiers 3 --profile /tmp/enrich.prof
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import itertools
import multiprocessing
import os
import resource
import sys
import tempfile
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


# --variants: settings that leave one tier-3 part out, to measure what it costs by difference
VARIANTS = {
    "no-hunter": {
        "LEADSTREAM_ENRICH_WATERFALL": "email=website;performance=pagespeed,browser,http;screenshot=pagespeed,browser"
    },
    "no-mx": {"LEADSTREAM_MX_CHECK": "false"},
    "no-screenshot": {
        "LEADSTREAM_ENRICH_WATERFALL": "email=website,hunter;performance=pagespeed,browser,http;screenshot="
    },
    "no-rate": {"LEADSTREAM_PER_DOMAIN_RATE": ""},
}


def _serve(seed: int, conn) -> None:  # type: ignore[no-untyped-def]
    from simulator.app import start_simulator
    from simulator.core import SimConfig, Simulator
    from simulator.dns import start_dns

    async def run() -> None:
        sim = Simulator(SimConfig(seed=seed))
        _, url = await start_simulator(sim)
        _, dns = await start_dns(sim)
        conn.send((url, dns))
        await asyncio.Event().wait()

    asyncio.run(run())


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _env(sim_url: str, dns: str, tier: int, render_js: bool, blob_dir: str) -> dict[str, str]:
    """The demo worker's provider settings (leadstream.demo), on a fresh cache prefix."""
    return {
        "LEADSTREAM_TOPIC_PREFIX": f"bench-enrich-{uuid.uuid4().hex[:8]}.",
        "LEADSTREAM_WEB_PROXY": sim_url,
        "LEADSTREAM_FETCH_ALLOWLIST": sim_url.split("://", 1)[1],
        "LEADSTREAM_HUNTER_BASE_URL": sim_url,
        "LEADSTREAM_HUNTER_API_KEY": "sim-hunter-key-0123456789",
        "LEADSTREAM_PAGESPEED_BASE_URL": sim_url,
        "LEADSTREAM_PAGESPEED_API_KEY": "sim-key",
        "LEADSTREAM_DNS_NAMESERVERS": dns,
        "LEADSTREAM_PROVIDERS__HUNTER__RATE": "50/second",
        "LEADSTREAM_PROVIDERS__PAGESPEED__RATE": "50/second",
        "LEADSTREAM_ENRICH_TIER": str(tier),
        "LEADSTREAM_RENDER_JS": "true" if render_js else "false",
        "LEADSTREAM_BLOB_DIR": blob_dir,
    }


async def one_round(leads: list, env: dict[str, str], concurrency: int, profile: cProfile.Profile | None) -> dict:
    from config import Settings
    from providers.http import TransientProviderError
    from stages.enrich.build import build_enricher

    os.environ.update(env)
    settings = Settings()
    enricher, closers = await build_enricher(settings, None)
    gate = asyncio.Semaphore(concurrency)
    outcomes: dict[str, int] = {}

    async def one(lead) -> None:  # type: ignore[no-untyped-def]
        async with gate:
            try:
                e = await enricher.enrich(lead)
                key = f"{e.status}{'+render' if e.rendered else ''}"
            except TransientProviderError:
                key = "transient"
            outcomes[key] = outcomes.get(key, 0) + 1

    try:
        await asyncio.gather(*(one(lead) for lead in leads[:20]))  # warm-up: connections, Chromium's launch
        cpu, began = _cpu(), time.perf_counter()
        if profile is not None:
            profile.enable()
        await asyncio.gather(*(one(lead) for lead in leads[20:]))
        if profile is not None:
            profile.disable()
        cpu, wall = _cpu() - cpu, time.perf_counter() - began
    finally:
        for close in closers:
            await close()
    n = len(leads) - 20
    return {"leads": n, "per_s": n / wall, "cpu_ms": cpu / n * 1000, "outcomes": outcomes}


async def main(args: argparse.Namespace) -> None:
    from schemas.lead import Lead, RawLead
    from simulator.leads import generate_leads

    leads = []
    for g in generate_leads(args.leads + 20, args.seed):
        if g.expected_valid:
            leads.append(Lead.from_raw(RawLead.model_validate_json(g.payload)))
    ctx = multiprocessing.get_context("spawn")
    parent, child = ctx.Pipe()
    server = ctx.Process(target=_serve, args=(args.seed, child), daemon=True)
    server.start()
    try:
        sim_url, dns = parent.recv()
        configs = [
            (int(t), rj) for t in args.tiers.split(",") for rj in ([True, False] if args.render_both else [True])
        ]
        variants: dict[str, dict[str, str]] = {"default": {}} | {
            name: VARIANTS[name] for name in args.variants.split(",") if name
        }
        with tempfile.TemporaryDirectory() as blobs:
            for rnd in range(1, args.rounds + 1):
                for (tier, render_js), (variant, extra) in itertools.product(configs, variants.items()):
                    last = rnd == args.rounds and (tier, render_js) == configs[-1] and variant == list(variants)[-1]
                    profile = cProfile.Profile() if args.profile and last else None
                    env = _env(sim_url, dns, tier, render_js, blobs) | extra
                    r = await one_round(leads, env, args.concurrency, profile)
                    print(
                        f"round {rnd} tier {tier} render_js {render_js} {variant}: {r['leads']} leads, {r['per_s']:.1f}/s, "
                        f"{r['cpu_ms']:.2f} ms CPU per lead  {dict(sorted(r['outcomes'].items()))}",
                        flush=True,
                    )
                    if profile is not None:
                        profile.dump_stats(args.profile)
    finally:
        server.kill()
        server.join()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--leads", type=int, default=600)
    parser.add_argument("--seed", type=int, default=5)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--tiers", default="1,3")
    parser.add_argument("--render-both", action="store_true", help="each tier with SPA renders on and off")
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--variants", default="", help=f"also run these, comma-separated: {', '.join(VARIANTS)}")
    parser.add_argument("--profile", help="write a cProfile of the last configuration's last round here")
    asyncio.run(main(parser.parse_args()))
