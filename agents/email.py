"""Email agent: emails.queued → the email stage → a terminal state for every lead."""

from __future__ import annotations

from typing import TYPE_CHECKING

from stages.email.build import build_email
from streams.topology import TOPOLOGY

if TYPE_CHECKING:
    from agents.base import WorkerRuntime


def register(runtime: WorkerRuntime) -> None:
    runtime.stage_agent(TOPOLOGY["email"], lambda pool: build_email(runtime.settings, pool))
