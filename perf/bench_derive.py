"""What deriving the dedupe index costs where a changelog is applied (a standby replica, a recovering worker).

The dedupe-state table logs entity records, lead outcomes and retention keys; its blocking index, names and
counts are derived from the entity records (`stages.dedupe.derived`, `tables.derived.DerivingTable`). This
applies the engine's own changelog for invented leads (`perf/worker_start.engine_changelog`) to a fresh
dedupe-state table on each store, in Faust's batches, once with deriving switched off and once on, and prints
the CPU per record and per entity record. No broker: the records go straight to `apply_changelog_batch`, so
the figure is the table's part only (Faust's fetch and dispatch per record come on top; docs/performance.md).

    python perf/bench_derive.py --records 30000
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
import uuid
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE.parent), str(HERE)]

import faust  # noqa: E402
import orjson  # noqa: E402
from faust.types.tuples import TP, Message  # noqa: E402
from worker_start import engine_changelog  # noqa: E402

from stages.dedupe import derived  # noqa: E402
from tables import dedupe_state  # noqa: E402

BATCH = 1000  # Faust's standby_buffer_size / recovery_buffer_size order of magnitude


def apply_all(store: str, records: list[tuple[str, str | None]], deriving: bool) -> float:
    """CPU seconds to apply ``records`` to a fresh table on ``store``."""
    app = faust.App(
        f"bench-derive-{uuid.uuid4().hex[:8]}", store=store, broker="kafka://127.0.0.1:1", datadir=tempfile.mkdtemp()
    )
    follows = derived.follows if deriving else (lambda key: False)
    table = dedupe_state(app, partitions=1, follows=follows, derive=derived.replay)
    topic = table.changelog_topic.get_topic_name()
    events = []
    for offset, (key, value) in enumerate(records):
        raw = None if value is None else orjson.dumps(value)
        message = Message(topic, 0, offset, 0.0, 0, None, orjson.dumps(key), raw, None, tp=TP(topic, 0))
        events.append(faust.Event(app, key, value, None, message))
    start = time.process_time()
    for i in range(0, len(events), BATCH):
        table.apply_changelog_batch(events[i : i + BATCH])
    return time.process_time() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--records", type=int, default=30_000)
    parser.add_argument("--stores", default="rocksdb://,memory://")
    args = parser.parse_args()
    records = engine_changelog(args.records)
    entities = sum(1 for key, _ in records if derived.follows(key))
    for store in args.stores.split(","):
        off, on = apply_all(store, records, False), apply_all(store, records, True)
        print(
            f"{store:11} {len(records):,} records ({entities:,} entity records): applied at "
            f"{off * 1e6 / len(records):.1f} µs/record without deriving, {on * 1e6 / len(records):.1f} with; "
            f"deriving {(on - off) * 1e6 / entities:.0f} µs per entity record"
        )


if __name__ == "__main__":
    main()
