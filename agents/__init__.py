"""Faust agents: one thin module per stage, wiring only.

Each module's `register(runtime)` takes the stage's source topic and sinks
from `streams.topology`, declares the stage's tables (`tables`), and has the
runtime run the stage that `stages.<stage>.build` builds through the shared
runner. The Stage classes and their logic live in `stages/`.
"""

from __future__ import annotations

import importlib

from agents.base import WorkerRuntime

__all__ = ["WorkerRuntime", "register_stages"]


def register_stages(runtime: WorkerRuntime, stages: list[str]) -> None:
    """Register the agents of `stages` (and their tables) on the runtime's app."""
    for name in stages:
        importlib.import_module(f"agents.{name}").register(runtime)
