"""The lead record and the messages that carry it between stages.

`Lead` is the one record every stage adds to; `RawLead` is the public contract
for producers that push into ``leads.scraped`` (exported as JSON Schema by
``leadstream schema export``); `ScrapeJob` is a ``scrape.requests`` message.
"""

from schemas.geo import geo_key
from schemas.lead import (
    SCHEMA_VERSION,
    Contact,
    DedupeDecision,
    EmailOutcome,
    Enrichment,
    Lead,
    MockupRef,
    MultiplierHit,
    Performance,
    ProviderAttempt,
    RawLead,
    RuleHit,
    Score,
    ScrapeJob,
    Tech,
    TerminalState,
)
from schemas.lifecycle import STAGE_RANK, STAGES

__all__ = [
    "SCHEMA_VERSION",
    "STAGES",
    "STAGE_RANK",
    "Contact",
    "DedupeDecision",
    "EmailOutcome",
    "Enrichment",
    "Lead",
    "MockupRef",
    "MultiplierHit",
    "Performance",
    "ProviderAttempt",
    "RawLead",
    "RuleHit",
    "Score",
    "ScrapeJob",
    "Tech",
    "TerminalState",
    "geo_key",
]
