"""Graceful shutdown (StageRunner.drain): events in flight finish within the grace, or are abandoned unacked.

No Kafka and no clock: the stage's events wait on gates the test opens, and the grace is either
generous (everything finishes first) or zero (the deadline has passed at once).
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

from prometheus_client import REGISTRY

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "core"))
from test_runner import Gated, event, make_runner


async def _settle() -> None:
    for _ in range(50):
        await asyncio.sleep(0)


def in_flight() -> float:
    return REGISTRY.get_sample_value("leadstream_stage_in_flight", {"stage": "enrich"}) or 0.0


async def test_drain_lets_events_in_flight_finish_and_acks_them():
    stage = Gated()
    runner, records, sender, _ = make_runner(stage)
    acked: list[int] = []

    async def ack(ev):
        acked.append(ev.message.offset)

    for offset in range(3):
        await runner.submit(event(offset, lead_id=f"ld_{offset}"), ack)
    await _settle()
    assert in_flight() == 3
    drained = asyncio.create_task(runner.drain(grace_s=3600))
    await _settle()
    assert not drained.done()  # waiting for the three
    for offset in range(3):
        stage.gate(f"ld_{offset}").set()
    assert await drained is True
    assert acked == [0, 1, 2] and len(records.updates) == 3 and len(sender.sent) == 3
    assert in_flight() == 0


async def test_past_the_grace_unfinished_events_are_abandoned_unacked_and_nothing_half_done():
    stage = Gated()
    runner, records, sender, _ = make_runner(stage)
    acked: list[int] = []

    async def ack(ev):
        acked.append(ev.message.offset)

    for offset in range(3):
        await runner.submit(event(offset, lead_id=f"ld_{offset}"), ack)
    stage.gate("ld_0").set()  # the first finishes, the other two hang
    await _settle()
    assert acked == [0]
    assert await runner.drain(grace_s=0) is False
    assert acked == [0]  # 1 and 2 stay unacked: redelivered to the next owner of the partition
    assert len(records.updates) == 1 and len(sender.sent) == 1  # nothing of the abandoned ones recorded or sent
    assert not runner._tasks and in_flight() == 0


async def test_after_drain_no_new_event_is_taken():
    stage = Gated()
    runner, records, _, _ = make_runner(stage)
    assert await runner.drain(grace_s=0) is True  # nothing in flight

    async def ack(ev):
        raise AssertionError("not taken, so never acked")

    taking = asyncio.create_task(runner.submit(event(7, lead_id="ld_7"), ack))
    await _settle()
    assert not taking.done() and not runner._tasks  # parked until Faust cancels the agent
    taking.cancel()
    await asyncio.gather(taking, return_exceptions=True)
    assert records.updates == []


async def test_an_ordered_batch_in_progress_is_waited_for():
    stage = Gated()
    stage.ordered = True
    runner, records, _, _ = make_runner(stage)
    batch = asyncio.create_task(runner.process_batch([event(0, lead_id="ld_a"), event(1, lead_id="ld_b")]))
    await _settle()
    drained = asyncio.create_task(runner.drain(grace_s=3600))
    await _settle()
    assert not drained.done()
    stage.gate("ld_a").set()
    stage.gate("ld_b").set()
    await batch
    assert await drained is True and len(records.updates) == 2
