"""Shared simulator machinery: fault injection, seeded randomness, recording.

Each API module exposes ``setup(app, sim)`` that adds its routes and calls
``await sim.fault(family, key)`` at the top of each handler: that applies the
family's latency and returns an error response (429 or 5xx) when one is due.
"""

from __future__ import annotations

import asyncio
import hashlib
import math
import random
import time
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web


@dataclass
class FamilyConfig:
    """Behaviour of one API family (search, web, openai, ollama, sendgrid)."""

    latency_median_ms: float = 5.0
    latency_p95_ms: float = 20.0
    error_rate: float = 0.0  # share of requests answered with a 5xx
    rate_limit_per_s: float = 0.0  # per-key token bucket; 0 disables 429s
    garbage_rate: float = 0.0  # LLM families: share of unparseable answers
    down: bool = False  # every request fails with 503

    def sample_latency_s(self, rng: random.Random) -> float:
        """Log-normal latency fitted to the median and p95."""
        if self.latency_median_ms <= 0:
            return 0.0
        mu = math.log(self.latency_median_ms)
        p95 = max(self.latency_p95_ms, self.latency_median_ms)
        sigma = (math.log(p95) - mu) / 1.645 if p95 > self.latency_median_ms else 0.0
        return rng.lognormvariate(mu, sigma) / 1000.0


FAMILIES = ("search", "web", "openai", "ollama", "sendgrid", "pagespeed", "dns", "hunter")


@dataclass
class SimConfig:
    seed: int = 7
    families: dict[str, FamilyConfig] = field(default_factory=lambda: {f: FamilyConfig() for f in FAMILIES})
    # Fixed DNS answers that replace the seeded world's, per name: the n-th A (or AAAA) query for the
    # name gets the n-th address of that family, the last one repeating. ["93.184.216.34", "127.0.0.1"]
    # is a rebinding attack: a public address to the first lookup, loopback to every later one.
    dns_answers: dict[str, list[str]] = field(default_factory=dict)

    def family(self, name: str) -> FamilyConfig:
        return self.families.setdefault(name, FamilyConfig())

    def update(self, changes: dict[str, Any]) -> None:
        """Apply ``{"seed": 3, "web": {"error_rate": 0.1}, ...}``."""
        for key, value in changes.items():
            if key == "seed":
                self.seed = int(value)
            elif isinstance(value, dict):
                fam = self.family(key)
                for attr, attr_value in value.items():
                    if not hasattr(fam, attr):
                        raise ValueError(f"unknown setting {key}.{attr}")
                    setattr(fam, attr, type(getattr(fam, attr))(attr_value))
            else:
                raise ValueError(f"unknown setting {key}")


def first_domain(prefix: str, matches: Callable[[str], bool], what: str, limit: int = 100_000) -> str:
    """The first ``{prefix}{n}.com`` for which `matches` holds: how tests pick a site of a given kind."""
    for n in range(limit):
        domain = f"{prefix}{n}.com"
        if matches(domain):
            return domain
    raise LookupError(what)


class Simulator:
    """State shared by every API module of one running simulator."""

    def __init__(self, config: SimConfig | None = None) -> None:
        self.config = config or SimConfig()
        self.counters: Counter[str] = Counter()
        self.records: dict[str, list[dict[str, Any]]] = defaultdict(list)
        self._buckets: dict[tuple[str, str], tuple[float, float]] = {}
        self._inflight: Counter[str] = Counter()
        self.max_inflight: Counter[str] = Counter()
        self._request_no: Counter[str] = Counter()

    def rng(self, *parts: object) -> random.Random:
        """A random generator determined by the seed and `parts` (same inputs, same draws)."""
        basis = "|".join([str(self.config.seed), *map(str, parts)])
        return random.Random(int.from_bytes(hashlib.blake2b(basis.encode(), digest_size=8).digest(), "big"))

    def record(self, kind: str, **fields: Any) -> None:
        self.records[kind].append({"at": time.time(), **fields})

    def reset(self) -> None:
        self.counters.clear()
        self.records.clear()
        self._buckets.clear()
        self.max_inflight.clear()
        self._request_no.clear()

    def track(self, key: str) -> _Inflight:
        """Context manager counting concurrent requests per key (e.g. per website domain)."""
        return _Inflight(self, key)

    async def fault(self, family: str, key: str = "") -> web.Response | None:
        """Apply latency; return the error response this request should get, if any."""
        fam = self.config.family(family)
        self.counters[f"{family}.requests"] += 1
        self._request_no[family] += 1
        rng = self.rng(family, key, self._request_no[family])
        delay = fam.sample_latency_s(rng)
        if delay:
            await asyncio.sleep(delay)
        if fam.down:
            self.counters[f"{family}.503"] += 1
            return web.json_response({"error": {"message": f"{family} is down"}}, status=503)
        if fam.rate_limit_per_s > 0 and not self._take_token(family, key, fam.rate_limit_per_s):
            self.counters[f"{family}.429"] += 1
            return web.json_response(
                {"error": {"message": "rate limit exceeded"}}, status=429, headers={"Retry-After": "1"}
            )
        if fam.error_rate > 0 and rng.random() < fam.error_rate:
            self.counters[f"{family}.500"] += 1
            return web.json_response({"error": {"message": "simulated internal error"}}, status=500)
        return None

    def _take_token(self, family: str, key: str, rate: float) -> bool:
        now = time.monotonic()
        tokens, last = self._buckets.get((family, key), (rate, now))
        tokens = min(rate, tokens + (now - last) * rate)
        if tokens < 1.0:
            self._buckets[(family, key)] = (tokens, now)
            return False
        self._buckets[(family, key)] = (tokens - 1.0, now)
        return True

    def stats(self) -> dict[str, Any]:
        return {
            "counters": dict(self.counters),
            "max_inflight": dict(self.max_inflight),
            "records": {kind: len(items) for kind, items in self.records.items()},
        }


class _Inflight:
    def __init__(self, sim: Simulator, key: str) -> None:
        self.sim, self.key = sim, key

    def __enter__(self) -> None:
        sim = self.sim
        sim._inflight[self.key] += 1
        sim.max_inflight[self.key] = max(sim.max_inflight[self.key], sim._inflight[self.key])

    def __exit__(self, *exc: object) -> None:
        self.sim._inflight[self.key] -= 1
