"""The topology is the one declaration: agents read their source from it, and the runner refuses an
output to a topic the stage did not declare as a sink (a bug: dead-lettered with the reason)."""

from __future__ import annotations

from types import SimpleNamespace

import orjson

from schemas import Lead
from storage.records import LeadRecords
from streams.envelope import Envelope, make_headers
from streams.runner import StageRunner, encode_lead
from streams.stage import Output, Stage
from streams.topology import (
    DEDUPE_DECISIONS,
    DEDUPE_DECISIONS_INPUT,
    EMAILS_QUEUED,
    LEADS_ENRICHED,
    LEADS_SCORED,
    TOPOLOGY,
)


class Routes(Stage[Lead]):
    name = "enrich"

    def __init__(self, topics: tuple[str, ...]) -> None:
        self.topics = topics

    async def handle(self, lead: Lead, envelope: Envelope) -> list[Output]:
        return [Output(lead, topics=self.topics)]


def _event(lead: Lead, offset: int) -> SimpleNamespace:
    message = SimpleNamespace(
        topic=LEADS_ENRICHED,
        partition=0,
        offset=offset,
        key=lead.geo_key.encode(),
        timestamp=1.0,
        headers=make_headers(lead.lead_id, "t" * 32, 1000),
        tp=("leads.enriched", 0),
    )
    return SimpleNamespace(message=message, value=encode_lead(lead))


async def _run(pool, topics: tuple[str, ...], lead_id: str) -> list[tuple[str, dict]]:
    sent: list[tuple[str, dict]] = []

    async def send(topic, key, value, headers):
        sent.append((topic, orjson.loads(value)))

        async def delivered():
            return None

        return delivered()

    runner = StageRunner(Routes(topics), LeadRecords(pool), send, sinks=TOPOLOGY["enrich"].sinks)
    lead = Lead(lead_id=lead_id, geo_key="98901", source="test", name="Valley Heating")
    await runner.process_batch([_event(lead, 7)])
    return sent


async def test_an_output_to_a_declared_sink_is_sent(pool):
    sent = await _run(pool, (LEADS_ENRICHED,), "ld_declared")
    assert [topic for topic, _ in sent] == [LEADS_ENRICHED]
    assert await pool.fetchval("SELECT stage FROM leads WHERE lead_id = 'ld_declared'") == "enrich"


async def test_an_output_to_an_undeclared_topic_is_a_dead_lettered_bug(pool):
    sent = await _run(pool, (LEADS_ENRICHED, EMAILS_QUEUED), "ld_stray")
    assert [topic for topic, _ in sent] == ["deadletter.enrich"]  # nothing of the event went on
    letter = sent[0][1]
    assert letter["error_type"] == "UndeclaredTopic" and letter["lead_id"] == "ld_stray"
    assert "['emails.queued']" in letter["reason"] and "not among its sinks ['leads.enriched']" in letter["reason"]
    row = await pool.fetchrow("SELECT state, state_reason FROM leads WHERE lead_id = 'ld_stray'")
    assert row["state"] == "dead_lettered" and row["state_reason"].startswith("UndeclaredTopic: bug:")


def test_each_stage_reads_a_topic_an_earlier_stage_writes():
    feeds = {"enrich": "scrape", "dedupe": "enrich", "score": "dedupe", "mockup": "score", "email": "mockup"}
    for stage, upstream in feeds.items():
        assert TOPOLOGY[stage].source in TOPOLOGY[upstream].sinks, stage
    assert TOPOLOGY["email"].source in TOPOLOGY["score"].sinks  # tiers without a mockup skip the GPU group
    assert LEADS_SCORED in TOPOLOGY["score"].sinks and TOPOLOGY["email"].sinks == ()
    assert DEDUPE_DECISIONS_INPUT.source == DEDUPE_DECISIONS and DEDUPE_DECISIONS_INPUT.stage == "dedupe"
