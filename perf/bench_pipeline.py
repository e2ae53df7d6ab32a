"""Full-pipeline benchmark: sustained leads/min and end-to-end latency.

Runs the demo harness (N main workers and M mockup workers as separate
processes, the simulator as the outside world) against the broker and database
in LEADSTREAM_KAFKA_BROKER / LEADSTREAM_DATABASE_URL — the real Kafka and
PostgreSQL from `scripts/services up` (source .services/env) — or the embedded
default when they are unset. Leads are pushed at a fixed rate; latency is
ingest-ts → terminal state, from the system of record. After the run it prints,
per topic, the busiest partition's share of the messages (from the broker's
offsets): `--metro ZIP` makes it a one-metro campaign, the case that used to
pile onto one partition.

    source .services/env && python perf/bench_pipeline.py --leads 2000 --rate 1200 --workers 2 --mockup-workers 1
    python perf/bench_pipeline.py --leads 5000 --rate 6000 --metro 10002 --partitions 12
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import time

from leadstream.demo import Demo, DemoOptions, default_mockup_workers, default_workers
from streams.topology import LEAD_TOPICS


async def partition_shares(demo: Demo) -> dict[str, dict]:
    """Per lead topic: messages, the busiest partition's share, and how many partitions got any."""
    from aiokafka import AIOKafkaConsumer

    from streams.admin import bootstrap_servers

    prefix = demo.env["LEADSTREAM_TOPIC_PREFIX"]
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap_servers(demo.env["LEADSTREAM_KAFKA_BROKER"]))
    await consumer.start()
    try:
        from aiokafka import TopicPartition

        out = {}
        for topic in LEAD_TOPICS:
            partitions = consumer.partitions_for_topic(prefix + topic) or set()
            if not partitions:  # a consumer without subscriptions knows no topic until asked
                await consumer._client.force_metadata_update()
                partitions = consumer.partitions_for_topic(prefix + topic) or set()
            tps = [TopicPartition(prefix + topic, p) for p in sorted(partitions)]
            if not tps:
                continue
            ends, starts = await consumer.end_offsets(tps), await consumer.beginning_offsets(tps)
            counts = [ends[tp] - starts[tp] for tp in tps]
            total = sum(counts)
            out[topic] = {
                "messages": total,
                "busiest_share": round(max(counts) / total, 3) if total else None,
                "partitions_used": sum(1 for c in counts if c),
                "partitions": len(tps),
            }
        return out
    finally:
        await consumer.stop()


async def main(args: argparse.Namespace) -> dict:
    from simulator.leads import generate_leads

    demo = Demo(
        DemoOptions(
            leads=args.leads,
            seed=args.seed,
            partitions=args.partitions,
            timeout_s=args.timeout,
            rate_per_min=args.rate,
            workers=args.workers,
            mockup_workers=args.mockup_workers,
        )
    )
    await demo.start()
    try:
        generated = generate_leads(args.leads, args.seed, zips=[args.metro] if args.metro else None)
        began = time.monotonic()
        await demo.push_generated(generated, args.rate)
        pushed_s = time.monotonic() - began
        snap = await demo.wait_until_drained([g.lead_id for g in generated], began)
        summary = await demo.summary(snap, [g.lead_id for g in generated])
        summary["push_seconds"] = round(pushed_s, 1)
        summary["offered_per_min"] = args.rate
        summary["broker"] = "external" if os.environ.get("LEADSTREAM_KAFKA_BROKER") else "embedded (tansu)"
        summary["campaign"] = f"one metro around {args.metro}" if args.metro else "default ZIPs"
        summary["partition_shares"] = await partition_shares(demo)
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
    parser.add_argument("--workers", type=int, default=default_workers(), help="main worker processes")
    parser.add_argument("--mockup-workers", type=int, default=default_mockup_workers(), help="mockup worker processes")
    parser.add_argument("--metro", default=None, help="one-metro campaign around this ZIP (e.g. 10002)")
    args = parser.parse_args()
    started = time.monotonic()
    result = asyncio.run(main(args))
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    print(json.dumps(result, indent=2))
    worker_cpu = usage.ru_utime + usage.ru_stime
    print(
        f"sustained: {result['leads_per_min']} leads/min at an offered {args.rate}/min with {args.workers} main + "
        f"{args.mockup_workers} mockup workers; latency p50 {result['p50_latency_s']} s, p95 "
        f"{result['p95_latency_s']} s; lost {result['lost']}, duplicate emails {result['duplicate_emails']}; "
        f"wall {time.monotonic() - started:.0f} s, worker CPU {worker_cpu:.0f} s "
        f"({worker_cpu / max(1, result['leads_in']) * 1000:.1f} ms per lead)"
    )
    for topic, share in result["partition_shares"].items():
        print(
            f"  {topic:<20} busiest partition {share['busiest_share']:.1%} of {share['messages']} messages, "
            f"{share['partitions_used']}/{share['partitions']} partitions used"
            if share["busiest_share"] is not None
            else f"  {topic:<20} no messages"
        )
