"""Score agent: leads.deduplicated → the score stage → leads.scored and mockups.requested or emails.queued.

The counters table is co-partitioned with the source topic (`tables`); a batch writes each counter once
(`tables.batched`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from stages.score.build import build_score
from streams.topology import TOPOLOGY
from tables import score_counters
from tables.batched import WriteBehind

if TYPE_CHECKING:
    from agents.base import WorkerRuntime


def register(runtime: WorkerRuntime) -> None:
    counters = WriteBehind(score_counters(runtime.app, runtime.settings.partitions))
    runtime.stage_agent(
        TOPOLOGY["score"], lambda pool: build_score(runtime.settings, pool, counters), tables=[counters]
    )
