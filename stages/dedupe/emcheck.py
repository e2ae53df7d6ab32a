"""Would an unsupervised refit or per-pattern cut-offs do better? ``python -m stages.dedupe.emcheck``.

An offline measurement, not part of the engine (docs/dedupe-rounds.md, round 8). It runs the
engine over each labelled set (the real sets' `dev` and `test` halves and the generator's ``eval.csv``),
keeps every candidate pair the engine scored (blocked, not vetoed) with its best feature vector, its
model probability, whether the engine joined it and whether the labels do, and then compares, at the
level of these scored pairs:

- the fitted model alone (p ≥ the match threshold) and the engine (model and contact rule);
- Splink-style Fellegi–Sunter weights fitted by EM *without labels* (m, u and λ over a comparison
  vector of levels), on the set's own `dev` half (the stream's own data) and on both real `dev` halves
  pooled;
- one match cut-off per evidence pattern (phone × street line × name level), fitted *with* the labels of
  both real `dev` halves.

Only aggregate figures are printed; no row of a `test` half is shown.
"""

from __future__ import annotations

import argparse
import csv
import math
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from stages.dedupe import realdata
from stages.dedupe.engine import EntityResolver, Scored
from stages.dedupe.evaluate import DEFAULT_FILES
from stages.dedupe.features import FEATURES, compare
from stages.dedupe.record import DedupeInput, Profile

_I = {name: i for i, name in enumerate(FEATURES)}
# Levels per comparison field: name, name conflict, phone, domain, email, street line, unit, ZIP, city, category.
LEVELS = (5, 2, 4, 3, 3, 5, 3, 3, 3, 3)


@dataclass
class ScoredPair:
    features: list[float]
    probability: float
    joined: bool
    same: bool


class _Recording(EntityResolver):
    """The engine, keeping each scored candidate of each lead."""

    def __init__(self) -> None:
        super().__init__({})
        self.pending: list[tuple[str, Profile, Scored, list[float]]] = []

    def _score(
        self, profile: Profile, keys: list[str], shared_phone: bool = False, shared_address: bool = False
    ) -> tuple[list[Scored], list[Scored], list[dict]]:
        scored, near, vetoed = super()._score(profile, keys, shared_phone, shared_address)
        for item in scored:
            best = max(
                (compare(profile, Profile.from_list(s), shared_phone, shared_address) for s in item[0]["profiles"]),
                key=self.model.probability,
            )
            self.pending.append((item[0]["id"], profile, item, best))
        return scored, near, vetoed


def scored_pairs(rows: Sequence[dict]) -> list[ScoredPair]:
    resolver = _Recording()
    clusters: dict[str, set[str]] = defaultdict(set)  # entity root -> the labelled businesses in it
    out: list[ScoredPair] = []
    for row in rows:
        resolver.pending = []
        res = resolver.resolve(DedupeInput.from_row(row))
        root = resolver.state.find(res.entity_id)[0]
        for entity_id, _, (_, p, _), features in resolver.pending:
            candidate_root = resolver.state.find(entity_id)[0]
            same = row["cluster"] in clusters[entity_id] or row["cluster"] in clusters[candidate_root]
            out.append(ScoredPair(features, p, candidate_root == root, same))
        for audit in res.audit:
            if audit["kind"] == "merge":
                clusters[audit["entity_id"]] |= clusters.pop(audit["merged_entity_id"], set())
        clusters[root].add(row["cluster"])
    return out


def levels(f: Sequence[float]) -> tuple[int, ...]:
    """A feature vector as a Fellegi–Sunter comparison vector (0 = a side lacks the field)."""
    name = 0 if not any(f[:4]) else (1 if f[0] else 2 if f[1] else 3 if f[2] else 4)
    phone = 1 if f[_I["phone"]] else 2 if f[_I["phone_shared"]] else 3 if f[_I["phone_differ"]] else 0
    if f[_I["address_shared"]]:
        street = 2
    elif f[_I["street_number"]] > 0:
        street = 1 if f[_I["street_name"]] >= 0.7 else 3
    else:
        street = 4 if f[_I["street_number"]] < 0 else 0

    def sign(value: float) -> int:
        return 0 if value == 0 else (1 if value > 0 else 2)

    def cut(value: float, at: float) -> int:
        return 0 if value == 0 else (1 if value >= at else 2)

    return (
        name,
        int(f[_I["name_conflict"]] > 0),
        phone,
        sign(f[_I["domain"]]),
        sign(f[_I["email"]]),
        street,
        sign(f[_I["unit"]]),
        sign(f[_I["zip"]]),
        cut(f[_I["city"]], 0.8),
        cut(f[_I["category"]], 0.6),
    )


FSModel = tuple[float, list[list[float]], list[list[float]]]  # (λ, m per field and level, u per field and level)


def fit_em(vectors: Sequence[tuple[int, ...]], iterations: int = 200) -> FSModel:
    """m, u and λ by EM, no labels; m starts on agreement (level 1), u on the other levels."""
    lam = 0.3
    m = [[0.5 if level == 1 else 0.5 / (n - 1) for level in range(n)] for n in LEVELS]
    u = [[0.2 if level == 1 else 0.8 / (n - 1) for level in range(n)] for n in LEVELS]
    m[1], u[1] = [0.9, 0.1], [0.6, 0.4]  # name conflict: level 1 is the conflict
    for _ in range(iterations):
        weights = [_posterior((lam, m, u), v) for v in vectors]
        lam = min(max(sum(weights) / len(weights), 1e-3), 1 - 1e-3)
        for j, n in enumerate(LEVELS):
            mj, uj = [0.5] * n, [0.5] * n  # add-half smoothing
            for v, w in zip(vectors, weights):
                mj[v[j]] += w
                uj[v[j]] += 1 - w
            m[j], u[j] = [x / sum(mj) for x in mj], [x / sum(uj) for x in uj]
    return lam, m, u


def _posterior(model: FSModel, vector: tuple[int, ...]) -> float:
    lam, m, u = model
    log_m = math.log(lam) + sum(math.log(m[j][level]) for j, level in enumerate(vector))
    log_u = math.log(1 - lam) + sum(math.log(u[j][level]) for j, level in enumerate(vector))
    return 1 / (1 + math.exp(min(log_u - log_m, 700)))


def pattern(f: Sequence[float]) -> str:
    """Evidence pattern: phone (agree, shared, differ, missing) × street line × name level."""
    phone = "P" if f[_I["phone"]] else "p" if f[_I["phone_shared"]] else "x" if f[_I["phone_differ"]] else "-"
    if f[_I["address_shared"]]:
        street = "As"
    elif f[_I["street_number"]] > 0 and f[_I["street_name"]] > 0.9:
        street = "A"
    else:
        street = "a?" if f[_I["street_number"]] == 0 else "x"
    return phone + street + ("E" if f[0] else "H" if f[1] else "M" if f[2] else "L")


_GRID = (0.035, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 0.99, 0.999, 1.01)


def fit_pattern_cutoffs(pairs: Sequence[ScoredPair], match: float) -> dict[str, float]:
    """Per evidence pattern, the cut-off that maximises right minus wrong joins on ``pairs`` (labels used)."""
    by: dict[str, list[ScoredPair]] = defaultdict(list)
    for pair in pairs:
        by[pattern(pair.features)].append(pair)

    def gain(group: list[ScoredPair], t: float) -> tuple[int, float]:
        return sum(1 if x.same else -1 for x in group if x.probability >= t), -abs(t - match)

    return {key: max((*_GRID, match), key=lambda t: gain(group, t)) for key, group in by.items()}


def scores(pairs: Sequence[ScoredPair], decided: Sequence[bool]) -> str:
    tp = sum(1 for x, d in zip(pairs, decided) if d and x.same)
    fp = sum(1 for x, d in zip(pairs, decided) if d and not x.same)
    fn = sum(1 for x, d in zip(pairs, decided) if not d and x.same)
    p = tp / (tp + fp) if tp + fp else 1.0
    r = tp / (tp + fn) if tp + fn else 1.0
    f1 = 2 * p * r / (p + r) if p + r else 0.0
    return f"{p:.3f} / {r:.3f} / {f1:.3f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", default=str(realdata.DATA_ROOT), help="where the real sets are")
    args = parser.parse_args()
    sets: dict[str, list[ScoredPair]] = {}
    for name in ("overture_place_pairs", "chicago_early_childhood"):
        if not realdata.available(Path(args.data))[name]:
            print(f"{name}: absent under {args.data}")
            continue
        rows = realdata.load(name, Path(args.data))
        for part in ("dev", "test"):
            sets[f"{name}:{part}"] = scored_pairs(realdata.split(rows, part))
    with open(DEFAULT_FILES[0], newline="", encoding="utf-8") as fh:
        sets["generator eval.csv"] = scored_pairs(list(csv.DictReader(fh)))
    vectors = {key: [levels(x.features) for x in pairs] for key, pairs in sets.items()}
    devs = [key for key in sets if key.endswith(":dev")]
    pooled = fit_em([v for key in devs for v in vectors[key]]) if devs else None
    fitted = {key: fit_em(vectors[key]) for key in sets if not key.endswith(":test")}
    own = {key: fitted[key.replace(":test", ":dev")] for key in sets}
    match = EntityResolver({}).thresholds.match
    cutoffs = fit_pattern_cutoffs([x for key in devs for x in sets[key]], match)
    print("scored pairs, P / R / F1 (no test row is shown; EM uses no labels; per-pattern cut-offs use the dev labels)")
    for key, pairs in sets.items():
        print(f"{key}: {len(pairs)} scored pairs")
        print(f"  fitted model (p >= {match})          {scores(pairs, [x.probability >= match for x in pairs])}")
        print(f"  engine (model + contact rule)        {scores(pairs, [x.joined for x in pairs])}")
        print(
            f"  EM on own dev half, posterior >= 0.5 {scores(pairs, [_posterior(own[key], v) >= 0.5 for v in vectors[key]])}"
        )
        if pooled is not None:
            decided = [_posterior(pooled, v) >= 0.5 for v in vectors[key]]
            print(f"  EM on both dev halves, >= 0.5        {scores(pairs, decided)}")
        decided = [x.probability >= cutoffs.get(pattern(x.features), match) for x in pairs]
        print(f"  per-pattern cut-offs (dev labels)    {scores(pairs, decided)}")


if __name__ == "__main__":
    main()
