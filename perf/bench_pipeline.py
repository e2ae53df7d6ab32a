"""Full-pipeline benchmark: sustained leads/min and end-to-end latency.

Runs the demo harness (both worker groups, the simulator as the outside world)
against the broker and database in LEADSTREAM_KAFKA_BROKER /
LEADSTREAM_DATABASE_URL — the real Kafka and PostgreSQL from
`scripts/services up` (source .services/env) — or the embedded default when
they are unset. Leads are pushed at a fixed rate; latency is ingest-ts →
terminal state, from the system of record.

    source .services/env && python perf/bench_pipeline.py --leads 2000 --rate 1200
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import time

from leadstream.demo import Demo, DemoOptions


async def main(args: argparse.Namespace) -> dict:
    from simulator.leads import generate_leads

    demo = Demo(
        DemoOptions(
            leads=args.leads, seed=args.seed, partitions=args.partitions, timeout_s=args.timeout, rate_per_min=args.rate
        )
    )
    await demo.start()
    try:
        generated = generate_leads(args.leads, args.seed)
        began = time.monotonic()
        await demo.push_generated(generated, args.rate)
        pushed_s = time.monotonic() - began
        snap = await demo.wait_until_drained([g.lead_id for g in generated], began)
        summary = await demo.summary(snap, [g.lead_id for g in generated])
        summary["push_seconds"] = round(pushed_s, 1)
        summary["offered_per_min"] = args.rate
        summary["broker"] = "external" if os.environ.get("LEADSTREAM_KAFKA_BROKER") else "embedded (tansu)"
        return summary
    finally:
        await demo.stop()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--leads", type=int, default=2000)
    parser.add_argument("--rate", type=float, default=1200.0, help="offered load, leads per minute")
    parser.add_argument("--partitions", type=int, default=12)
    parser.add_argument("--seed", type=int, default=5)
    parser.add_argument("--timeout", type=float, default=900.0)
    args = parser.parse_args()
    started = time.monotonic()
    result = asyncio.run(main(args))
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    print(json.dumps(result, indent=2))
    print(
        f"sustained: {result['leads_per_min']} leads/min at an offered {args.rate}/min; "
        f"latency p50 {result['p50_latency_s']} s, p95 {result['p95_latency_s']} s; "
        f"lost {result['lost']}, duplicate emails {result['duplicate_emails']}; "
        f"wall {time.monotonic() - started:.0f} s, worker CPU {usage.ru_utime + usage.ru_stime:.0f} s"
    )
