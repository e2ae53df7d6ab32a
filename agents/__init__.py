"""Faust agents: one thin module per stage.

Each module holds the stage's `Stage` subclass (routing a lead to its next
topic or terminal state, calling the logic in `stages/`) and a `register(rt)`
that wires it to its source topic through the shared runner.
"""

from __future__ import annotations

import importlib

from agents.base import WorkerRuntime

__all__ = ["register_stages", "WorkerRuntime"]


def register_stages(runtime: WorkerRuntime, stages: list[str]) -> None:
    """Register the agents of `stages` (and their tables) on the runtime's app."""
    for name in stages:
        importlib.import_module(f"agents.{name}").register(runtime)
