"""The clock the guards read: system time in production, a hand-moved one in tests.

Breakers, the in-process rate window and the TTL caches take a `Clock` instead
of calling `time` themselves, so their timing rules are tested by moving a
`ManualClock` rather than by sleeping and measuring wall time on a busy machine.
"""

from __future__ import annotations

import asyncio
import time
from typing import Protocol


class Clock(Protocol):
    def monotonic(self) -> float:
        """Seconds on a clock that never goes back (durations, expiries)."""
        ...

    def time(self) -> float:
        """Seconds since the epoch (timestamps others read)."""
        ...

    async def sleep(self, seconds: float) -> None:
        """Wait `seconds` on this clock."""
        ...


class SystemClock:
    def monotonic(self) -> float:
        return time.monotonic()

    def time(self) -> float:
        return time.time()

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)


SYSTEM_CLOCK = SystemClock()


class ManualClock:
    """A clock that moves only when told: `advance(s)`, or a `sleep(s)`, which returns at once.

    `sleeps` lists every sleep asked for, so a test can assert the waits a component chose.
    """

    def __init__(self, start: float = 1_700_000_000.0) -> None:
        self._epoch = start
        self._elapsed = 0.0
        self.sleeps: list[float] = []

    def monotonic(self) -> float:
        return self._elapsed

    def time(self) -> float:
        return self._epoch + self._elapsed

    def advance(self, seconds: float) -> None:
        if seconds < 0:
            raise ValueError("a clock does not go back")
        self._elapsed += seconds

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.advance(max(seconds, 0.0))
        await asyncio.sleep(0)  # other tasks still get their turn, as in a real wait
