"""The public labelled sets, when present under ``$LEADSTREAM_ER_DATA`` (never committed): skipped otherwise."""

import pytest

from stages.dedupe import realdata
from stages.dedupe.evaluate import evaluate_rows

PRESENT = realdata.available()


def test_halves_split_by_entity():
    rows = [{"cluster": str(i // 3)} for i in range(300)]
    dev, test = realdata.split(rows, "dev"), realdata.split(rows, "test")
    assert len(dev) + len(test) == len(rows)
    assert not {r["cluster"] for r in dev} & {r["cluster"] for r in test}


@pytest.mark.skipif(not PRESENT.get("chicago_early_childhood"), reason="Chicago set not under $LEADSTREAM_ER_DATA")
@pytest.mark.parametrize(("part", "min_f1"), [("dev", 0.970), ("test", 0.957)])
def test_chicago_floor(part, min_f1):
    """A regression floor at the round-4 figures (0.9709 / 0.9583), not a target the rules were fitted to."""
    scores = evaluate_rows(realdata.split(realdata.load("chicago_early_childhood"), part))
    assert scores["precision"] >= 0.98, scores
    assert scores["f1"] >= min_f1, scores


@pytest.mark.skipif(not PRESENT.get("patstat_organisations"), reason="PATSTAT set not under $LEADSTREAM_ER_DATA")
def test_patstat_names_alone_never_merge():
    scores = evaluate_rows(realdata.split(realdata.load("patstat_organisations"), "dev"))
    assert scores["predicted_pairs"] == 0
