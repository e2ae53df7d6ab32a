"""Schema versions of the messages: the one place that decides which versions a reader takes.

Every message on every topic carries ``schema_version`` in its JSON payload.
The payload, not a Kafka header, because the version belongs to the data: the
lead record in PostgreSQL, a dead letter's stored original and a replay keep
it with the fields it describes, the raw-lead JSON Schema (the producers'
contract) documents it, and a producer that cannot set headers still sends it.

A rolling upgrade runs workers of version N and N+1 on one consumer group, so
a reader takes its kind's `current` version and the one before it; an older
message is brought up to date on read by that kind's upcaster (pure, tested).
A message newer than the reader raises `NewerSchemaVersion`: the runner
dead-letters it under that name (never lost; ``leadstream dlq replay --reason
NewerSchemaVersion`` once the new workers are deployed). See docs/upgrades.md.

Version 0 is the previous version of every kind: a message without the field,
as every scrape job and review decision was until versions went on every
message, and as producers may still write raw leads (the field was optional).
Its fields are those of version 1, so its upcaster only records the version;
the first change that alters a payload's shape adds version 2 and a real
upcaster here (`MessageKind.upcasters[1]`), and drops the one from 0.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import orjson

VERSION_FIELD = "schema_version"
UNVERSIONED = 0  # the version of a message without `VERSION_FIELD`

Document = dict[str, Any]
Upcaster = Callable[[Document], Document]


class SchemaVersionError(ValueError):
    """The message's version is one this reader does not take (dead-lettered under the subclass's name)."""


class NewerSchemaVersion(SchemaVersionError):
    """Written by a newer release than this worker: replay it once the newer workers run."""


class OlderSchemaVersion(SchemaVersionError):
    """Older than the previous version: no upcaster is kept for it any more."""


def _unversioned_to_v1(doc: Document) -> Document:
    """0 → 1: version 1 added only the field itself (every other field is the same), so record it."""
    return {**doc, VERSION_FIELD: 1}


@dataclass(frozen=True)
class MessageKind:
    """One kind of message: the version its writers write and its readers expect, and how to reach it."""

    name: str
    current: int
    upcasters: Mapping[int, Upcaster] = field(default_factory=dict)  # version v → a document of version v + 1

    @property
    def previous(self) -> int:
        return self.current - 1

    def version_of(self, doc: Document) -> int:
        version = doc.get(VERSION_FIELD, UNVERSIONED)
        if type(version) is not int:  # not bool, float or a numeric string: a producer's bug
            raise ValueError(f"{VERSION_FIELD} must be an integer, got {version!r}")
        return version

    def upgrade(self, doc: Document) -> Document:
        """`doc` as a current-version document (the previous version upcast); raise for any other version."""
        version = self.version_of(doc)
        if version > self.current:
            raise NewerSchemaVersion(
                f"{self.name} {VERSION_FIELD} {version} is newer than this worker reads ({self.previous}..{self.current}):"
                f" written by a newer release; replay it once that release runs here"
            )
        if version < self.previous:
            raise OlderSchemaVersion(
                f"{self.name} {VERSION_FIELD} {version} is older than this worker reads ({self.previous}..{self.current})"
            )
        if version == self.previous:
            doc = self.upcasters[version](doc)
            if self.version_of(doc) != self.current:
                raise AssertionError(f"bug: the {self.name} upcaster from {version} did not reach {self.current}")
        return doc

    def read(self, payload: bytes) -> Document:
        """Parse a message's JSON payload and upgrade it (`upgrade`); ValueError when it is not a JSON object."""
        try:
            doc = orjson.loads(payload)
        except orjson.JSONDecodeError as exc:
            raise ValueError(f"not JSON: {exc}") from exc
        if not isinstance(doc, dict):
            raise ValueError(f"not a JSON object but {type(doc).__name__}")
        return self.upgrade(doc)


# The lead record: `RawLead` on leads.scraped and `Lead` on every later topic share its versions.
LEAD = MessageKind("lead", current=1, upcasters={0: _unversioned_to_v1})
SCRAPE_JOB = MessageKind("scrape job", current=1, upcasters={0: _unversioned_to_v1})
REVIEW_DECISION = MessageKind("review decision", current=1, upcasters={0: _unversioned_to_v1})
# deadletter.<stage>: read by people and alerts, not by a stage; versioned so they can tell formats apart.
DEAD_LETTER = MessageKind("dead letter", current=1, upcasters={0: _unversioned_to_v1})

KINDS = (LEAD, SCRAPE_JOB, REVIEW_DECISION, DEAD_LETTER)
