"""Match quality and blocking recall per labelled set: ``python -m stages.dedupe.evaluate [CSV ...]``.

Without arguments it scores the generator's sets (``tests/data/dedupe/``: the
seeded evaluation set and the hand-written one) and every public real-world set
found under ``$LEADSTREAM_ER_DATA`` (see `realdata`; absent sets are reported as
absent, e.g. in CI or a fresh clone), each real set split by entity into its
``dev`` and ``test`` halves. The pair model is fitted on `traindata` only, so no
row scored here was used for fitting. The held-out sets (`realdata.HELD_OUT`,
round 20: Geo-ER's OSM–Yelp pairs and its other cities) are scored like the rest
but never listed (``--list`` refuses them); the reference-only ones outside North
America (`realdata.REFERENCE_ONLY`) are left out of the default run and scored
with ``--sets NAME ...`` (which scores only the named real sets).

Each CSV has the input columns plus ``cluster`` (the true business). The engine
runs exactly as ``leadstream dedupe`` does (no LLM: gray pairs stay apart); a
predicted pair is two rows given one entity id. With ``--judge-bound`` each set
is also resolved with a judge that answers every gray pair from the labels:
what the gray zone is worth if the stream's LLM judge were always right (an
upper bound), and how many questions it would be asked. Blocking recall is the share of
true pairs that share a blocking key (``direct``), or that are linked through a
chain of key-sharing rows of the same business (``reachable``: what merging can
still find); pairs whose partition keys differ share no key, so partition misses
count against it, and are also given on their own (``split by partition``: the share
of true pairs whose two rows get different partition keys).
"""

from __future__ import annotations

import argparse
import csv
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from itertools import combinations
from pathlib import Path

from stages.dedupe import realdata
from stages.dedupe.blocking import blocking_keys, lookup_keys
from stages.dedupe.csvtool import resolve_rows
from stages.dedupe.engine import EntityResolver, Resolution
from stages.dedupe.judge import Judge, Verdict
from stages.dedupe.phone_look import directory_keys
from stages.dedupe.record import DedupeInput, Profile

DATA = Path(__file__).resolve().parents[2] / "tests" / "data" / "dedupe"
DEFAULT_FILES = (DATA / "eval.csv", DATA / "handmade.csv")


def _pairs(labels: Sequence[str | None]) -> int:
    return sum(n * (n - 1) // 2 for n in Counter(labels).values())


def pairwise_scores(truth: Sequence[str | None], predicted: Sequence[str | None]) -> dict[str, float]:
    return _scores(_pairs, truth, predicted)


def linkage_scores(
    truth: Sequence[str | None], predicted: Sequence[str | None], sources: Sequence[str]
) -> dict[str, float]:
    """`pairwise_scores` counted on pairs of rows from two different sources only: the pairs a two-source
    linkage set labels. Its candidate pairs join a record of one source to one of the other, so two records
    of one source are never labelled (neither the same place nor two); counting an engine's pair of them as
    wrong, or a pair tied only through match labels as missed, scores what the set does not know."""

    def cross(labels: Sequence[str | None]) -> int:
        return _pairs(labels) - _pairs([f"{label}\x00{source}" for label, source in zip(labels, sources)])

    return _scores(cross, truth, predicted)


def _scores(
    pairs: Callable[[Sequence[str | None]], int], truth: Sequence[str | None], predicted: Sequence[str | None]
) -> dict[str, float]:
    """Pairwise precision, recall and F1, with ``pairs`` counting the pairs a labelling puts together."""
    true_pairs = pairs(truth)
    predicted_pairs = pairs(predicted)
    both = pairs([f"{t}\x00{p}" for t, p in zip(truth, predicted)])
    precision = both / predicted_pairs if predicted_pairs else 1.0
    recall = both / true_pairs if true_pairs else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {
        "precision": precision,
        "recall": recall,
        "f1": f1,
        "true_pairs": true_pairs,
        "predicted_pairs": predicted_pairs,
        "correct_pairs": both,
    }


def _root(parent: dict[int, int], m: int) -> int:
    while parent[m] != m:
        parent[m] = parent[parent[m]]
        m = parent[m]
    return m


def _linked_share(rows: list[dict], linked: Callable[[int, int], bool]) -> tuple[float, float]:
    """Share of true pairs that are `linked` (direct), and that are reachable through linked rows of their business."""
    by_cluster: dict[str, list[int]] = defaultdict(list)
    for i, row in enumerate(rows):
        by_cluster[row["cluster"]].append(i)
    true_pairs = direct = reachable = 0
    for members in by_cluster.values():
        if len(members) < 2:
            continue
        parent = {m: m for m in members}
        for a, b in combinations(members, 2):
            true_pairs += 1
            if linked(a, b):
                direct += 1
                parent[_root(parent, a)] = _root(parent, b)
        sizes = Counter(_root(parent, m) for m in members)
        reachable += sum(n * (n - 1) // 2 for n in sizes.values())
    if not true_pairs:
        return 1.0, 1.0
    return direct / true_pairs, reachable / true_pairs


def blocking_recall(rows: list[dict]) -> dict[str, float]:
    """Share of true pairs sharing a blocking key (direct) or linked by key-sharing rows of their business. A row
    with a point is looked up in the neighbouring map cells too (`lookup_keys`): a pair shares a key when one row's
    lookup keys hold a key the other is indexed under. A pair of two partition keys is compared in the directory
    (`phone_look`) when the two rows share a directory key, so that counts too, as the stream compares them."""
    profiles = [Profile.of(DedupeInput.from_row(row)) for row in rows]
    keys = [set(blocking_keys(p)) for p in profiles]
    looked = [set(lookup_keys(p, list(k))) for p, k in zip(profiles, keys)]
    across = [set(directory_keys(p)) for p in profiles]

    def compared(a: int, b: int) -> bool:
        if looked[a] & keys[b] or looked[b] & keys[a]:
            return True
        return profiles[a].geo != profiles[b].geo and bool(across[a] & across[b])

    direct, reachable = _linked_share(rows, compared)
    return {"blocking_direct": direct, "blocking_recall": reachable}


def partition_split(rows: list[dict]) -> dict[str, float]:
    """Share of true pairs whose two rows get different partition keys (`schemas.geo.dedupe_key`): pairs the stream
    can never compare, whatever the blocking, because their dedupe state lives in two partitions. Part of what
    blocking recall misses, counted on its own so the partition key's known miss (docs/dedupe.md) shows per set."""
    geo = [DedupeInput.from_row(row).geo_key for row in rows]
    together, _ = _linked_share(rows, lambda a, b: geo[a] == geo[b])
    return {"partition_split": 1.0 - together}


class _Tracing(EntityResolver):
    """The engine, recording for each true pair whether the later lead had the earlier one's entity
    among its scored candidates (the blocking keys *and* the candidate cut, `MAX_CANDIDATES`)."""

    def __init__(self, clusters: dict[str, str]) -> None:
        super().__init__({})
        self.clusters = clusters
        self.seen: dict[str, list[str]] = defaultdict(list)  # cluster -> earlier lead ids
        self.compared: list[tuple[str, str]] = []
        self._last: list[str] = []
        candidates = self.state.candidates

        def traced(*args: object, **kwargs: object) -> dict[str, dict | None]:
            roots = candidates(*args, **kwargs)  # type: ignore[arg-type]
            self._last = list(roots)
            return roots

        self.state.candidates = traced  # type: ignore[method-assign]

    def resolve(self, record: DedupeInput) -> Resolution:
        cluster = self.clusters.get(record.lead_id)
        earlier = self.seen[cluster] if cluster is not None else []
        roots = {lead: self.entity_of(lead) for lead in earlier}
        self._last = []
        res = super().resolve(record)
        found = set(self._last)
        self.compared.extend((lead, record.lead_id) for lead, root in roots.items() if root in found)
        if cluster is not None:
            earlier.append(record.lead_id)
        return res


def candidate_recall(rows: list[dict], tracer: _Tracing) -> dict[str, float]:
    """Share of true pairs the engine compared (directly, or through compared rows of their business)."""
    ids = [DedupeInput.from_row(row).lead_id for row in rows]
    position = {lead: i for i, lead in enumerate(ids)}
    direct_pairs = {frozenset((position[a], position[b])) for a, b in tracer.compared}
    direct, reachable = _linked_share(rows, lambda a, b: frozenset((a, b)) in direct_pairs)
    return {"compared_direct": direct, "compared_recall": reachable}


def evaluate_rows(rows: list[dict], linkage: bool = False, judge_bound: bool = False) -> dict:
    """Scores of one labelled set; with ``linkage`` (a two-source linkage set, `realdata.LINKAGE_SETS`) also
    the ``cross_*`` scores of `linkage_scores`, beside the all-pairs ones; with ``judge_bound`` also
    `judged_scores`."""
    started = time.perf_counter()
    tracer = _Tracing({DedupeInput.from_row(r).lead_id: r["cluster"] for r in rows})
    predicted, counts = resolve_rows(rows, resolver=tracer)
    scores = pairwise_scores([r["cluster"] for r in rows], predicted)
    if linkage:
        cross = linkage_scores([r["cluster"] for r in rows], predicted, [r["source"] for r in rows])
        scores.update({f"cross_{k}": v for k, v in cross.items()})
    scores.update(blocking_recall(rows))
    scores.update(partition_split(rows))
    scores.update(candidate_recall(rows, tracer))
    scores.update(rows=len(rows), gray=counts["gray"], seconds=time.perf_counter() - started)
    if judge_bound:
        scores.update(judged_scores(rows, linkage))
    return scores


class _LabelJudge:
    """A judge that is always right: it answers from the labels whether a lead's business is that of the
    candidate entity's first lead. `EntityResolver.judge_gray` asks about a lead's gray pairs one by one, in
    their order, and the judge is handed those pairs (`expect`) before it is asked, since a question carries
    the two listings' values but not which rows they came from."""

    min_confidence = 0.5

    def __init__(self, clusters: dict[str, str], resolver: EntityResolver) -> None:
        self.clusters, self.resolver = clusters, resolver
        self.asked = 0
        self._pairs: list = []

    def expect(self, pairs: list) -> None:
        self._pairs = list(pairs)

    async def judge(self, first: dict, second: dict) -> Verdict | None:
        pair = self._pairs.pop(0)
        self.asked += 1
        _, entity = self.resolver.state.find(pair.candidate_entity_id)
        same = entity is not None and self.clusters.get(entity["first"]) == self.clusters.get(pair.lead_id)
        return Verdict(same_business=same, confidence=1.0)


class _Judged(EntityResolver):
    """The engine with `_LabelJudge` as its gray-zone judge."""

    def __init__(self, clusters: dict[str, str]) -> None:
        super().__init__({})
        self.labels = _LabelJudge(clusters, self)

    async def judge_gray(self, res: Resolution, judge: Judge | None, review_items_out: list[dict]) -> Resolution:
        self.labels.expect(res.gray_pairs)
        return await super().judge_gray(res, judge, review_items_out)


def judged_scores(rows: list[dict], linkage: bool = False) -> dict:
    """Scores with every gray pair judged from the labels (`_LabelJudge`): ``judged_*`` (and ``judged_cross_*``
    on a linkage set), ``judge_asked`` (questions) and ``judged_review`` (left for review: none, it is sure)."""
    resolver = _Judged({DedupeInput.from_row(r).lead_id: r["cluster"] for r in rows})
    predicted, counts = resolve_rows(rows, judge=resolver.labels, resolver=resolver)
    truth = [r["cluster"] for r in rows]
    scores = {f"judged_{k}": v for k, v in pairwise_scores(truth, predicted).items()}
    if linkage:
        cross = linkage_scores(truth, predicted, [r["source"] for r in rows])
        scores.update({f"judged_cross_{k}": v for k, v in cross.items()})
    scores.update(judge_asked=resolver.labels.asked, judged_review=counts["review_items"])
    return scores


def evaluate_file(path: str | Path, judge_bound: bool = False) -> dict:
    with open(path, newline="", encoding="utf-8") as fh:
        return evaluate_rows(list(csv.DictReader(fh)), judge_bound=judge_bound)


def real_sets(
    root: Path = realdata.DATA_ROOT, names: Sequence[str] = realdata.DEFAULT_RUN
) -> tuple[dict[str, list[dict]], list[str]]:
    """(name → rows) for the named real sets present (by default `realdata.DEFAULT_RUN`), split into halves; and
    the names of those absent."""
    present, absent = {}, []
    found = realdata.available(root)
    for name in names:
        if not found[name]:
            absent.append(name)
            continue
        rows = realdata.load(name, root)
        for part in ("dev", "test"):
            present[f"{name}:{part}"] = realdata.split(rows, part)
    return present, absent


def _brief(row: dict, res: Resolution | None = None) -> str:
    p = Profile.of(DedupeInput.from_row(row))
    a = p.address
    street = " ".join(x for x in (a.number, a.predir, a.street, a.street_type, a.postdir) if x)
    unit = f" #{a.unit}" if a.unit else ""
    return (
        f"{row.get('name', '')!r} | {row.get('address', '')!r} | {row.get('phone', '')} | {row.get('category', '')}"
        f"\n        → {p.name!r} | {street}{unit} | {p.phone} | {p.city} {p.zip}{_path(res)}"
    )


def _path(res: Resolution | None) -> str:
    """How a row joined its entity: the model, the contact rule or the bare-listing rule, and the model's p."""
    if res is None or res.decision != "duplicate":
        return ""
    on = res.matched_on
    rule = "contact rule" if "name_tokens" in on else "bare listing" if "name_city" in on else "model"
    keys = [k for k in on if k not in ("name_tokens", "name_city")]
    return f"\n        joined by {rule}, p={res.probability}, agreeing on {', '.join(keys) or 'nothing exact'}"


class _Recording(EntityResolver):
    """The engine, keeping each lead's resolution (for `error_listing`)."""

    def __init__(self) -> None:
        super().__init__({})
        self.results: dict[str, Resolution] = {}

    def resolve(self, record: DedupeInput) -> Resolution:
        res = self.results[record.lead_id] = super().resolve(record)
        return res


def error_listing(rows: list[dict]) -> tuple[list[str], list[str]]:
    """The missed true pairs (a business split over entities: each entity's rows) and the wrong ones (an
    entity joining businesses: each business's rows, each joined row with how it joined), as text blocks.
    For `dev` halves only (`main`)."""
    recorder = _Recording()
    predicted, _ = resolve_rows(rows, resolver=recorder)
    paths = [recorder.results.get(DedupeInput.from_row(row).lead_id) for row in rows]
    by_cluster: dict[str, dict[str | None, list[int]]] = defaultdict(lambda: defaultdict(list))
    by_entity: dict[str | None, dict[str, list[int]]] = defaultdict(lambda: defaultdict(list))
    for i, (row, entity) in enumerate(zip(rows, predicted)):
        by_cluster[row["cluster"]][entity].append(i)
        by_entity[entity][row["cluster"]].append(i)

    def block(title: str, groups: dict) -> str:
        lines = [title]
        for label, members in groups.items():
            lines.append(f"  [{label}]")
            lines.extend(f"    {_brief(rows[i], paths[i])}" for i in members)
        return "\n".join(lines)

    missed = [
        block(f"MISSED cluster {cluster} ({sum(len(m) for m in groups.values())} rows, {len(groups)} entities)", groups)
        for cluster, groups in by_cluster.items()
        if len(groups) > 1
    ]
    wrong = [
        block(f"WRONG entity {entity} ({len(groups)} clusters)", groups)
        for entity, groups in by_entity.items()
        if len(groups) > 1
    ]
    return missed, wrong


def _line(label: str, s: dict) -> str:
    line = (
        f"{label}: rows={s['rows']} true_pairs={s['true_pairs']} predicted={s['predicted_pairs']} "
        f"precision={s['precision']:.4f} recall={s['recall']:.4f} f1={s['f1']:.4f} "
        f"blocking_recall={s['blocking_recall']:.4f} (direct {s['blocking_direct']:.4f}; "
        f"split by partition {s['partition_split']:.4f}) "
        f"compared={s['compared_recall']:.4f} gray={s['gray']}"
    )
    if "cross_f1" in s:
        line += (
            f"\n  {label} cross-source pairs only (a linkage set labels no pair within one source): "
            f"true_pairs={s['cross_true_pairs']} predicted={s['cross_predicted_pairs']} "
            f"precision={s['cross_precision']:.4f} recall={s['cross_recall']:.4f} f1={s['cross_f1']:.4f}"
        )
    if "judged_f1" in s:
        cross = (
            f"; cross-source precision={s['judged_cross_precision']:.4f} recall={s['judged_cross_recall']:.4f} "
            f"f1={s['judged_cross_f1']:.4f}"
            if "judged_cross_f1" in s
            else ""
        )
        line += (
            f"\n  {label} with a judge always right on gray pairs (labels; upper bound): "
            f"questions={s['judge_asked']} ({1000 * s['judge_asked'] / max(s['rows'], 1):.1f} per 1,000 leads) "
            f"precision={s['judged_precision']:.4f} recall={s['judged_recall']:.4f} f1={s['judged_f1']:.4f}{cross}"
        )
    return line


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("files", nargs="*", help="labelled CSVs (default: the generator's sets and the real sets)")
    parser.add_argument("--data", default=str(realdata.DATA_ROOT), help="where the real sets are")
    parser.add_argument(
        "--list",
        metavar="SET",
        help="list the missed and wrong pairs of a real set's dev half (e.g. overture_place_pairs); "
        "test halves and the held-out sets (realdata.HELD_OUT) are only ever scored, so they cannot be listed",
    )
    parser.add_argument(
        "--sets",
        nargs="+",
        metavar="SET",
        choices=sorted(realdata.DATASETS),
        help="score only these real sets, both halves (e.g. the reference-only ones, realdata.REFERENCE_ONLY, "
        "which the default run leaves out)",
    )
    parser.add_argument(
        "--judge-bound",
        action="store_true",
        help="also resolve each set with a judge that answers gray pairs from the labels: what the gray zone "
        "is worth if the stream's LLM judge were always right, and how often it is asked (twice the time)",
    )
    args = parser.parse_args()
    if args.list in realdata.HELD_OUT:
        parser.error(f"{args.list} is held out (realdata.HELD_OUT): it is only ever scored, never listed")
    if args.list:
        missed, wrong = error_listing(realdata.split(realdata.load(args.list, Path(args.data)), "dev"))
        print("\n".join(missed + wrong))
        print(f"{args.list}:dev — {len(missed)} split businesses, {len(wrong)} entities joining businesses")
        return
    if args.files:
        for path in args.files:
            print(_line(path, evaluate_file(path, args.judge_bound)))
        return
    print("model fitted on: stages.dedupe.traindata (synthetic) only; every row below is unseen by the fit")
    if not args.sets:
        for path in DEFAULT_FILES:
            print(_line(f"generator {path.name}", evaluate_file(path, args.judge_bound)))
    present, absent = real_sets(Path(args.data), args.sets or realdata.DEFAULT_RUN)
    for name, rows in present.items():
        set_name = name.partition(":")[0]
        label = f"real {name}" + (" (held out: only scored)" if set_name in realdata.HELD_OUT else "")
        linkage = set_name in realdata.LINKAGE_SETS
        print(_line(label, evaluate_rows(rows, linkage=linkage, judge_bound=args.judge_bound)))
    for name in absent:
        print(f"real {name}: absent (not under {args.data}; see stages/dedupe/realdata.py for its source)")


if __name__ == "__main__":
    main()
