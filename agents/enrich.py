"""Enrich agent: leads.scraped → the enrich stage → leads.enriched."""

from __future__ import annotations

from typing import TYPE_CHECKING

from stages.enrich.build import build_enrich
from streams.topology import TOPOLOGY

if TYPE_CHECKING:
    from agents.base import WorkerRuntime


def register(runtime: WorkerRuntime) -> None:
    runtime.stage_agent(TOPOLOGY["enrich"], lambda pool: build_enrich(runtime.settings, pool))
