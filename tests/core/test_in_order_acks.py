"""Events that finish out of order are acked in offset order per partition."""

from __future__ import annotations

from types import SimpleNamespace

from streams.runner import InOrderAcks


def event(tp: str, offset: int):
    return SimpleNamespace(message=SimpleNamespace(tp=tp, offset=offset))


async def test_acks_wait_for_every_earlier_offset_of_their_partition():
    acked: list[tuple[str, int]] = []

    async def ack(ev):
        acked.append((ev.message.tp, ev.message.offset))

    acks = InOrderAcks(ack)
    entries = {(tp, o): acks.track(event(tp, o)) for tp in ("p0", "p1") for o in range(3)}
    await acks.done(entries["p0", 2])
    await acks.done(entries["p0", 1])
    await acks.done(entries["p1", 0])
    assert acked == [("p1", 0)]  # p0:0 still in flight holds back p0:1 and p0:2
    await acks.done(entries["p0", 0])
    assert acked == [("p1", 0), ("p0", 0), ("p0", 1), ("p0", 2)]
    await acks.done(entries["p1", 2])
    await acks.done(entries["p1", 1])
    assert acked[-2:] == [("p1", 1), ("p1", 2)]
