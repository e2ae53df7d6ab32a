"""Scoring throughput on one core with the default rules (target: >= 50k leads/s).

    python perf/bench_score.py [--leads 20000] [--rounds 5] [--rules FILE]

Leads are synthetic but shaped like enriched ones (tech with versions, vitals,
contacts), built once up front so only scoring is timed. Prints the best round.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from schemas.lead import Contact, Enrichment, Lead, Performance, Tech
from stages.score.rules import load_rules
from stages.score.scorer import Scorer

DEFAULT_RULES = Path(__file__).resolve().parents[1] / "leadstream" / "defaults" / "rules.yaml"
VERTICALS = ["hvac", "plumber", "vet", "dentist", "bank", "restaurant", "roofer", None]
TECH: list[tuple[str, list[str | None]]] = [
    ("jQuery", ["1.12.4", "2.2.4", "3.6.0", "3.7.1", None]),
    ("WordPress", ["4.9.8", "5.8", "6.4.2", None]),
    ("Wix", [None]),
    ("React", ["16.14.0", "18.2.0"]),
    ("Bootstrap", ["3.3.7", "4.6.0", "5.3.2"]),
    ("Google Analytics", [None]),
    ("Next.js", ["13.4", "14.1.0"]),
]


def synthetic_leads(count: int, seed: int = 7) -> list[Lead]:
    rng = random.Random(seed)
    leads = []
    for i in range(count):
        enrichment = None
        if rng.random() < 0.85:
            tech = [
                Tech(name=name, version=rng.choice(versions)) for name, versions in rng.sample(TECH, rng.randint(0, 4))
            ]
            perf = (
                Performance(
                    lcp_ms=rng.uniform(800, 9000),
                    ttfb_ms=rng.uniform(50, 3000),
                    page_bytes=rng.randint(200_000, 8_000_000),
                    cls=rng.uniform(0, 0.6),
                    tbt_ms=rng.uniform(0, 1500),
                    https=rng.random() < 0.8,
                    mobile_responsive=rng.random() < 0.6,
                )
                if rng.random() < 0.9
                else None
            )
            contacts = [
                Contact(email=f"c{j}@b{i}.example", kind=rng.choice(["role", "personal"]))
                for j in range(rng.randint(0, 3))
            ]
            enrichment = Enrichment(
                status=rng.choice(["ok"] * 9 + ["failed"]),
                final_url=f"https://b{i}.example",
                tech=tech,
                performance=perf,
                contacts=contacts,
                modern_site=rng.random() < 0.1,
            )
        leads.append(
            Lead(
                lead_id=f"ld_{i}",
                geo_key=f"z{rng.randint(900, 999)}",
                source=rng.choice(["yelp", "google"]),
                name=f"Business {i}",
                vertical=rng.choice(VERTICALS),
                phone="4155550100" if rng.random() < 0.9 else None,
                website=f"https://b{i}.example" if rng.random() < 0.8 else None,
                email=f"owner@b{i}.example" if rng.random() < 0.2 else None,
                enrichment=enrichment,
            )
        )
    return leads


def best_rate(score, leads: list[Lead], rounds: int) -> float:
    best = float("inf")
    for _ in range(rounds):
        started = time.perf_counter()
        for lead in leads:
            score(lead)
        best = min(best, time.perf_counter() - started)
    return len(leads) / best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--leads", type=int, default=20000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--rules", type=Path, default=DEFAULT_RULES)
    args = parser.parse_args()
    rules = load_rules(args.rules)
    leads = synthetic_leads(args.leads)
    tiers: dict[str, int] = {}
    for lead in leads:
        tier = rules.score(lead).tier
        tiers[tier] = tiers.get(tier, 0) + 1
    print(
        f"rules {rules.version}: {len(rules.rules)} rules, {len(rules.multipliers)} multipliers; "
        f"{len(leads)} leads; tiers {dict(sorted(tiers.items()))}"
    )
    print(f"facts only      {best_rate(rules.extract, leads, args.rounds):>10,.0f} leads/s")
    print(f"RuleSet.score   {best_rate(rules.score, leads, args.rounds):>10,.0f} leads/s")
    print(f"Scorer      {best_rate(Scorer(rules).score, leads, args.rounds):>10,.0f} leads/s")


if __name__ == "__main__":
    main()
