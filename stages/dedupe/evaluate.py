"""Pairwise precision/recall/F1: ``python -m stages.dedupe.evaluate [CSV ...]``.

Each CSV has the input columns plus ``cluster`` (the true business). The engine
runs exactly as the CLI does (no LLM: gray pairs stay apart); a predicted pair
is two rows given one entity id.
"""

from __future__ import annotations

import argparse
import csv
import time
from collections import Counter
from pathlib import Path

from stages.dedupe.csvtool import resolve_rows

DATA = Path(__file__).resolve().parents[2] / "tests" / "data" / "dedupe"
DEFAULT_FILES = (DATA / "eval.csv", DATA / "handmade.csv")


def _pairs(labels: list[str]) -> int:
    return sum(n * (n - 1) // 2 for n in Counter(labels).values())


def pairwise_scores(truth: list[str], predicted: list[str]) -> dict[str, float]:
    true_pairs = _pairs(truth)
    predicted_pairs = _pairs(predicted)
    both = _pairs([f"{t}\x00{p}" for t, p in zip(truth, predicted)])
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


def evaluate_file(path: str | Path) -> dict:
    with open(path, newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    started = time.perf_counter()
    predicted, counts = resolve_rows(rows)
    scores = pairwise_scores([r["cluster"] for r in rows], predicted)
    scores.update(rows=len(rows), gray=counts["gray"], seconds=time.perf_counter() - started)
    return scores


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("files", nargs="*", default=[str(p) for p in DEFAULT_FILES])
    args = parser.parse_args()
    for path in args.files:
        s = evaluate_file(path)
        print(
            f"{path}: rows={s['rows']} pairs true={s['true_pairs']} predicted={s['predicted_pairs']} "
            f"precision={s['precision']:.4f} recall={s['recall']:.4f} f1={s['f1']:.4f} gray={s['gray']}"
        )


if __name__ == "__main__":
    main()
