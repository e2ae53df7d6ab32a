"""The SIGUSR2 task dump follows a task's await chain down to the line it waits on."""

from __future__ import annotations

import asyncio
import logging
import os
import signal

from leadstream import taskdump


async def _waits_on_a_semaphore(slots: asyncio.Semaphore, started: asyncio.Event) -> None:
    started.set()
    await _inner(slots)


async def _inner(slots: asyncio.Semaphore) -> None:
    async with slots:  # held by the test: this task waits here
        pass


async def test_the_dump_names_the_innermost_wait(caplog):
    slots, started = asyncio.Semaphore(0), asyncio.Event()
    task = asyncio.create_task(_waits_on_a_semaphore(slots, started), name="blocked-agent")
    await started.wait()
    await asyncio.sleep(0)
    chain = taskdump.await_chain(task)
    assert any("_waits_on_a_semaphore" in step for step in chain)
    assert any("_inner" in step for step in chain)
    assert any(step.endswith(" in acquire") for step in chain)  # down into asyncio's own wait
    taskdump.install()
    dumped = asyncio.Event()
    loop = asyncio.get_running_loop()
    with caplog.at_level(logging.WARNING, logger="leadstream.taskdump"):
        os.kill(os.getpid(), signal.SIGUSR2)
        for _ in range(100):
            await asyncio.sleep(0)
            if any("blocked-agent" in r.getMessage() for r in caplog.records):
                dumped.set()
                break
    loop.remove_signal_handler(signal.SIGUSR2)
    task.cancel()
    assert dumped.is_set()
