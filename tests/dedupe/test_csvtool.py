import csv

import pytest

from stages.dedupe.csvtool import dedupe_csv


def write(path, header, rows):
    with open(path, "w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(header)
        writer.writerows(rows)


def read(path):
    with open(path, newline="") as fh:
        return list(csv.reader(fh))


def test_output_has_one_row_per_input_row_in_order(tmp_path):
    src, out = tmp_path / "in.csv", tmp_path / "out.csv"
    write(
        src,
        ["id", "name", "address", "city", "state", "zip", "phone", "website", "email", "category", "notes"],
        [
            [
                "r3",
                "The Apple Pan",
                "10801 W. Pico Blvd.",
                "Los Angeles",
                "CA",
                "90064",
                "310/475-3585",
                "",
                "",
                "american",
                "x",
            ],
            ["r1", "Blue Door Cafe", "8305 Beverly Blvd", "Los Angeles", "CA", "90048", "", "", "", "", ""],
            ["r2", "apple pan, the", "10801 w pico boulevard", "la", "", "", "(310) 475-3585", "", "", "", ""],
            ["r4", "", "", "", "", "", "", "", "", "", ""],
        ],
    )
    counts = dedupe_csv(src, out)
    rows = read(out)
    assert rows[0] == ["id", "entity_id"]
    assert [r[0] for r in rows[1:]] == ["r3", "r1", "r2", "r4"]
    ids = {r[0]: r[1] for r in rows[1:]}
    assert ids["r3"] == ids["r2"] and len({ids["r3"], ids["r1"], ids["r4"]}) == 3
    assert counts["rows"] == 4 and counts["duplicate"] == 1 and counts["entities"] == 3


def test_absent_columns_are_fine(tmp_path):
    src, out = tmp_path / "in.csv", tmp_path / "out.csv"
    write(
        src,
        ["phone", "id", "name"],
        [["310-555-0101", "a", "Joe's Plumbing"], ["(310) 555-0101", "b", "Joes Plumbing"], ["", "c", "Other Co"]],
    )
    dedupe_csv(src, out)
    rows = read(out)[1:]
    assert rows[0][1] == rows[1][1] != rows[2][1]


def test_id_column_is_required(tmp_path):
    src = tmp_path / "in.csv"
    write(src, ["name"], [["x"]])
    with pytest.raises(ValueError):
        dedupe_csv(src, tmp_path / "out.csv")


def test_a_later_bridge_updates_earlier_rows(tmp_path):
    src, out = tmp_path / "in.csv", tmp_path / "out.csv"
    write(
        src,
        ["id", "name", "address", "zip", "phone", "website"],
        [
            ["a", "Harbor Auto Repair", "", "43215", "614-555-0199", ""],
            ["b", "Harbor Auto Repair", "3151 W Hill St", "43215", "", "harborauto.com"],
            ["c", "Harbor Auto Repair", "3151 West Hill Street", "43215", "(614) 555-0199", "harborauto.com"],
        ],
    )
    dedupe_csv(src, out)
    assert len({r[1] for r in read(out)[1:]}) == 1


def test_with_a_judge_over_the_simulator(tmp_path, fresh_sim):
    from stages.dedupe.judge import OllamaJudge

    base_url, _ = fresh_sim
    src, out = tmp_path / "in.csv", tmp_path / "out.csv"
    write(
        src,
        ["id", "name", "zip", "phone"],
        [
            ["a", "Golden Dragon", "94108", "415-555-0188"],
            ["b", "Golden Dragon", "94108", "(415) 555-0188"],
            ["c", "Jade Garden", "94108", ""],
        ],
    )
    counts = dedupe_csv(src, out, judge=OllamaJudge(base_url, "llama3.1", timeout_s=5))
    rows = read(out)[1:]
    assert rows[0][1] == rows[1][1] != rows[2][1] and counts["rows"] == 3
