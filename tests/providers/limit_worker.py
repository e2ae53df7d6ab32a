"""One worker process of the multi-process rate-limit test.

Usage: limit_worker.py BASE_URL REDIS_URL PROVIDER RATE START_EPOCH DURATION_S ZIP VERTICAL
Waits until START_EPOCH (so all workers overlap), then searches the simulator
through `SharedRateLimiter` as fast as it can for DURATION_S seconds, printing
one JSON line per request: its slot's time in the limiter's window and the time
the slot was handed to this worker.
"""

from __future__ import annotations

import asyncio
import sys
import time
from pathlib import Path

import orjson

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # the repo root

from providers.limits import SharedRateLimiter
from providers.search import YelpSearch


async def main(
    base_url: str,
    redis_url: str,
    provider: str,
    rate: str,
    start: float,
    duration_s: float,
    zip_code: str,
    vertical: str,
) -> None:
    limiter = SharedRateLimiter(redis_url, provider=provider, rate=rate)
    yelp = YelpSearch(base_url, "worker-key", timeout_s=5)
    # Warm up before the clock starts, as a running worker would be: connect to Redis, load the
    # limiter's Lua scripts, open the HTTP connection (one request, made before START_EPOCH).
    await limiter.acquire(key="warm-up")
    await yelp.search(zip_code, vertical, max_results=5)
    await asyncio.sleep(max(0.0, start - time.time()))
    try:
        while time.time() < start + duration_s:
            slot_at = await limiter.acquire(timeout_s=5)
            granted = time.time()
            if granted >= start + duration_s:
                break
            leads = await yelp.search(zip_code, vertical, max_results=5)
            print(orjson.dumps({"slot_at": slot_at, "granted": granted, "leads": len(leads)}).decode(), flush=True)
    finally:
        await yelp.aclose()


if __name__ == "__main__":
    url, redis_url, provider, rate, start, duration, zip_code, vertical = sys.argv[1:9]
    asyncio.run(main(url, redis_url, provider, rate, float(start), float(duration), zip_code, vertical))
