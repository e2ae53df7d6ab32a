"""Request and response bodies of the API; the OpenAPI document is generated from these."""

from __future__ import annotations

from datetime import datetime
from enum import Enum
from typing import Annotated

from pydantic import BaseModel, Field

from schemas import MultiplierHit, RawLead, RuleHit, ScrapeJob

MAX_BATCH = 500

LeadBatch = Annotated[list[RawLead], Field(min_length=1, max_length=MAX_BATCH)]
JobBatch = Annotated[list[ScrapeJob], Field(min_length=1, max_length=100)]


class LeadState(str, Enum):
    in_flight = "in_flight"
    emailed = "emailed"
    duplicate = "duplicate"
    disqualified = "disqualified"
    suppressed = "suppressed"
    dead_lettered = "dead_lettered"


class Accepted(BaseModel):
    """The leads are on Kafka (acknowledged by every in-sync replica); they are processed asynchronously."""

    accepted: int
    lead_ids: list[str] = Field(description="Each lead's id, in request order: GET /v1/leads/{id}.")


class JobsAccepted(BaseModel):
    accepted: int
    job_ids: list[str]


class StageTime(BaseModel):
    stage: str
    at: datetime = Field(description="When the lead first reached this stage.")


class ScoreOut(BaseModel):
    value: float
    tier: str
    qualified: bool
    reason: str | None = None
    rules_version: str
    base: float
    rules: list[RuleHit] = Field(default_factory=list)
    multipliers: list[MultiplierHit] = Field(default_factory=list)
    explanation: str = Field(description="Base, each rule's delta and each multiplier, as lines.")


class OutboxEntry(BaseModel):
    campaign_step: str
    status: str
    attempts: int
    message_id: str | None = None
    last_error: str | None = None
    sent_at: datetime | None = None
    last_event: str | None = Field(None, description="Latest SendGrid event (delivered, bounce, …).")


class EmailOut(BaseModel):
    status: str | None = Field(None, description="The email stage's outcome: sent, suppressed, failed, …")
    to: str | None = None
    message_id: str | None = None
    outbox: list[OutboxEntry] = Field(default_factory=list)


class DeadLetterOut(BaseModel):
    stage: str
    error_type: str
    reason: str
    attempts: int
    at: datetime


class LeadDetail(BaseModel):
    lead_id: str
    schema_version: int
    geo_key: str
    source: str | None = None
    name: str | None = None
    vertical: str | None = None
    state: LeadState
    state_reason: str | None = None
    stage: str = Field(description="The last stage that wrote the lead.")
    stages: list[StageTime] = Field(default_factory=list)
    ingested_at: datetime | None = None
    updated_at: datetime
    terminal_at: datetime | None = None
    score: ScoreOut | None = None
    entity_id: str | None = None
    duplicate_of: str | None = Field(
        None, description="Lead id of the entity's first lead, when a duplicate (a stand-in included)."
    )
    stands_in: bool = Field(
        False,
        description="A duplicate that went on to outreach in place of the entity's first lead, "
        "which had no address to write to.",
    )
    duplicates: list[str] = Field(default_factory=list, description="Other leads of the same entity.")
    email: EmailOut | None = None
    dead_letter: DeadLetterOut | None = Field(
        None,
        description="The lead's latest dead letter; null when it has none, or once the nightly prune deleted it "
        "(a lead keeps its dead_lettered state).",
    )
    trace_id: str | None = None


class LeadSummary(BaseModel):
    lead_id: str
    geo_key: str
    source: str | None = None
    name: str | None = None
    vertical: str | None = None
    stage: str
    state: LeadState
    score: float | None = None
    tier: str | None = None
    entity_id: str | None = None
    ingested_at: datetime


class LeadPage(BaseModel):
    items: list[LeadSummary]
    next_cursor: str | None = Field(None, description="Pass as `cursor` for the next page; null on the last.")


class Stats(BaseModel):
    total: int
    in_flight: int
    dead_letters: int = Field(
        description="Dead letters kept in PostgreSQL: the nightly prune deletes old ones, so not a count of all time."
    )
    by_stage: dict[str, int] = Field(description="Leads in flight whose last stage is this one.")
    by_state: dict[str, int] = Field(description="Leads per terminal state.")


class ApiKeyOut(BaseModel):
    key_id: str
    name: str
    scopes: list[str]
    rate: str | None = None
    created_at: datetime
    revoked_at: datetime | None = None


class NewApiKey(BaseModel):
    name: str = Field(min_length=1, max_length=100)
    scopes: list[str] = Field(min_length=1)
    rate: str | None = Field(None, description="Per-key rate, e.g. `100/second`; null: the API's default.")


class CreatedApiKey(ApiKeyOut):
    token: str = Field(description="The key; shown once, only its hash is stored.")


class Health(BaseModel):
    status: str
