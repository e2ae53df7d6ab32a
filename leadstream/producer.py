"""Push leads and scrape jobs into the pipeline (the `ingest` and `demo` commands).

Uses the same key (`streams.topology.message_key`) and headers (lead id, trace id, ingest time) a
worker would, with acks=all and idempotence so a retried send cannot duplicate.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import orjson
from aiokafka import AIOKafkaProducer
from pydantic import ValidationError

from schemas import RawLead, ScrapeJob
from streams.admin import bootstrap_servers
from streams.envelope import make_headers, new_trace_id, now_ms
from streams.topology import LEADS_SCRAPED, SCRAPE_REQUESTS, message_key


@dataclass
class IngestItem:
    """One input row as it will be pushed, with what validation said of it."""

    line: int
    payload: bytes
    lead_id: str
    geo_key: str
    problem: str | None


def read_rows(path: Path) -> Iterator[tuple[int, dict | None, str | None]]:
    """Yield (line, row, parse problem) from a CSV or JSONL file."""
    text = path.read_text(encoding="utf-8")
    if path.suffix.lower() == ".csv":
        reader = csv.DictReader(io.StringIO(text))
        for row in reader:
            cleaned = {k.strip(): v for k, v in row.items() if k and v not in (None, "")}
            if "source" not in cleaned:
                cleaned["source"] = "csv"
            yield reader.line_num, cleaned, None
        return
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            row = orjson.loads(line)
        except orjson.JSONDecodeError as exc:
            yield number, None, f"not JSON: {exc}"
            continue
        yield number, row if isinstance(row, dict) else None, None if isinstance(row, dict) else "not a JSON object"


def prepare(path: Path) -> list[IngestItem]:
    """Validate each row; invalid rows are still pushed so they are dead-lettered, never dropped silently."""
    items = []
    raw_lines = path.read_text(encoding="utf-8").splitlines()
    for line, row, problem in read_rows(path):
        if row is None:
            payload = raw_lines[line - 1].encode()
            items.append(IngestItem(line, payload, f"ld_badline_{path.name}_{line}", "unknown", problem))
            continue
        try:
            raw = RawLead.model_validate(row)
            lead_id = raw.derived_lead_id()
            payload = orjson.dumps({**row, "lead_id": lead_id})
            from schemas.geo import geo_key

            items.append(IngestItem(line, payload, lead_id, geo_key(raw.zip, raw.state, raw.phone, raw.city), None))
        except ValidationError as exc:
            reason = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'record'}: {e['msg']}" for e in exc.errors()[:5])
            lead_id = str(row.get("lead_id") or row.get("id") or f"ld_badline_{path.name}_{line}")
            items.append(IngestItem(line, orjson.dumps(row), lead_id, "unknown", reason))
    return items


class LeadProducer:
    def __init__(self, broker_url: str, prefix: str = "", idempotent: bool = True) -> None:
        # Idempotence needs InitProducerId, which the embedded demo broker (tansu) lacks.
        self.prefix = prefix
        self.producer = AIOKafkaProducer(
            bootstrap_servers=bootstrap_servers(broker_url),
            acks="all",
            enable_idempotence=idempotent,
            linger_ms=5,
        )

    async def __aenter__(self) -> LeadProducer:
        await self.producer.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.producer.stop()

    async def push_leads(self, items: Iterable[tuple[str, str, bytes]]) -> int:
        """Push (lead_id, geo_key, payload) tuples to leads.scraped; return the count.

        Keyed as a worker keys the topic (`streams.topology.message_key`: by lead id, so enrich spreads).
        """
        futures = []
        for lead_id, geo, payload in items:
            headers = make_headers(lead_id, new_trace_id(), now_ms())
            futures.append(
                await self.producer.send(
                    self.prefix + LEADS_SCRAPED,
                    payload,
                    key=message_key(LEADS_SCRAPED, lead_id, geo),
                    headers=list(headers.items()),
                )
            )
        for future in futures:
            await future
        return len(futures)

    async def send(self, topic: str, key: bytes, value: bytes, lead_id: str = "") -> None:
        """One message to `topic` (prefixed), with fresh context headers; returns once the broker has it."""
        headers = make_headers(lead_id, new_trace_id(), now_ms())
        await (await self.producer.send(self.prefix + topic, value, key=key, headers=list(headers.items())))

    async def push_jobs(self, jobs: Iterable[ScrapeJob]) -> int:
        futures = []
        for job in jobs:
            headers = make_headers("", new_trace_id(), now_ms())
            futures.append(
                await self.producer.send(
                    self.prefix + SCRAPE_REQUESTS,
                    job.model_dump_json().encode(),
                    key=job.job_id.encode(),  # jobs spread over every partition
                    headers=list(headers.items()),
                )
            )
        for future in futures:
            await future
        return len(futures)
