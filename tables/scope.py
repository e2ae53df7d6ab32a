"""Which partition a table operation uses: Faust's current event.

A Faust table (and its RocksDB store, one database per partition) reads and
writes the partition of the event current in the calling task. These helpers
set it where Faust does not: for each event of a `take_events` batch
(`event_scope`), and for a bare partition number (`partition_scope`: the table
views' reads, and `tables.batched` writing a batch's values back).
"""

from __future__ import annotations

import contextlib
import weakref
from collections.abc import Iterator
from typing import Any

from faust.streams import _current_event


class _AtPartition:
    """A stand-in event: all Faust's tables read of the current event is ``message.partition``."""

    __slots__ = ("__weakref__", "message")

    def __init__(self, partition: int) -> None:
        self.message = type("Message", (), {"partition": partition})()


@contextlib.contextmanager
def event_scope(event: Any) -> Iterator[None]:
    """Make `event` the current event while a batch is handled one event at a time.

    Faust sets the current event per message for plain `async for` loops, but a
    `take_events` batch body runs outside that; table writes would then go to
    the changelog partition of whichever event Faust saw last. Ordered stages
    wrap each event in this scope so table state stays on its own partition.
    """
    token = _current_event.set(weakref.ref(event)) if event is not None else None
    try:
        yield
    finally:
        if token is not None:
            _current_event.reset(token)


@contextlib.contextmanager
def partition_scope(partition: int) -> Iterator[None]:
    """Table operations in this block use `partition` (a stand-in current event)."""
    with event_scope(_AtPartition(partition)):
        yield
