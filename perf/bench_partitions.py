"""How evenly a one-metro campaign spreads over the partitions, per topic.

Keys every lead of a generated one-metro campaign (default: 5,000 leads around
ZIP 10002, New York) as the workers and producers do (`streams.topology.message_key`)
and places it with the Kafka client's default partitioner (murmur2, as aiokafka and
the Java client do), then prints, per topic, the busiest partition's share and how
many partitions get any work. With the old keys (geography on every topic) the whole
campaign sits on one partition; with lead-id keys the stateless stages' topics use
them all. No broker needed; `perf/bench_pipeline.py --metro ZIP` measures the same on
a real broker from the topics' end offsets.

    python perf/bench_partitions.py --leads 5000 --partitions 12 --metro 10002
"""

from __future__ import annotations

import argparse
from collections import Counter

import orjson
from aiokafka.partitioner import DefaultPartitioner

from schemas.geo import geo_key
from streams.topology import LEAD_TOPICS, SCRAPE_REQUESTS, message_key


def busiest_share(keys: list[bytes], partitions: int) -> tuple[float, int]:
    """(the busiest partition's share of `keys`, partitions with any) under the default partitioner."""
    place = DefaultPartitioner()
    all_partitions = list(range(partitions))
    counts = Counter(place(key, all_partitions, all_partitions) for key in keys)
    return max(counts.values()) / len(keys), len(counts)


def lead_keys(leads: int, seed: int, metro: str) -> list[tuple[str, str]]:
    """(lead id, geography key) of a generated campaign around `metro` (malformed rows: "unknown")."""
    from simulator.leads import generate_leads

    out = []
    for g in generate_leads(leads, seed, zips=[metro]):
        try:
            row = orjson.loads(g.payload)
            geo = geo_key(str(row.get("zip") or "")[:5] or None, row.get("state"), row.get("phone"), row.get("city"))
        except Exception:  # malformed on purpose
            geo = "unknown"
        out.append((g.lead_id, geo))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--leads", type=int, default=5000)
    parser.add_argument("--partitions", type=int, default=12)
    parser.add_argument("--metro", default="10002", help="the campaign's one ZIP (the generator adds its neighbours)")
    parser.add_argument("--seed", type=int, default=5)
    args = parser.parse_args()
    keyed = lead_keys(args.leads, args.seed, args.metro)
    geos = Counter(geo for _, geo in keyed)
    print(f"{len(keyed)} leads around {args.metro}, {args.partitions} partitions; geography keys: {dict(geos)}")
    print(f"{'topic':<22} {'key':<10} {'busiest partition':>18} {'partitions used':>16} {'old (geo) busiest':>18}")
    ideal = 1 / args.partitions
    for topic in (SCRAPE_REQUESTS, *LEAD_TOPICS):
        if topic == SCRAPE_REQUESTS:
            continue  # jobs, not leads: a campaign has a handful
        keys = [message_key(topic, lead_id, geo) for lead_id, geo in keyed]
        share, used = busiest_share(keys, args.partitions)
        old, _ = busiest_share([geo.encode() for _, geo in keyed], args.partitions)
        kind = "geography" if keys[0] == keyed[0][1].encode() else "lead id"
        print(f"{topic:<22} {kind:<10} {share:>17.1%} {used:>10}/{args.partitions:<5} {old:>17.1%}")
    print(f"(an even spread is {ideal:.1%} per partition)")


if __name__ == "__main__":
    main()
