"""`evaluate --judge-bound`: the gray zone judged from the labels, as an upper bound of the LLM judge."""

import csv

from stages.dedupe.evaluate import DEFAULT_FILES, evaluate_rows, judged_scores


def eval_rows() -> list[dict]:
    with open(DEFAULT_FILES[0], newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def test_a_judge_always_right_is_asked_every_gray_pair_and_joins_only_true_ones():
    rows = eval_rows()
    scores = evaluate_rows(rows, judge_bound=True)
    assert scores["gray"] > 0 and scores["judge_asked"] >= scores["gray"]  # a gray lead may have several pairs
    assert scores["judged_review"] == 0  # it is always sure: nothing is left for a person
    # every join it adds is a true pair: the correct pairs grow by as much as the predicted ones
    added = scores["judged_predicted_pairs"] - scores["predicted_pairs"]
    assert added > 0
    assert scores["judged_correct_pairs"] - scores["correct_pairs"] == added
    assert scores["judged_recall"] > scores["recall"]


def test_the_judge_answers_from_the_labels_not_from_the_listings():
    """With every row its own business the same questions are all answered "two": nothing more is joined."""
    rows = [{**row, "cluster": f"own-{i}"} for i, row in enumerate(eval_rows())]
    plain = evaluate_rows(rows)
    judged = judged_scores(rows)
    assert judged["judge_asked"] > 0
    assert judged["judged_predicted_pairs"] == plain["predicted_pairs"]
    assert judged["judged_correct_pairs"] == 0
