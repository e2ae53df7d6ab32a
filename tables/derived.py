"""A table whose derived keys stay out of its changelog and are derived again wherever it is applied.

Some keys of a table are a function of others (the dedupe state's blocking
index follows its entity records). Logging them costs a changelog record each,
which the writer produces and every standby replica fetches and applies: for
the dedupe state, most of its records. `DerivingTable` logs only the keys its
`Derive` function follows: the writer keeps the derived keys on the table's
unlogged side (`tables.batched.LocalWrites`), and wherever Faust applies the
changelog — a standby replica, a worker recovering a partition — this table
calls ``derive`` for each followed key before the batch is written, so the
replica holds the same derived keys without them ever being in Kafka.

Rules, in code:

- ``derive(view, key, old, new)`` sees the key's value before and after the
  record (within a batch, after the batch's earlier records), and reads and
  writes derived keys through ``view``, on the record's partition;
- the derived writes of a batch reach the store before the batch itself, so a
  crash between the two leaves them ahead of the records they follow, and
  `derive` must tolerate seeing a change again (adding what is there already);
- a record ``derive`` fails on is logged with its key and offset and applied
  all the same: the logged state is never lost to a derived key;
- on the in-memory store (tests, the embedded demo) the derived keys are
  assigned to their partition as Faust assigns the logged ones, so they are
  dropped with them when the partition goes elsewhere.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from typing import Any

import faust
from faust.types import EventT, TableT

from tables.scope import event_scope

logger = logging.getLogger(__name__)
_DELETED = object()

# derive(view, key, old, new): ``view`` has get / [key] = value / del [key] on the derived keys.
Derive = Callable[[Any, Any, Any, Any], None]


class _ReplayView:
    """The derived keys of one partition while a changelog batch is applied: reads see the batch's writes."""

    def __init__(self, store: Any, event: EventT[Any]) -> None:
        self.store, self.event = store, event
        self.pending: dict[Any, Any] = {}
        self.logged: dict[Any, Any] = {}  # followed keys' values after the batch's records so far

    def get(self, key: Any, default: Any = None) -> Any:
        if key in self.pending:
            value = self.pending[key]
            return default if value is _DELETED else value
        with event_scope(self.event):
            return self.store.get(key, default)

    def __setitem__(self, key: Any, value: Any) -> None:
        self.pending[key] = value

    def __delitem__(self, key: Any) -> None:
        self.pending[key] = _DELETED

    def logged_value(self, key: Any) -> Any:
        if key in self.logged:
            return self.logged[key]
        with event_scope(self.event):
            return self.store.get(key)

    def write(self) -> None:
        partition = self.event.message.partition
        owners = getattr(self.store, "_key_partition", None)  # the in-memory store's partition of each key
        with event_scope(self.event):
            for key, value in self.pending.items():
                if value is not _DELETED:
                    self.store[key] = value
                    if owners is not None:
                        owners[key] = partition
                elif key in self.store:
                    del self.store[key]
                    if owners is not None:
                        owners.pop(key, None)


class DerivingTable(faust.Table[Any, Any]):
    """A `faust.Table` that calls ``derive`` for each changelog record of a key ``follows`` accepts (module doc)."""

    def __init__(self, app: faust.App, *, follows: Callable[[Any], bool], derive: Derive, **kwargs: Any) -> None:
        super().__init__(app, **kwargs)
        self._follows, self._derive = follows, derive

    def apply_changelog_batch(self, batch: Iterable[EventT[Any]]) -> None:
        events = list(batch)
        views: dict[int, _ReplayView] = {}
        for event in events:
            key = event.key
            if not self._follows(key):
                continue
            partition = event.message.partition
            view = views.get(partition)
            if view is None:
                view = views[partition] = _ReplayView(self.data, event)
            new = None if event.message.value is None else event.value
            try:
                self._derive(view, key, view.logged_value(key), new)
            except Exception:  # the record is still applied: only what derives from it is missing
                logger.exception(
                    "%s: cannot derive from changelog record %r (partition %s, offset %s)",
                    self.name,
                    key,
                    partition,
                    event.message.offset,
                )
            view.logged[key] = new
        for view in views.values():
            view.write()
        super().apply_changelog_batch(events)


def deriving_table(
    app: faust.App, name: str, *, follows: Callable[[Any], bool], derive: Derive, **kwargs: Any
) -> TableT[Any, Any]:
    """`app.Table`, as a `DerivingTable`: registered with the app's tables like any other."""
    table = DerivingTable(app, name=name, beacon=app.tables.beacon, follows=follows, derive=derive, **kwargs)
    app.tables.add(table)
    return table
