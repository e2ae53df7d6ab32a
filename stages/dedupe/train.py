"""Fit the pair model: ``python -m stages.dedupe.train [--seed N] [--entities N]``.

Pairs are the candidate pairs blocking produces on synthetic data (`traindata`),
minus those the address veto already decides, so the model learns exactly the
decisions it will face. Logistic regression with L2 by full-batch gradient
descent over de-duplicated feature rows (pure Python: the rows are few).
Thresholds come from a second, independently seeded sample.
"""

from __future__ import annotations

import argparse
import json
import math
from collections import Counter
from itertools import combinations

from stages.dedupe.blocking import address_key, blocking_keys, phone_key
from stages.dedupe.features import FEATURES, addresses_conflict, compare
from stages.dedupe.model import MODEL_PATH
from stages.dedupe.record import DedupeInput, Profile
from stages.dedupe.state import similar_names
from stages.dedupe.traindata import generate


def shared_flags(profiles: list[Profile]) -> dict[tuple[str | None, int], bool]:
    """(contact key, row) → the key carried several distinct names once that row had arrived (as the stream counts)."""
    seen: dict[str, list[str]] = {}
    flags: dict[tuple[str | None, int], bool] = {}
    for i, profile in enumerate(profiles):
        for key in (phone_key(profile), address_key(profile)):
            if not key:
                continue
            names = seen.setdefault(key, [])
            if profile.name and not any(similar_names(profile.name, n) for n in names):
                names.append(profile.name)
            flags[(key, i)] = len(names) >= 2
    return flags


def labelled_pairs(rows: list[dict]) -> Counter:
    """Counter of (feature tuple, label) over the blocked, non-vetoed pairs."""
    profiles = [Profile.of(DedupeInput.from_row(r)) for r in rows]
    blocks: dict[str, list[int]] = {}
    for i, profile in enumerate(profiles):
        for key in blocking_keys(profile):
            blocks.setdefault(key, []).append(i)
    pairs: set[tuple[int, int]] = set()
    for members in blocks.values():
        pairs.update(combinations(members[:60], 2))
    shared = shared_flags(profiles)
    data: Counter = Counter()
    for i, j in pairs:  # i < j: row j is the lead, row i the stored entity
        if addresses_conflict(profiles[i], profiles[j]):
            continue
        lead = profiles[j]
        flags = (shared.get((phone_key(lead), j), False), shared.get((address_key(lead), j), False))
        features = tuple(round(x, 1) for x in compare(profiles[i], lead, *flags))
        data[(features, int(rows[i]["cluster"] == rows[j]["cluster"]))] += 1
    return data


def fit(data: Counter, l2: float = 1e-3, rate: float = 0.05, steps: int = 600) -> tuple[list[float], float]:
    """Full-batch gradient descent with Adam step sizes; the last weight is the bias."""
    n = len(FEATURES) + 1
    theta, m, v = [0.0] * n, [0.0] * n, [0.0] * n
    total = sum(data.values())
    rows = [(x + (1.0,), y, c) for (x, y), c in data.items()]
    for step in range(1, steps + 1):
        grad = [0.0] * n
        for x, y, count in rows:
            z = sum(w * value for w, value in zip(theta, x))
            err = (1.0 / (1.0 + math.exp(-max(min(z, 30.0), -30.0))) - y) * count
            for k, value in enumerate(x):
                if value:
                    grad[k] += err * value
        for k in range(n):
            g = grad[k] / total + (l2 * theta[k] if k < n - 1 else 0.0)
            m[k] = 0.9 * m[k] + 0.1 * g
            v[k] = 0.999 * v[k] + 0.001 * g * g
            theta[k] -= rate * (m[k] / (1 - 0.9**step)) / (math.sqrt(v[k] / (1 - 0.999**step)) + 1e-8)
    return theta[:-1], theta[-1]


def choose_thresholds(data: Counter, weights: list[float], bias: float) -> dict[str, float]:
    """match: lowest cut with precision ≥ 99%; review: highest cut keeping 99.9% of true pairs above it."""
    scored = []
    for (x, y), count in data.items():
        z = bias + sum(w * v for w, v in zip(weights, x))
        scored.append((1.0 / (1.0 + math.exp(-max(min(z, 30.0), -30.0))), y, count))
    positives = sum(c for _, y, c in scored if y)
    cuts = sorted({round(p, 3) for p, _, _ in scored} | {0.5, 0.9})
    match = next(t for t in cuts if t >= 0.5 and _precision(scored, t) >= 0.99)
    review = max(
        (t for t in cuts if t <= match and sum(c for p, y, c in scored if y and p >= t) >= 0.999 * positives),
        default=0.3,
    )
    return {"match": round(match, 3), "review": round(min(review, match), 3)}


def _precision(scored: list, cut: float) -> float:
    tp = sum(c for p, y, c in scored if p >= cut and y)
    fp = sum(c for p, y, c in scored if p >= cut and not y)
    return tp / (tp + fp) if tp + fp else 1.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seed", type=int, default=20240611)
    parser.add_argument("--entities", type=int, default=4000)
    parser.add_argument("--out", default=str(MODEL_PATH))
    args = parser.parse_args()
    train = labelled_pairs(generate(args.seed, args.entities))
    weights, bias = fit(train)
    thresholds = choose_thresholds(labelled_pairs(generate(args.seed + 1, args.entities)), weights, bias)
    model = {
        "features": list(FEATURES),
        "weights": [round(w, 4) for w in weights],
        "bias": round(bias, 4),
        "thresholds": thresholds,
        "trained_on": {
            "generator": "stages.dedupe.traindata",
            "seed": args.seed,
            "entities": args.entities,
            "pairs": sum(train.values()),
            "distinct_rows": len(train),
        },
    }
    with open(args.out, "w") as fh:
        json.dump(model, fh, indent=2)
        fh.write("\n")
    print(json.dumps(model, indent=2))


if __name__ == "__main__":
    main()
