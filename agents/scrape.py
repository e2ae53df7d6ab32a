"""Scrape agent: scrape.requests → the scrape stage → leads.scraped."""

from __future__ import annotations

from typing import TYPE_CHECKING

from stages.scrape.build import build_scrape
from streams.topology import TOPOLOGY

if TYPE_CHECKING:
    from agents.base import WorkerRuntime


def register(runtime: WorkerRuntime) -> None:
    runtime.stage_agent(TOPOLOGY["scrape"], lambda pool: build_scrape(runtime.settings, pool))
