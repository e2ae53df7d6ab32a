"""CPU seconds of the processes a bench does not own (PostgreSQL's backends), read from /proc: a figure per lead
or per row beside the bench's own `time.process_time()`; and `timed_asks`, a question asked again and again."""

from __future__ import annotations

import contextlib
import os
import statistics
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any


def postgres_cpu_s() -> float:
    """CPU seconds of every ``postgres`` process on this machine (user + system), 0 where /proc has none."""
    total = 0
    tick = os.sysconf("SC_CLK_TCK")
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            stat = Path(f"/proc/{pid}/stat").read_text()
        except OSError:
            continue
        if "(postgres)" in stat:
            fields = stat.rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])
    return total / tick


@dataclass
class Spent:
    wall: float = 0.0  # seconds
    cpu: float = 0.0  # CPU seconds of this process
    postgres: float = 0.0  # CPU seconds of every postgres process (`postgres_cpu_s`)


@contextlib.contextmanager
def spent() -> Iterator[Spent]:
    """What the block spent: wall seconds, this process's CPU and PostgreSQL's, filled in when it ends."""
    out = Spent()
    cpu0, pg0, wall0 = time.process_time(), postgres_cpu_s(), time.perf_counter()
    try:
        yield out
    finally:
        out.wall, out.cpu = time.perf_counter() - wall0, time.process_time() - cpu0
        out.postgres = postgres_cpu_s() - pg0


@dataclass
class Asked:
    median_ms: float  # wall time of one ask, the median
    postgres_ms: float  # PostgreSQL's CPU per ask
    answer: Any  # the last ask's answer


async def timed_asks(ask: Callable[[], Awaitable[Any]], asks: int) -> Asked:
    """`ask()` once to warm up, then `asks` times, each timed."""
    await ask()
    times = []
    with spent() as cost:
        for _ in range(asks):
            started = time.perf_counter()
            answer = await ask()
            times.append((time.perf_counter() - started) * 1000)
    return Asked(statistics.median(times), cost.postgres / asks * 1000, answer)
