"""Tracing across stages (streams.tracing): spans chained through W3C traceparent in the headers.

The runner runs three fake stages in a row, each fed the previous one's output message, with an
in-memory span exporter; no Kafka, no Jaeger (tests/obs/test_live_trace.py checks Jaeger).
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from schemas import Lead
from streams import tracing
from streams.envelope import Envelope, make_headers
from streams.runner import StageRunner
from streams.stage import Output, Stage

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "core"))
from test_runner import FakeRecords, FakeSender, event, lead

TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"


_EXPORTER = InMemorySpanExporter()
_PROVIDER: list = []  # the process's one global tracer provider (OpenTelemetry refuses to replace it)


@pytest.fixture
def spans():
    if not _PROVIDER:
        _PROVIDER.append(tracing.configure("test", None, exporter=_EXPORTER, batch=False))
    tracing._provider = _PROVIDER[0]
    _EXPORTER.clear()
    yield _EXPORTER
    tracing.disable()


class Forward(Stage[Lead]):
    def __init__(self, name: str, topic: str, new_trace: str | None = None) -> None:
        self.name, self.topic, self.new_trace = name, topic, new_trace

    async def handle(self, item: Lead, envelope: Envelope) -> list[Output]:
        logging.getLogger("leadstream.test").warning("handling %s", item.lead_id)
        return [Output(item, topics=(self.topic,), trace_id=self.new_trace)]


def as_event(message: tuple, offset: int = 0) -> SimpleNamespace:
    topic, key, value, headers = message
    msg = SimpleNamespace(
        topic=topic, partition=0, offset=offset, key=key, timestamp=1.0, headers=headers, tp=(topic, 0)
    )
    return SimpleNamespace(message=msg, value=value)


async def run(stage: Stage, ev) -> tuple:
    sender = FakeSender()
    runner = StageRunner(stage, FakeRecords(), sender)  # type: ignore[arg-type]
    await runner.process_batch([ev])
    (message,) = sender.sent
    return message


async def test_each_stage_is_a_child_of_the_previous_one_in_the_leads_trace(spans):
    first = event(headers=make_headers("ld_1", TRACE_ID, 1000))  # a producer that sets only trace-id
    m1 = await run(Forward("enrich", "leads.enriched"), first)
    m2 = await run(Forward("dedupe", "leads.deduplicated"), as_event(m1))
    m3 = await run(Forward("score", "emails.queued"), as_event(m2))
    by_name = {s.name: s for s in spans.get_finished_spans()}
    enrich, dedupe, score = by_name["enrich"], by_name["dedupe"], by_name["score"]
    assert {format(s.context.trace_id, "032x") for s in (enrich, dedupe, score)} == {TRACE_ID}
    assert enrich.parent is None  # the trace's root takes the lead's trace-id
    assert dedupe.parent.span_id == enrich.context.span_id
    assert score.parent.span_id == dedupe.context.span_id
    for message, span in ((m1, enrich), (m2, dedupe), (m3, score)):
        headers = message[3]
        assert headers["trace-id"] == TRACE_ID.encode()  # kept next to it
        assert headers["traceparent"].startswith(f"00-{TRACE_ID}-{span.context.span_id:016x}-".encode())
    assert enrich.attributes["leadstream.lead_id"] == "ld_1"


async def test_a_new_lead_starts_its_own_trace_linked_to_the_request(spans):
    new_trace = "0af7651916cd43dd8448eb211c80319c"
    request = event(headers=make_headers("ld_1", TRACE_ID, 1000))
    message = await run(Forward("scrape", "leads.scraped", new_trace=new_trace), request)
    finished = spans.get_finished_spans()
    request_span = next(s for s in finished if s.kind.name == "CONSUMER")
    lead_root = next(s for s in finished if s.kind.name == "PRODUCER")
    assert format(request_span.context.trace_id, "032x") == TRACE_ID
    assert format(lead_root.context.trace_id, "032x") == new_trace and lead_root.parent is None
    assert lead_root.links[0].context.span_id == request_span.context.span_id
    assert message[3]["traceparent"].startswith(f"00-{new_trace}-{lead_root.context.span_id:016x}-".encode())


async def test_a_provider_call_is_a_child_span_of_its_stage(spans):
    from providers.guarded import Guarded

    async def lookup(domain: str) -> str:
        return "ok"

    call = Guarded("hunter", lookup, operation="domain_search")

    class Calls(Forward):
        async def handle(self, item, envelope):
            await call("example.com")
            return await super().handle(item, envelope)

    await run(Calls("enrich", "leads.enriched"), event(headers=make_headers("ld_1", TRACE_ID, 1000)))
    by_name = {s.name: s for s in spans.get_finished_spans()}
    assert by_name["hunter domain_search"].parent.span_id == by_name["enrich"].context.span_id


async def test_logs_carry_the_trace_id_tracing_on_or_off(caplog):
    caplog.handler.addFilter(tracing.TraceIdLogFilter())
    with caplog.at_level(logging.WARNING, logger="leadstream.test"):
        await run(Forward("enrich", "leads.enriched"), event(headers=make_headers("ld_1", TRACE_ID, 1000)))
    (record,) = [r for r in caplog.records if r.name == "leadstream.test"]
    assert record.trace_id == TRACE_ID
    assert record.getMessage() == f"handling ld_1 trace_id={TRACE_ID}"


async def test_tracing_off_passes_the_incoming_traceparent_on(spans):
    parent = f"00-{TRACE_ID}-00f067aa0ba902b7-01"
    tracing.disable()
    headers = {**make_headers("ld_1", TRACE_ID, 1000), "traceparent": parent.encode()}
    message = await run(Forward("enrich", "leads.enriched"), event(headers=headers))
    assert message[3]["traceparent"] == parent.encode()
    assert lead("ld_1").lead_id == "ld_1"


async def test_a_sample_ratio_keeps_whole_traces_or_nothing():
    """LEADSTREAM_OTLP_SAMPLE_RATIO: each lead's trace is kept whole (every stage) or not at all, by its trace id."""
    exporter = InMemorySpanExporter()
    provider = tracing.configure("test", None, exporter=exporter, batch=False, sample_ratio=0.5)
    tracing._provider = provider
    try:
        kept: dict[str, int] = {}
        for n in range(40):
            trace_id = f"{n + 1:016x}{(n + 1) * 0x9E3779B97F4A7C15 % 2**64:016x}"  # low 64 bits spread out
            first = event(headers=make_headers("ld_1", trace_id, 1000))
            m1 = await run(Forward("enrich", "leads.enriched"), first)
            m2 = await run(Forward("dedupe", "leads.deduplicated"), as_event(m1))
            await run(Forward("score", "emails.queued"), as_event(m2))
            sampled = bool(int(m1[3]["traceparent"][-2:], 16) & 1)  # W3C trace-flags: bit 0 is "sampled"
            assert bool(int(m2[3]["traceparent"][-2:], 16) & 1) == sampled  # the decision travels
            kept[trace_id] = 3 if sampled else 0
        by_trace: dict[str, int] = {}
        for span in exporter.get_finished_spans():
            key = format(span.context.trace_id, "032x")
            by_trace[key] = by_trace.get(key, 0) + 1
        assert by_trace == {t: n for t, n in kept.items() if n}  # whole traces only, and only those sampled
        assert 0 < len(by_trace) < 40
    finally:
        tracing.disable()
