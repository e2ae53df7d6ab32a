"""The dead-letter message: small enough to be delivered, whatever the original was.

A dead letter goes two ways: the original message, whole (key, headers,
payload), into PostgreSQL's ``dead_letters`` table (`storage.records`), and
this message onto ``deadletter.<stage>`` for people and alerts. The message
is capped at `RetryPolicy.dead_letter_max_bytes` (default 64 KiB, far under
the producer's 1 MB request limit): a dead letter that could not be sent
would never let its event be acked, and the partition would stall behind it.

The message's JSON value:

    schema_version                                     this format's version (`schemas.versions.DEAD_LETTER`)
    stage, lead_id, error_type, reason, attempts, failed_at_ms,
    source_topic, source_partition, source_offset      where the original was read
    headers                                            its headers as text (each value ≤ 256 chars)
    payload_ref {table, stage, topic, partition,       the row holding the original and how to check it:
                 offset, size, sha256}                 ``leadstream dlq show`` finds it by these
    payload, payload_encoding ("utf-8" | "base64")     the original, when the whole message still fits
    payload_preview, payload_truncated: true           else its first bytes (undecodable ones escaped)
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Iterator
from typing import Any

import orjson

from schemas.versions import DEAD_LETTER
from storage.records import DeadLetter
from streams.envelope import H_DLQ_REASON, MAX_ID_CHARS, make_headers, plausible_id
from streams.topology import dead_letter_topic

PREVIEW_BYTES = 2048
MAX_HEADER_CHARS = 256  # per header value in the JSON body
MAX_HEADERS = 32
MAX_REASON_CHARS = 2000

Message = tuple[str, bytes | None, bytes, dict[str, bytes]]


def sha256_hex(payload: bytes) -> str:
    return hashlib.sha256(payload).hexdigest()


def payload_ref(letter: DeadLetter) -> dict[str, Any]:
    """Where the original lives: the ``dead_letters`` row's unique key, with its size and digest."""
    return {
        "table": "dead_letters",
        "stage": letter.stage,
        "topic": letter.topic,
        "partition": letter.partition,
        "offset": letter.offset,
        "size": len(letter.payload),
        "sha256": sha256_hex(letter.payload),
    }


def dead_letter_message(letter: DeadLetter, max_bytes: int, failed_at_ms: int) -> Message:
    """(topic, key, value, headers) of `letter`'s message, at most `max_bytes` in all (see the module docstring)."""
    key = letter.key[:MAX_ID_CHARS] if letter.key else letter.key
    headers = make_headers(plausible_id(letter.lead_id) or "", letter.trace_id[:MAX_ID_CHARS], letter.ingest_ms)
    headers[H_DLQ_REASON] = f"{letter.error_type}: {letter.reason}"[:1000].encode()
    overhead = len(key or b"") + sum(len(k) + len(v) for k, v in headers.items())
    text_headers, headers_cut = _text_headers(letter.headers)
    body: dict[str, Any] = {
        "schema_version": DEAD_LETTER.current,
        "stage": letter.stage,
        "lead_id": plausible_id(letter.lead_id),
        "error_type": letter.error_type,
        "reason": letter.reason[:MAX_REASON_CHARS],
        "attempts": letter.attempts,
        "source_topic": letter.topic,
        "source_partition": letter.partition,
        "source_offset": letter.offset,
        "failed_at_ms": failed_at_ms,
        "headers": text_headers,
        "payload_ref": payload_ref(letter),
    }
    if headers_cut:
        body["headers_truncated"] = True
    for value in _candidates(body, letter.payload, max_bytes - overhead):
        if overhead + len(value) <= max_bytes:
            return dead_letter_topic(letter.stage), key, value, headers
    raise AssertionError("unreachable: the smallest dead letter always fits")  # see _candidates


def _candidates(body: dict[str, Any], payload: bytes, room: int) -> Iterator[bytes]:
    """The message value, from the most complete to the smallest (made only as needed); the last is under 4 KiB."""
    if len(payload) < room:  # else the whole payload cannot fit: do not even encode it
        try:
            whole = {"payload": payload.decode("utf-8"), "payload_encoding": "utf-8"}
        except UnicodeDecodeError:
            whole = {"payload": base64.b64encode(payload).decode(), "payload_encoding": "base64"}
        yield orjson.dumps({**body, **whole})
    preview = {
        "payload_preview": payload[:PREVIEW_BYTES].decode("utf-8", "backslashreplace"),
        "payload_truncated": True,
    }
    yield orjson.dumps({**body, **preview})
    yield orjson.dumps({**body, "headers": {}, **preview, "headers_truncated": bool(body["headers"])})
    yield orjson.dumps(
        {
            **body,
            "headers": {},
            "headers_truncated": bool(body["headers"]),
            "reason": body["reason"][:200],
            "payload_truncated": True,
        }
    )


def _text_headers(raw: tuple[tuple[str, bytes], ...]) -> tuple[dict[str, str], bool]:
    """The original headers as text for people to read (capped); True when some were cut."""
    out: dict[str, str] = {}
    cut = len(raw) > MAX_HEADERS
    for name, value in raw[:MAX_HEADERS]:
        text = value.decode("utf-8", "backslashreplace")
        if len(text) > MAX_HEADER_CHARS or len(name) > MAX_HEADER_CHARS:
            cut = True
        out[name[:MAX_HEADER_CHARS]] = text[:MAX_HEADER_CHARS]
    return out, cut
