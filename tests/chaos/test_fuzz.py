"""10,000 hypothesis-generated bad messages on every stage's input topic, on the real cluster.

Bad JSON, JSON that is not an object, objects with wrong types, huge fields, NUL characters,
900 KB payloads, bad keys and bad headers. Every message is invalid for every stage by
construction (its ``lead_id``/``zip`` can never be a string), so each one must end as an
``InvalidMessage`` dead letter with a reason. Result asserted: zero worker crashes, zero
stalled partitions (every group commits to the log end), every message dead-lettered.
"""

from __future__ import annotations

import asyncio
import time

import orjson
import pytest
from aiokafka import AIOKafkaProducer
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from streams.admin import bootstrap_servers
from streams.envelope import plausible_id
from streams.topology import TOPOLOGY

from .harness import ChaosPipeline, Progress, verify

pytestmark = [
    pytest.mark.services,
    pytest.mark.slow,
    pytest.mark.timeout(420),
    # The messages are drawn in a thread while the workers start on the event loop; hypothesis sees the
    # global `random` state move during a draw (aiokafka picks and shuffles brokers with it) and blames the
    # strategy, which uses no `random` of its own.
    pytest.mark.filterwarnings("ignore:Do not use the `random` module inside strategies"),
]

MESSAGES = 10_000
SOURCES = sorted({t.source for t in TOPOLOGY.values()})
NEVER_A_STRING = st.one_of(
    st.lists(st.integers(0, 999), max_size=3), st.dictionaries(st.text(max_size=3), st.integers(0, 9), max_size=2)
)
JSONISH = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**63), 2**63 - 1) | st.floats(allow_nan=False) | st.text(max_size=30),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4),
    max_leaves=12,
)


def _object(fields: dict, extra: dict) -> bytes:
    return orjson.dumps({**extra, **fields})


@st.composite
def payloads(draw) -> bytes:
    roll = draw(st.integers(0, 999))  # about 0.3 % are 900 KB, 2 % huge fields, the rest small
    kind = (
        "900kb" if roll < 3 else "huge_field" if roll < 23 else ["bytes", "not_object", "wrong_types", "nul"][roll % 4]
    )
    bad_ids = {"lead_id": draw(NEVER_A_STRING), "zip": draw(NEVER_A_STRING)}
    if kind == "bytes":
        return draw(st.binary(max_size=300))
    if kind == "not_object":
        return orjson.dumps(draw(st.one_of(st.lists(JSONISH, max_size=5), st.integers(0, 10**9), st.text(max_size=40))))
    if kind == "wrong_types":
        fields = draw(
            st.dictionaries(
                st.sampled_from(
                    ["geo_key", "name", "source", "website", "email", "score", "vertical", "max_results", "state"]
                ),
                JSONISH,
                max_size=6,
            )
        )
        return _object(bad_ids, fields)
    if kind == "huge_field":
        size = draw(st.integers(min_value=10_000, max_value=150_000))
        return _object(bad_ids, {draw(st.sampled_from(["name", "website", "notes"])): "é" * size})
    if kind == "nul":
        return _object(bad_ids, {"name": "Valley\x00Heating", draw(st.text(max_size=5)) + "\x00": 1})
    filler = draw(st.sampled_from([b"x", b"\xff\xfe", b"\x00", b'{"a":']))
    return (filler * (900_000 // len(filler)))[:900_000]


@st.composite
def messages(draw) -> tuple[str, bytes | None, bytes, list[tuple[str, bytes]]]:
    payload = draw(payloads())
    small = len(payload) < 400_000
    headers = draw(
        st.lists(
            st.tuples(
                st.sampled_from(["lead-id", "trace-id", "ingest-ts"]) | st.text(max_size=12),
                st.binary(max_size=200) | st.just(b"\x00\xff") | st.just(b"9" * 40),
            ),
            max_size=5 if small else 1,
        )
    )
    key = draw(st.none() | st.binary(max_size=60))
    return draw(st.sampled_from(SOURCES)), key, payload, headers


BIG_CAP, HUGE_CAP = 30, 300  # 900 KB payloads and huge fields kept (the rest are cut to their first 300 bytes)


def header_lead_id(headers: list[tuple[str, bytes]]) -> str | None:
    """The lead id the runner reads from these headers (`streams.envelope`): the last lead-id, if plausible."""
    values = [value for name, value in headers if name == "lead-id"]
    return plausible_id(values[-1].decode("utf-8", "replace")) if values else None


def generate(n: int, per_example: int = 50) -> list[tuple[str, bytes | None, bytes, list[tuple[str, bytes]]]]:
    """`n` messages, drawn `per_example` at a time (hypothesis's per-example overhead dominates otherwise)."""
    found: list = []
    sizes = {"big": 0, "huge": 0}

    @settings(
        max_examples=-(-n // per_example),
        database=None,
        phases=[Phase.generate],
        deadline=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(st.lists(messages(), min_size=per_example, max_size=per_example))
    def collect(drawn):
        for topic, key, payload, headers in drawn:
            kind = "big" if len(payload) > 800_000 else "huge" if len(payload) > 10_000 else None
            if kind:
                sizes[kind] += 1
                if sizes[kind] > (BIG_CAP if kind == "big" else HUGE_CAP):
                    payload = payload[:300]
            found.append((topic, key, payload, headers))

    collect()
    return found[:n]


async def test_ten_thousand_bad_messages_on_every_input_topic(kafka_cluster, database_url, redis_url, tmp_path):
    pipeline = ChaosPipeline(
        "fuzz",
        broker=kafka_cluster,
        database_url=database_url,
        redis_url=redis_url,
        leads=0,
        workdir=tmp_path,
        main_workers=1,
    )
    generating = asyncio.create_task(asyncio.to_thread(generate, MESSAGES))  # while the workers start
    await pipeline.start()
    batch = await generating
    try:
        prefix = pipeline.env["LEADSTREAM_TOPIC_PREFIX"]
        producer = AIOKafkaProducer(
            bootstrap_servers=bootstrap_servers(kafka_cluster), acks="all", max_request_size=2_000_000, linger_ms=5
        )
        await producer.start()
        produced: set[tuple[str, int, int]] = set()
        try:
            futures = [
                await producer.send(prefix + topic, payload, key=key, headers=headers)
                for topic, key, payload, headers in batch
            ]
            lead_ids: dict[tuple[str, int, int], str | None] = {}
            for future, (_, _, _, headers) in zip(futures, batch):
                meta = await future
                produced.add((meta.topic, meta.partition, meta.offset))
                lead_ids[meta.topic, meta.partition, meta.offset] = header_lead_id(headers)
        finally:
            await producer.stop()
        started = time.monotonic()
        async with Progress(pipeline) as progress:
            while time.monotonic() - started < 240:  # deadline for external state
                snap = await progress.snapshot()
                lagging = {tp: v for tp, v in snap.items() if v[0] < v[1]}
                if not lagging:
                    break
                if pipeline.crashed():
                    break
                await asyncio.sleep(1)
        rows = await pipeline.pool.fetch(
            "SELECT topic, kafka_partition, kafka_offset, error_type, reason FROM dead_letters"
        )
        ended = {r["lead_id"] for r in await pipeline.pool.fetch("SELECT lead_id FROM leads WHERE state IS NOT NULL")}
        crashed = pipeline.crashed()
        figures = await verify(pipeline, [], scenario="fuzz", recovery_s=[], expected_errors={"InvalidMessage"})
    finally:
        await pipeline.stop()
    lettered = {(r["topic"], r["kafka_partition"], r["kafka_offset"]) for r in rows}
    kinds: dict[str, int] = {}
    for r in rows:
        kinds[r["error_type"]] = kinds.get(r["error_type"], 0) + 1
    print(
        f"\nCHAOS fuzz: messages={len(produced)} dead_lettered={len(lettered & produced)} reasons={kinds} "
        f"stalled_partitions={len(lagging)} crashes={len(crashed)} drained_in_s={time.monotonic() - started:.0f}",
        flush=True,
    )
    assert not crashed, crashed
    assert not figures.problems, figures.problems[:5]
    assert not lagging, f"stalled partitions: {sorted(lagging.items())[:10]}"
    # Not dead-lettered is right only for a message whose lead-id header names a lead that had already ended
    # (dead-lettered by an earlier fuzz message with the same header): the runner skips it (skipped_ended).
    skipped = {m for m in produced - lettered if lead_ids[m] in ended}
    print(f"CHAOS fuzz: skipped as an ended lead's redelivery: {len(skipped)}", flush=True)
    unaccounted = produced - lettered - skipped
    assert not unaccounted, (
        f"{len(unaccounted)} message(s) neither processed nor dead-lettered: {sorted(unaccounted)[:5]}"
    )
    assert all(r["reason"] for r in rows)
    assert set(kinds) == {"InvalidMessage"}, kinds
