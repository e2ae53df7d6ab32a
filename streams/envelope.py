"""What travels with every message: the lead id, a trace id and the ingest time.

They ride in Kafka headers so any producer (kcat, a Java client) can set them
and any consumer can read them without parsing the payload:

    lead-id     the lead's id (UTF-8)
    trace-id    32 hex chars, W3C trace-id compatible; kept for a lead's life
    ingest-ts   milliseconds since the epoch when the lead entered the pipeline

Messages without them still work: the lead id comes from the payload, the
trace id is minted, and the ingest time falls back to the Kafka timestamp (so
does an ``ingest-ts`` that is not a plausible epoch-ms timestamp). A
lead-id header that cannot be an id (longer than 200 characters, or holding
NUL, which PostgreSQL refuses) counts as absent; the raw headers are kept.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass, field
from typing import Any

H_LEAD_ID = "lead-id"
H_TRACE_ID = "trace-id"
H_INGEST_TS = "ingest-ts"
H_DLQ_REASON = "dlq-reason"
MAX_ID_CHARS = 200  # a lead id, trace id or key longer than this is not one
MAX_EPOCH_MS = 253_402_300_799_999  # 9999-12-31T23:59:59.999Z, the last instant datetime and PostgreSQL share


def new_trace_id() -> str:
    return uuid.uuid4().hex


def now_ms() -> int:
    return int(time.time() * 1000)


def clean_text(text: str) -> str:
    """`text` with NUL characters escaped: PostgreSQL's text and jsonb refuse them (a fuzzer's header will have them)."""
    return text.replace("\x00", "\\x00") if "\x00" in text else text


def plausible_id(value: str | None, limit: int = MAX_ID_CHARS) -> str | None:
    """`value` when it can be an id (from a header); None when it is absurdly long or holds NUL."""
    return value if value and len(value) <= limit and "\x00" not in value else None


def plausible_ms(value: str | int | None, fallback: int) -> int:
    """`value` as epoch milliseconds when it can be one (year 1970 to 9999), else `fallback`.

    A header of forty 9s is an int, but no timestamp: PostgreSQL, ``datetime`` and the latency
    histograms would all refuse it, after the stage ran.
    """
    try:
        ms = int(value) if value not in (None, "") else fallback
    except ValueError:
        return fallback
    return ms if 0 <= ms <= MAX_EPOCH_MS else fallback


def _text(value: bytes | str | None) -> str | None:
    if value is None:
        return None
    return value.decode("utf-8", "replace") if isinstance(value, (bytes, bytearray)) else str(value)


@dataclass
class Envelope:
    """One consumed message: raw payload plus the propagated context."""

    payload: bytes
    key: bytes | None = None
    lead_id: str | None = None
    trace_id: str = field(default_factory=new_trace_id)
    ingest_ms: int = field(default_factory=now_ms)
    topic: str = ""
    partition: int = -1
    offset: int = -1
    headers: dict[str, str] = field(default_factory=dict)
    raw_headers: tuple[tuple[str, bytes], ...] = ()  # as received, for a faithful dead letter and replay
    span_context: Any = field(default=None, compare=False, repr=False)  # the stage's span (streams.tracing)

    @classmethod
    def from_event(cls, event: Any) -> Envelope:
        """Build from a Faust event (value is raw bytes)."""
        message = event.message
        raw_headers = message.headers or []
        items = list(raw_headers.items() if isinstance(raw_headers, dict) else raw_headers)
        headers = {str(k): _text(v) or "" for k, v in items}
        fallback_ms = int((message.timestamp or time.time()) * 1000)
        ingest_ms = plausible_ms(headers.get(H_INGEST_TS), fallback_ms)
        value = event.value
        payload = value if isinstance(value, (bytes, bytearray)) else (_text(value) or "").encode()
        return cls(
            payload=bytes(payload),
            key=message.key if isinstance(message.key, (bytes, type(None))) else str(message.key).encode(),
            lead_id=plausible_id(headers.get(H_LEAD_ID)),
            trace_id=plausible_id(headers.get(H_TRACE_ID)) or new_trace_id(),
            ingest_ms=ingest_ms,
            topic=message.topic,
            partition=message.partition,
            offset=message.offset,
            headers=headers,
            raw_headers=tuple((str(k), _raw(v)) for k, v in items),
        )


def _raw(value: bytes | str | None) -> bytes:
    if value is None:
        return b""
    return bytes(value) if isinstance(value, (bytes, bytearray)) else str(value).encode()


def make_headers(lead_id: str, trace_id: str, ingest_ms: int) -> dict[str, bytes]:
    return {H_LEAD_ID: lead_id.encode(), H_TRACE_ID: trace_id.encode(), H_INGEST_TS: str(ingest_ms).encode()}
