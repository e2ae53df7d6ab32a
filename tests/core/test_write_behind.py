"""`tables.batched.WriteBehind`: a batch's table writes go out once per key, on the partition of the event that
made them, in the order of their last write; reads see them before that."""

from __future__ import annotations

from typing import Any

import pytest

from tables.batched import WriteBehind
from tables.scope import current_partition, partition_scope


class RecordingTable(dict):
    """Stands in for a Faust table: records every write with the partition current when it was made."""

    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        self.writes: list[tuple[str, Any, int | None]] = []

    def __setitem__(self, key: str, value: Any) -> None:
        self.writes.append((key, value, current_partition()))
        super().__setitem__(key, value)

    def __delitem__(self, key: str) -> None:
        self.writes.append((key, None, current_partition()))
        super().__delitem__(key)


def test_a_batch_writes_each_key_once_with_its_last_value_and_reads_see_it_before():
    table = RecordingTable({"seq": 7, "old": "x"})
    state = WriteBehind(table)  # type: ignore[arg-type]  # duck-typed: get / [] / del / in
    with partition_scope(3):
        for i in range(5):
            state["seq"] = (state.get("seq") or 0) + 1
            state[f"l:{i}"] = i
        del state["old"]
        assert state.get("seq") == 12 and state.get("old") is None and "old" not in state and "l:4" in state
        with pytest.raises(KeyError):
            state["old"]
    assert table == {"seq": 7, "old": "x"} and table.writes == []  # nothing reached the table yet

    assert state.flush() == 7
    assert table == {"seq": 12, **{f"l:{i}": i for i in range(5)}}
    assert len(table.writes) == 7  # 5 + 5 + 1 writes made in the batch, one per key here
    assert state.pending == 0 and state.flush() == 0


def test_writes_go_back_on_their_own_partition_in_the_order_of_their_last_write():
    table = RecordingTable()
    state = WriteBehind(table)  # type: ignore[arg-type]
    with partition_scope(1):
        state["a"] = 1
        state["b"] = 1
    with partition_scope(2):
        state["c"] = 2
    with partition_scope(1):
        state["a"] = 2  # rewritten after c: its final value includes c's batch-mates, so it goes after c
    state.flush()
    assert table.writes == [("b", 1, 1), ("c", 2, 2), ("a", 2, 1)]


def test_a_key_set_and_deleted_within_a_batch_never_reaches_the_table():
    table = RecordingTable()
    state = WriteBehind(table)  # type: ignore[arg-type]
    with partition_scope(0):
        state["tmp"] = 1
        del state["tmp"]
        with pytest.raises(KeyError):
            del state["tmp"]
    state.flush()
    assert table.writes == [] and table == {}


def test_a_write_outside_an_event_is_refused_as_faust_refuses_it():
    state = WriteBehind(RecordingTable())  # type: ignore[arg-type]
    with pytest.raises(RuntimeError, match="outside of agent"):
        state["k"] = 1
    assert state.pending == 0
