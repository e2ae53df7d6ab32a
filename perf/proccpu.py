"""CPU seconds of the processes a bench does not own (PostgreSQL's backends), read from /proc: a figure per lead
or per row beside the bench's own `time.process_time()`."""

from __future__ import annotations

import os
from pathlib import Path


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
