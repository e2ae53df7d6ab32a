"""Write-behind for a Faust table: a batch's writes reach the table, and its changelog, once per key.

Every table write is a changelog record that the worker produces and that each
standby replica (`LEADSTREAM_TABLE_STANDBY_REPLICAS`) reads and applies again.
An ordered stage rewrites some keys many times in one batch: the dedupe stage
its region's creation counter, name-token counts and retention chunk, the score
stage the same few counters per geography. `WriteBehind` keeps the last value
of each key and writes it back when the runner ends the batch (`flush`).

Rules, in code:

- reads see the batch's own writes and deletes;
- a write remembers the event current when it was made (`tables.scope`) and
  is written back with that event current, so it goes where a direct write
  would have gone (Faust reads the event's partition and checks its source
  topic); a write outside an event is refused, as Faust refuses it;
- `flush` writes keys in the order of their last write, so a key's final
  value, which includes every earlier write of the batch, never goes out
  before a record that a later write of the batch made;
- the runner flushes after the batch's last event and before it records the
  batch and acks its offsets (`streams.runner.StageRunner`, ``flush_state``):
  a crash before that loses the batch's writes together with its offsets, so
  the redelivered batch makes them again.

`local` is the table's unlogged side: keys derived from the logged ones, which
every replica derives again where it applies the changelog
(`tables.derived.DerivingTable`). Its writes are buffered the same way and
written to the local store only, first: a crash between the two sides leaves
the derived keys ahead of the records they follow, never behind.
"""

from __future__ import annotations

from typing import Any

from faust.streams import current_event
from faust.types import EventT, TableT

from tables.scope import event_scope

_DELETED = object()


class _Buffered:
    """A batch's writes to one side of a table: the last value per key, read back before it is written."""

    def __init__(self, table: TableT[Any, Any]) -> None:
        self.table = table
        self._pending: dict[Any, tuple[EventT[Any], Any]] = {}  # key -> (event, value or _DELETED), last write last

    def get(self, key: Any, default: Any = None) -> Any:
        hit = self._pending.get(key)
        if hit is None:
            return self.table.get(key, default)
        return default if hit[1] is _DELETED else hit[1]

    def __getitem__(self, key: Any) -> Any:
        hit = self._pending.get(key)
        if hit is None:
            return self.table[key]
        if hit[1] is _DELETED:
            raise KeyError(key)
        return hit[1]

    def __contains__(self, key: Any) -> bool:
        hit = self._pending.get(key)
        return key in self.table if hit is None else hit[1] is not _DELETED

    def __setitem__(self, key: Any, value: Any) -> None:
        self._remember(key, value)

    def __delitem__(self, key: Any) -> None:
        if key not in self:
            raise KeyError(key)
        self._remember(key, _DELETED)

    def _remember(self, key: Any, value: Any) -> None:
        event = current_event()
        if event is None:
            raise RuntimeError("Cannot modify table outside of agent/stream.")  # Faust's own refusal
        self._pending.pop(key, None)  # re-inserted last: flushed in the order of last writes
        self._pending[key] = (event, value)

    @property
    def pending(self) -> int:
        """Keys written since the last flush."""
        return len(self._pending)

    def _write_back(self, target: Any) -> int:
        pending, self._pending = self._pending, {}
        for key, (event, value) in pending.items():
            with event_scope(event):
                if value is not _DELETED:
                    target[key] = value
                elif key in target:  # set and deleted within the batch: it never had it
                    del target[key]
        return len(pending)


class LocalWrites(_Buffered):
    """The table's unlogged side: `flush` writes the local store only (``table.data``, no changelog record).
    Reads see the whole table; the two sides' keys never overlap."""

    def flush(self) -> int:
        return self._write_back(self.table.data) if self._pending else 0


class WriteBehind(_Buffered):
    """The ``get`` / ``[key] = value`` / ``del [key]`` of a Faust table, written back per batch; `local` is
    its unlogged side."""

    def __init__(self, table: TableT[Any, Any]) -> None:
        super().__init__(table)
        self.local = LocalWrites(table)

    def flush(self) -> int:
        """Write the unlogged side, then the batch's last value of each logged key to the table (one changelog
        record each); returns how many records."""
        self.local.flush()
        return self._write_back(self.table)
