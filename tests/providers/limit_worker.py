"""One worker process of the multi-process rate-limit test.

Usage: limit_worker.py BASE_URL REDIS_URL PROVIDER RATE SLOTS ZIP VERTICAL
Warms up (Redis connection, the limiter's script, the HTTP connection: one
request under another key), prints ``ready``, waits for ``go`` on stdin (so all
workers start together without reading a clock), then takes SLOTS slots from
`SharedRateLimiter` as fast as it can, searching the simulator after each, and
prints one JSON line per slot: the slot's time in the shared window, in µs.
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import orjson

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # the repo root

from providers.limits import SharedRateLimiter
from providers.search import YelpSearch


async def main(
    base_url: str, redis_url: str, provider: str, rate: str, slots: int, zip_code: str, vertical: str
) -> None:
    limiter = SharedRateLimiter(redis_url, provider=provider, rate=rate)
    yelp = YelpSearch(base_url, "worker-key", timeout_s=30)
    try:
        await limiter.acquire(key="warm-up")
        await yelp.search(zip_code, vertical, max_results=5)
        print("ready", flush=True)
        await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)
        for _ in range(slots):
            slot_at = await limiter.acquire(timeout_s=60)
            leads = await yelp.search(zip_code, vertical, max_results=5)
            print(orjson.dumps({"slot_us": round(slot_at * 1e6), "leads": len(leads)}).decode(), flush=True)
    finally:
        await yelp.aclose()


if __name__ == "__main__":
    url, redis_url, provider, rate, slots, zip_code, vertical = sys.argv[1:8]
    asyncio.run(main(url, redis_url, provider, rate, int(slots), zip_code, vertical))
