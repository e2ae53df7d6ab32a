"""`providers.metrics.render_slot`: a render that queues for a slot is observed once it gets one."""

from __future__ import annotations

import asyncio

from prometheus_client import REGISTRY

from providers import metrics


def _waits(kind: str) -> float:
    return REGISTRY.get_sample_value("leadstream_chromium_render_wait_seconds_count", {"kind": kind}) or 0.0


async def test_a_render_waiting_for_a_slot_is_observed_when_it_gets_one():
    kind = "slot-test"
    slots = asyncio.Semaphore(1)
    release = asyncio.Event()
    holding = asyncio.Event()

    async def first() -> None:
        async with metrics.render_slot(slots, kind):
            holding.set()
            await release.wait()

    async def second() -> None:
        async with metrics.render_slot(slots, kind):
            pass

    a = asyncio.create_task(first())
    await holding.wait()
    b = asyncio.create_task(second())
    for _ in range(5):  # let the second one reach the semaphore and queue there
        await asyncio.sleep(0)
    assert not b.done()
    assert _waits(kind) == 1  # the first got its slot at once; the second is still waiting, not yet observed
    release.set()
    await asyncio.gather(a, b)
    assert _waits(kind) == 2
    assert not slots.locked()  # the slot was given back
