"""An accepted review reaches the dedupe stage as a message and merges the two entities."""

from __future__ import annotations

import orjson

from stages.dedupe.engine import EntityResolver
from stages.dedupe.record import DedupeInput
from stages.dedupe.stage import ReviewDecisionStage
from streams.envelope import Envelope


async def test_accepted_review_merges_entities_and_is_audited():
    resolver = EntityResolver({})
    a = resolver.resolve(DedupeInput("ld_a", name="Acme Heating", street="1 Main St", zip="98908", phone="5095550101"))
    b = resolver.resolve(
        DedupeInput("ld_b", name="Zenith Cooling", street="1 Main St", zip="98908", phone="5095550199")
    )
    assert a.entity_id != b.entity_id
    written: list[list[dict]] = []

    async def sink(audit, review):
        written.append(list(audit))

    stage = ReviewDecisionStage(resolver, sink)
    decision = {"review_id": 1, "lead_id": "ld_b", "entity_id": b.entity_id, "candidate_entity_id": a.entity_id}
    item = stage.decode(Envelope(payload=orjson.dumps(decision)))
    assert await stage.handle(item, Envelope(payload=b"")) == []
    await stage.after_batch()
    assert resolver.entity_of("ld_a") == resolver.entity_of("ld_b")
    assert written and written[0][0]["decided_by"] == "review"


def test_a_bad_decision_message_is_refused():
    stage = ReviewDecisionStage(EntityResolver({}))
    try:
        stage.decode(Envelope(payload=b'{"entity_id": "e1"}'))
    except ValueError as exc:
        assert "not a review decision" in str(exc)
    else:
        raise AssertionError("accepted a decision without its fields")
