"""Topic names and how stages connect: the one declaration the agents read.

    scrape.requests → [scrape] → leads.scraped → [enrich] → leads.enriched
      → [dedupe] → leads.deduplicated → [score] → leads.scored (every score)
                                              ├→ mockups.requested → [mockup] → emails.queued
                                              └→ emails.queued (qualified, no mockup tier)
      emails.queued → [email] → terminal

Keys (`message_key`): only the inputs of the stateful stages are keyed by the
geography key (`schemas.geo.geo_key`): leads.enriched (dedupe) and
leads.deduplicated (score), plus dedupe.decisions. They have the same partition
count as their RocksDB tables' changelogs, so each table is co-partitioned with
its stream and any two possible duplicates meet on one partition. Every other
topic (scrape.requests, leads.scraped, leads.scored, mockups.requested,
emails.queued) is keyed by lead id, so the costly stateless stages (enrich,
mockup, email) spread over every partition, whatever the campaign's geography.
Each stage has a dead-letter topic ``deadletter.<stage>``.

An agent subscribes to its stage's `source`; the runner refuses an output to
any topic that is not one of the stage's `sinks` (a bug: dead-lettered with
the reason). Stages name topics by these constants, never by string.
"""

from __future__ import annotations

from dataclasses import dataclass

from schemas.lifecycle import STAGES  # the stages, in a lead's order

SCRAPE_REQUESTS = "scrape.requests"
LEADS_SCRAPED = "leads.scraped"
LEADS_ENRICHED = "leads.enriched"
LEADS_DEDUPLICATED = "leads.deduplicated"
LEADS_SCORED = "leads.scored"
MOCKUPS_REQUESTED = "mockups.requested"
EMAILS_QUEUED = "emails.queued"

# Internal: operator decisions on gray-zone pairs (`leadstream review accept`),
# keyed by geography so they reach the partition that owns both entities.
DEDUPE_DECISIONS = "dedupe.decisions"

# Inputs of stateful stages: keyed by the geography key (co-partitioned with the tables). The rest: by lead id.
GEO_KEYED_TOPICS = frozenset({LEADS_ENRICHED, LEADS_DEDUPLICATED, DEDUPE_DECISIONS})

LEAD_TOPICS = (LEADS_SCRAPED, LEADS_ENRICHED, LEADS_DEDUPLICATED, LEADS_SCORED, MOCKUPS_REQUESTED, EMAILS_QUEUED)


@dataclass(frozen=True)
class StageTopics:
    """What a stage's agent reads (`source`) and the only topics it may write (`sinks`)."""

    stage: str
    source: str
    sinks: tuple[str, ...]

    @property
    def dead_letter(self) -> str:
        return dead_letter_topic(self.stage)


TOPOLOGY: dict[str, StageTopics] = {
    "scrape": StageTopics("scrape", SCRAPE_REQUESTS, (LEADS_SCRAPED,)),
    "enrich": StageTopics("enrich", LEADS_SCRAPED, (LEADS_ENRICHED,)),
    "dedupe": StageTopics("dedupe", LEADS_ENRICHED, (LEADS_DEDUPLICATED,)),
    "score": StageTopics("score", LEADS_DEDUPLICATED, (LEADS_SCORED, MOCKUPS_REQUESTED, EMAILS_QUEUED)),
    "mockup": StageTopics("mockup", MOCKUPS_REQUESTED, (EMAILS_QUEUED,)),
    "email": StageTopics("email", EMAILS_QUEUED, ()),
}

# The dedupe stage's second input: operators' accepted reviews (it writes no topic, only its table).
DEDUPE_DECISIONS_INPUT = StageTopics("dedupe", DEDUPE_DECISIONS, ())


def message_key(topic: str, lead_id: str, geo_key: str) -> bytes:
    """The Kafka key of a lead's message on `topic`: its geography key where a table needs the lead's
    duplicates on one partition (`GEO_KEYED_TOPICS`), else its lead id (spreads over every partition)."""
    return (geo_key if topic in GEO_KEYED_TOPICS else lead_id).encode()


def dead_letter_topic(stage: str) -> str:
    return f"deadletter.{stage}"


def all_topics() -> list[str]:
    return [SCRAPE_REQUESTS, *LEAD_TOPICS, DEDUPE_DECISIONS, *(dead_letter_topic(s) for s in STAGES)]
