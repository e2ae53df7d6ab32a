"""What tracing costs: process CPU per lead through the six stages' runner path, tracing off vs on.

Each lead goes through six `StageRunner`s in a row (scrape → … → email), each fed the previous
runner's output message (headers included, so ``traceparent`` chains the spans), with one guarded
provider call per stage (a child span when tracing is on). Records and sends are in memory, so
what is measured is the runner's own path plus tracing: decode, handle, spans, header
propagation, encode — not Kafka, PostgreSQL or the stages' real work. Tracing on exports every
span with the OTLP/HTTP exporter and a batch processor, as a worker does (to
``LEADSTREAM_OTLP_ENDPOINT``, e.g. Jaeger; an unreachable endpoint only adds failed posts).

    python perf/bench_tracing.py --leads 2000 --rounds 3

Rounds alternate off/on; the figure is the median CPU per lead (process time: every thread,
the exporter's included) and the difference. Prints figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import time
from pathlib import Path
from types import SimpleNamespace

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from providers.guarded import Guarded
from schemas import Lead
from streams import tracing
from streams.envelope import Envelope, make_headers, new_trace_id
from streams.runner import StageRunner, encode_lead
from streams.stage import Output, Stage

STAGES = ("scrape", "enrich", "dedupe", "score", "mockup", "email")


class Records:
    async def write(self, updates):
        return set()

    async def ended(self, lead_ids):
        return set()

    async def dead_letter(self, letters):
        return set()


class Capture:
    def __init__(self) -> None:
        self.sent: list[tuple] = []

    async def __call__(self, topic, key, value, headers):
        self.sent.append((topic, key, value, headers))

        async def delivered():
            return None

        return delivered()


async def _answer(name: str) -> str:
    return name


class Hop(Stage[Lead]):
    def __init__(self, name: str, last: bool) -> None:
        self.name, self.last = name, last
        self.call = Guarded("bench", _answer, operation=f"{name}_call")

    async def handle(self, item: Lead, envelope: Envelope) -> list[Output]:
        await self.call(self.name)
        return [] if self.last else [Output(item, topics=(f"after.{self.name}",))]


def as_event(message: tuple, offset: int) -> SimpleNamespace:
    topic, key, value, headers = message
    msg = SimpleNamespace(
        topic=topic, partition=0, offset=offset, key=key, timestamp=1.0, headers=headers, tp=(topic, 0)
    )
    return SimpleNamespace(message=msg, value=value)


async def one_round(leads: int) -> float:
    """CPU seconds per lead for `leads` leads through six runners."""
    runners = []
    for i, name in enumerate(STAGES):
        sender = Capture()
        runners.append((StageRunner(Hop(name, i == len(STAGES) - 1), Records(), sender), sender))  # type: ignore[arg-type]
    cpu = time.process_time()
    for n in range(leads):
        lead = Lead(lead_id=f"ld_{n}", geo_key="CA", source="bench", name=f"Business {n}")
        message: tuple = ("scrape.requests", b"CA", encode_lead(lead), make_headers(lead.lead_id, new_trace_id(), 1000))
        for runner, sender in runners:
            await runner.process_batch([as_event(message, n)])
            if sender.sent:
                message = sender.sent.pop()
    if tracing.enabled():
        tracing.shutdown()  # flush: the export's CPU belongs to these leads
    return (time.process_time() - cpu) / leads


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--leads", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument(
        "--sample-ratio", type=float, default=1.0, help="LEADSTREAM_OTLP_SAMPLE_RATIO of the traced rounds"
    )
    parser.add_argument("--endpoint", default=os.environ.get("LEADSTREAM_OTLP_ENDPOINT", "http://127.0.0.1:4318"))
    args = parser.parse_args()
    import logging

    logging.disable(logging.WARNING)  # a refused export would log per batch
    provider = tracing.configure("leadstream-bench", args.endpoint, sample_ratio=args.sample_ratio)
    tracing.disable()
    await one_round(200)  # warm-up (imports, caches)
    off, on = [], []
    for _ in range(args.rounds):
        tracing._provider = None
        off.append(await one_round(args.leads))
        tracing._provider = provider
        on.append(await one_round(args.leads))
    tracing.disable()
    m_off, m_on = statistics.median(off), statistics.median(on)
    print(
        f"leads per round: {args.leads}, rounds: {args.rounds}, six stages each, exporter: OTLP/HTTP {args.endpoint}, "
        f"sample ratio {args.sample_ratio}"
    )
    print(f"CPU per lead, tracing off: {m_off * 1e3:.3f} ms  (rounds: {', '.join(f'{x * 1e3:.3f}' for x in off)})")
    print(f"CPU per lead, tracing on:  {m_on * 1e3:.3f} ms  (rounds: {', '.join(f'{x * 1e3:.3f}' for x in on)})")
    print(
        f"tracing overhead: +{(m_on - m_off) * 1e3:.3f} ms CPU per lead (+{(m_on / m_off - 1) * 100:.0f} %), "
        f"{(m_on - m_off) * 1e6 / (len(STAGES) * 2):.0f} µs per span (12 spans per lead: 6 stages + 6 calls)"
    )


if __name__ == "__main__":
    asyncio.run(main())
