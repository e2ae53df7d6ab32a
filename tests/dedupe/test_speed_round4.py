"""Speed round 4. A lead's candidates are read up to their spellings (`state._spellings_only`), and completed
(`EntityState.whole`) only where a join, a merge or a gray pair needs their field values: these tests check the
partial read against the whole one, that it fires, and that the engine decides and stores as with whole reads. Two
pure word functions are memoized (`blocking._phonetic`, `features._typo_of`): checked against the Rust calls, and
that the memo is hit."""

from __future__ import annotations

import jellyfish
import orjson
import pytest

from stages.dedupe import state as state_module
from stages.dedupe.blocking import _phonetic, name_keys
from stages.dedupe.engine import EntityResolver
from stages.dedupe.evalset import generate
from stages.dedupe.features import _typo_of, same_token
from stages.dedupe.record import DedupeInput, Profile
from stages.dedupe.state import EntityState, _spellings_only

ROWS = generate(seed=4242, businesses=150)
# Names that hold the very text the partial read looks for, and the characters JSON escapes.
AWKWARD = ['Odd "profiles": Diner', 'Cafe ,"fields":{"x":1}', "Back\\slash Bar", 'Quote" ,"fields": "Deli', "Ünï Café"]


def _merging(n: int) -> list[dict]:
    """Three listings of one business: the third joins the first and merges the second into it (test_engine's
    transitive merge)."""
    name, phone, street = f"Harbor {n} Auto Repair", f"614-555-{n:04d}", f"{3100 + n} W Hill St"
    return [
        {"id": f"m{n}a", "name": name, "phone": phone, "zip": "43215"},
        {"id": f"m{n}b", "name": name, "address": street, "city": "Columbus", "website": f"harbor{n}.com"},
        {"id": f"m{n}c", "name": name, "address": street, "phone": phone, "website": f"harbor{n}.com", "zip": "43215"},
    ]


def _rows() -> list[dict]:
    rows = [dict(row) for row in ROWS]
    for i, row in enumerate(rows):
        if i % 3 == 0:
            row["latitude"], row["longitude"] = 40.0 + (i % 50) * 1e-4, -80.0 - (i % 7) * 1e-4
        if i % 40 == 0:
            row["name"] = AWKWARD[(i // 40) % len(AWKWARD)]
    return rows + [row for n in range(5) for row in _merging(n)]


def _resolved(rows: list[dict]) -> tuple[list[tuple], dict]:
    store: dict = {}
    engine = EntityResolver(store, clock=lambda: 1_700_000_000.0)
    outcomes = []
    for row in rows:
        res = engine.resolve(DedupeInput.from_row(row))
        gray = [(p.candidate_entity_id, p.probability, p.candidate) for p in res.gray_pairs]
        outcomes.append(
            (res.decision, res.entity_id, res.duplicate_of, res.probability, res.matched_on, res.audit, gray)
        )
    return outcomes, store


def test_a_record_read_up_to_its_spellings_equals_the_whole_records_first_keys():
    _, store = _resolved(_rows())
    records = [value for key, value in store.items() if key.startswith("e:")]
    read = 0
    for raw in records:
        whole = orjson.loads(raw)
        part = _spellings_only(raw)
        if "into" in whole:
            assert part is None  # a merge pointer is read whole
            continue
        read += 1
        assert part is not None
        assert list(part) == list(whole)[: len(part)] and list(part)[-1] == "profiles"
        assert part == {key: whole[key] for key in part}
    assert read > 100
    assert any(name in raw for raw in records for name in ('\\"profiles\\":', ',\\"fields\\":'))  # the awkward names


@pytest.mark.parametrize(
    "record",
    [
        {"profiles": [["a"]], "id": "x", "fields": {}},  # spellings first
        {"id": "x", "fields": {}, "profiles": [["a"]]},  # fields before the spellings
        {"id": "x", "seq": 1, "profiles": [["a"]]},  # no fields
        {"id": "x", "n": {"profiles": [1], "fields": 2}, "profiles": [["a"]], "fields": {}},  # nested keys of that name
        {"id": "x", "profiles": [[{"k": 1, "fields": 2}]], "fields": {}},  # a nested "fields" inside the spellings
        {"seq": 1, "profiles": [["a"]], "fields": {}},  # no id
        {"into": "y"},
    ],
)
def test_a_record_of_another_shape_is_read_whole_or_exactly(record: dict):
    raw = orjson.dumps(record).decode()
    part = _spellings_only(raw)
    assert part is None or part == {key: record[key] for key in part}
    assert EntityState({"e:x": raw}).find("x") == (
        "x" if "into" not in record else "y",
        None if "into" in record else record,
    )


def test_within_a_lead_candidates_come_without_their_fields_and_whole_completes_them():
    state = EntityState({})
    for entity_id, seq in (("a", 1), ("b", 2)):
        state.set("e:" + entity_id, {"id": entity_id, "seq": seq, "profiles": [["x"]], "fields": {"name": ["X"]}})
        state.index(["p:CA:1"], entity_id)
    with state.one_lead():
        found = state.candidates(["p:CA:1"], [3], 12, 2)
        assert all("fields" not in record for record in found.values())  # the partial read fired
        record = found["a"]
        assert state.whole(record) is record and record == state.entity("a")
        assert list(orjson.loads(state.store["e:a"])) == list(record)  # saved in the stored key order
        assert state.whole(record) == state.entity("a")  # a second completion changes nothing
    found = state.candidates(["p:CA:1"], [3], 12, 2)  # outside a lead: whole records
    assert found == {"a": state.entity("a"), "b": state.entity("b")}


def test_the_engine_decides_and_stores_as_with_whole_reads(monkeypatch: pytest.MonkeyPatch):
    rows = _rows()
    fast = _resolved(rows)
    monkeypatch.setattr(state_module, "_spellings_only", lambda raw: None)  # the slow path: every record whole,
    monkeypatch.setattr(EntityState, "known_keys", lambda self, stored: None)  # every spelling's keys and Profile anew
    slow = _resolved(rows)
    assert fast[0] == slow[0]
    assert fast[1] == slow[1]  # the same text under every key
    audits = [entry["kind"] for outcome in fast[0] for entry in outcome[5]]
    assert audits.count("join") > 100 and audits.count("merge") >= 5  # joins and merges complete their records
    assert sum(len(outcome[6]) for outcome in fast[0]) >= 5  # and so do gray pairs (the candidate's values)


def test_the_memoized_word_functions_answer_as_the_rust_calls_and_are_hit():
    words = sorted({word for row in ROWS for word in (row.get("name") or "").lower().split()})
    words += ["smith", "smyth", "smiht", "plumbing", "plumbnig", "o'neil", "4th", "café", "straße"]
    _phonetic.cache_clear()
    _typo_of.cache_clear()
    for word in words:
        assert _phonetic(word) == (jellyfish.nysiis(word) if word.isalpha() else word)
    name_keys(" ".join(words[:2]), "CA")
    assert _phonetic.cache_info().hits >= 2  # the blocking keys read the memo
    long = [word for word in words if len(word) >= 5]
    for a in long[:60]:
        for b in long[:60]:
            assert _typo_of(a, b) == (jellyfish.jaro_winkler_similarity(a, b) >= 0.92)
            assert same_token(a, [b]) == (a == b or a.startswith(b) or b.startswith(a) or _typo_of(a, b))
    assert _typo_of.cache_info().hits >= 3600  # same_token read the memo


def test_a_spelling_rebuilt_from_its_stored_form_is_the_profile_the_engine_remembers():
    # `derived._list` takes the lead's own Profile from `EntityState.remember_keys` instead of `Profile.from_list`.
    rows = _rows()
    for row in rows:
        profile = Profile.of(DedupeInput.from_row(row))
        assert Profile.from_list(profile.to_list()) == profile
    state = EntityState({})
    profile = Profile.of(DedupeInput.from_row(rows[0]))
    state.remember_keys(profile.to_list(), ["k"], profile)
    assert state.known_keys(profile.to_list()) == (["k"], profile)
    assert state.known_keys(Profile.of(DedupeInput.from_row(rows[1])).to_list()) is None
