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


GUIDE_ROWS = [
    ["r1", "Joe's Pizza", "12 Main St.", "Springfield", "310-555-0101", "pizza", "1"],
    ["r2", "Joes Pizza", "12 Main Street", "Springfield", "(310) 555-0101", "italian", "1"],
    ["r3", "Joe's Pizza", "900 Elm St.", "Springfield", "310-555-0199", "pizza", "0"],
]


def test_common_exporters_headers_are_read_and_the_rest_is_reported(tmp_path):
    # A guide's export: capitals, `addr`, `type`, and a label column the engine must not read.
    src, out = tmp_path / "guide.csv", tmp_path / "out.csv"
    write(src, ["ID", "Name", "addr", "City", "Phone Number", "type", "class"], GUIDE_ROWS)
    counts = dedupe_csv(src, out)
    ids = dict(read(out)[1:])
    # Read, the street lines and phones keep the chain's other branch apart; unread, the names alone join all three.
    assert ids["r1"] == ids["r2"] != ids["r3"]
    assert counts["columns"] == (
        "read as utf-8, comma-separated; "
        "columns read: id←ID, name←Name, address←addr, city←City, phone←Phone Number, category←type; ignored: class"
    )
    canonical = tmp_path / "canonical.csv"
    write(canonical, ["id", "name", "address", "city", "phone", "category", "notes"], GUIDE_ROWS)
    dedupe_csv(canonical, tmp_path / "canonical-out.csv")
    assert read(tmp_path / "canonical-out.csv")[1:] == read(out)[1:]


def test_a_file_the_engine_cannot_read_is_refused_by_name(tmp_path):
    src = tmp_path / "export.csv"
    write(src, ["id", "label", "notes"], [["a", "x", "y"]])
    with pytest.raises(ValueError, match=r"export\.csv: no column the engine reads"):
        dedupe_csv(src, tmp_path / "out.csv")


def test_several_headers_for_one_field_take_the_first_filled():
    from stages.dedupe.columns import header_key, map_columns

    assert header_key(" Street-Address ") == header_key("street.address") == "street_address"
    columns = map_columns(["id", "street", "Address"], "f.csv")
    assert columns.fields["address"] == ("Address", "street")
    assert columns.row({"id": "1", "Address": " ", "street": "5 Oak Ave"})["address"] == "5 Oak Ave"
    assert columns.row({"id": "1", "Address": "7 Elm St", "street": "5 Oak Ave"})["address"] == "7 Elm St"


@pytest.mark.parametrize(
    ("encoding", "delimiter", "described"),
    [("cp1252", ";", "read as cp1252, semicolon-separated"), ("utf-8-sig", "\t", "read as utf-8, tab-separated")],
)
def test_a_windows_export_or_another_delimiter_reads_as_the_same_listings(tmp_path, encoding, delimiter, described):
    rows = [[*row[:5], "café", row[6]] for row in GUIDE_ROWS] + [["r4", "Café Bébé", "5 Rue St.", "", "", "", ""]]
    header = ["id", "name", "address", "city", "phone", "category", "class"]
    src, out = tmp_path / "export.csv", tmp_path / "out.csv"
    with open(src, "w", newline="", encoding=encoding) as fh:
        csv.writer(fh, delimiter=delimiter).writerows([header, *rows])
    from stages.dedupe.columns import read_listing_file

    assert read_listing_file(src).rows[3]["name"] == "Café Bébé"
    counts = dedupe_csv(src, out)
    assert str(counts["columns"]).startswith(described + "; columns read: id←id, name←name, address←address")
    write(tmp_path / "plain.csv", header, rows)
    dedupe_csv(tmp_path / "plain.csv", tmp_path / "plain-out.csv")
    assert read(out)[1:] == read(tmp_path / "plain-out.csv")[1:]
    ids = dict(read(out)[1:])
    assert ids["r1"] == ids["r2"] != ids["r3"]


def test_a_header_that_only_splits_on_commas_stays_comma_separated(tmp_path):
    from stages.dedupe.columns import read_listing_file

    src = tmp_path / "in.csv"
    src.write_text('id,name,notes\n1,"Smith; Jones LLP",a;b\n', encoding="utf-8")
    listing = read_listing_file(src)
    assert listing.delimiter == "," and listing.rows[0]["name"] == "Smith; Jones LLP"


@pytest.mark.parametrize(
    ("ids", "problem"),
    [
        (["a", "b", "a"], r"in\.csv:4: id 'a' is already used on line 2"),
        (["a", " ", "c"], r"in\.csv:3: the row has no id"),
    ],
)
def test_a_repeated_or_missing_id_is_refused_with_its_line(tmp_path, ids, problem):
    # A repeated id would be answered as a redelivery of the first row, joined to it whatever it holds.
    src = tmp_path / "in.csv"
    write(src, ["id", "name"], [[i, f"Shop {n}"] for n, i in enumerate(ids)])
    with pytest.raises(ValueError, match=problem):
        dedupe_csv(src, tmp_path / "out.csv")
