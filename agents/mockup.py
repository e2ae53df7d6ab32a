"""Mockup agent (the GPU group, `leadstream worker --stages mockup`): mockups.requested → emails.queued."""

from __future__ import annotations

from typing import TYPE_CHECKING

from stages.mockup.build import build_mockup
from streams.topology import TOPOLOGY

if TYPE_CHECKING:
    from agents.base import WorkerRuntime


def register(runtime: WorkerRuntime) -> None:
    runtime.stage_agent(TOPOLOGY["mockup"], lambda pool: build_mockup(runtime.settings, pool))
