"""Waiting for something a real external process does (Chromium, a worker, a broker), which has no clock to inject.

`until` polls a condition and fails the test after `timeout_s` with what it
waited for. The timeout is only a bound for a hung process: a test never
asserts on how long the wait took. `while_held` races two PostgreSQL transactions in a known order: the second
is let go once the database says it waits on the first's lock.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

POLL_S = 0.01


async def until(condition: Callable[[], Any | Awaitable[Any]], *, timeout_s: float, what: str) -> Any:
    """The first truthy value of `condition()` (a function or a coroutine function), polled every 10 ms."""
    deadline = time.monotonic() + timeout_s
    while True:
        value = condition()
        if asyncio.iscoroutine(value):
            value = await value
        if value:
            return value
        assert time.monotonic() < deadline, f"gave up after {timeout_s:g} s waiting for {what}"
        await asyncio.sleep(POLL_S)


async def waiting_on_lock(pool, statement_part: str) -> None:
    """Return once a statement containing `statement_part` waits on a lock (a row's, or an advisory one)."""
    await until(
        lambda: pool.fetchval(
            "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE $1",
            f"%{statement_part}%",
        ),
        timeout_s=30,
        what=f"a statement ({statement_part}) waiting on a lock",
    )


async def while_held(pool, held: list[str], other: Coroutine[Any, Any, Any], waits_in: str, then: tuple[str, ...] = ()):
    """Run `other` while a transaction that ran `held` holds its locks; once `other` waits on a lock in a
    statement containing `waits_in`, run `then` in that transaction, commit it, and return `other`'s result."""
    async with pool.acquire() as conn:
        holding = conn.transaction()
        await holding.start()
        for statement in held:
            await conn.execute(statement)
        task = asyncio.create_task(other)
        await waiting_on_lock(pool, waits_in)
        for statement in then:
            await conn.execute(statement)
        await holding.commit()
    return await task
