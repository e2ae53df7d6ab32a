"""`tables.batched.WriteBehind`: a batch's table writes go out once per key, on the partition of the event that
made them, in the order of their last write; reads see them before that."""

from __future__ import annotations

import uuid
from typing import Any

import faust
import pytest
from faust.streams import current_event

from tables.batched import WriteBehind
from tables.scope import partition_scope


def current_partition() -> int | None:
    event = current_event()
    return None if event is None else event.message.partition


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


class SetCounter(faust.Sensor):
    def __init__(self) -> None:
        super().__init__()
        self.keys: list[str] = []

    def on_table_set(self, table: Any, key: Any, value: Any) -> None:
        self.keys.append(key)


async def test_on_a_real_faust_table_the_batch_reaches_the_table_once_per_key_under_its_events():
    # The stand-in table above cannot tell whether Faust takes the write back: Faust checks the current
    # event's source topic and partition on every set, so this runs in an agent, as the stages do.
    app = faust.App(f"write-behind-{uuid.uuid4().hex[:8]}", store="memory://", broker="kafka://127.0.0.1:1")
    table = app.Table("counts", default=None, partitions=1)
    state = WriteBehind(table)
    sets = SetCounter()
    app.sensors.add(sets)  # Faust calls on_table_set once per changelog record it sends
    topic = app.topic(f"write-behind-{uuid.uuid4().hex[:8]}", value_type=str)

    @app.agent(topic)
    async def count(stream):
        async for word in stream:
            if word == "end-of-batch":
                state.flush()
            else:
                state["total"] = (state.get("total") or 0) + 1
                state[f"w:{word}"] = (state.get(f"w:{word}") or 0) + 1
            yield word

    async with count.test_context() as agent:
        for word in ["a", "b", "a", "a"]:
            await agent.put(word)
        assert table.get("total") is None and state.get("total") == 4  # not yet in the table
        await agent.put("end-of-batch")
    assert (table["total"], table["w:a"], table["w:b"]) == (4, 3, 1)
    assert sets.keys == ["w:b", "total", "w:a"]  # 8 writes, one record per key, in the order of last writes
