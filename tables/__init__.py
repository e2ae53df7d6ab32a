"""RocksDB-backed Faust tables: per-partition stream state.

Each table is changelogged to Kafka and co-partitioned with the stream that
writes it (the dedupe and score inputs are keyed by the geography key, with the
same partition count; `streams.topology.message_key`), so a restarted or
rebalanced worker recovers exactly the partitions it now owns. Table writes
must happen while the event that caused them is current (`tables.scope`),
which puts the state on that event's partition. The stages write through
`tables.batched.WriteBehind`, which sends each key once per batch. The dedupe
state logs only its entity records and lead outcomes; its index is derived
from them wherever the changelog is applied (`tables.derived`). Served
read-only, routed to the owning worker, from every worker (`tables.views`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import faust
from faust.types import TableT

from tables.derived import Derive, deriving_table

DEDUPE_STATE = "dedupe-state"
SCORE_COUNTERS = "score-counters"


def dedupe_state(
    app: faust.App, partitions: int, *, follows: Callable[[Any], bool], derive: Derive
) -> TableT[str, Any]:
    """Entity resolution state: entities and per-lead outcomes (logged), and the blocking index, names and
    counts derived from the entities (unlogged: ``derive`` rebuilds them where the changelog is applied;
    `tables.derived`). JSON values."""
    return deriving_table(
        app,
        DEDUPE_STATE,
        follows=follows,
        derive=derive,
        default=None,
        partitions=partitions,
        help="Entity resolution state: blocking index, entities, per-lead outcomes.",
    )


def score_counters(app: faust.App, partitions: int) -> TableT[str, int]:
    """Counts per ``tier:<geo>:<vertical>:<tier>`` and score histogram buckets ``hist:<geo>:<bucket>``.

    At-least-once: a batch replayed after a crash counts its leads again, so
    the counters can over-count by at most the uncommitted batch.
    """
    return app.Table(
        SCORE_COUNTERS,
        default=int,
        partitions=partitions,
        help="Scored leads per geography × vertical × tier, and a score histogram.",
    )
