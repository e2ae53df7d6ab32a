"""The gray-zone judge against the simulator's Ollama endpoint."""

from stages.dedupe.engine import EntityResolver
from stages.dedupe.judge import OllamaJudge
from stages.dedupe.model import Thresholds
from stages.dedupe.record import DedupeInput

# Nothing is sure enough for the model: candidates go to the judge. The second listing has no street and the
# next line of the phone's block, so the contact rule (one street address or, round 19, one phone where a
# listing gives no street number, and shared rare name words) cannot decide either.
GRAY = Thresholds(match=1.0, review=0.05)


async def test_confident_same_business_merges(fresh_sim):
    base_url, sim = fresh_sim
    judge = OllamaJudge(base_url, "llama3.1", timeout_s=5)
    resolver = EntityResolver({}, thresholds=GRAY)
    first = resolver.resolve(
        DedupeInput("a", "Golden Dragon Restaurant", street="88 Grant Ave", zip="94108", phone="415-555-0188")
    )
    review: list[dict] = []
    res = await resolver.resolve_with_judge(
        DedupeInput("b", "Golden Dragon Restaurant", zip="94108", phone="(415) 555-0189"), judge, review
    )
    assert res.decision == "duplicate" and res.entity_id == first.entity_id and res.matched_on == ["llm"]
    assert res.audit[0]["decided_by"] == "llm" and review == []
    assert sim.counters  # the request really went to the simulator


async def test_confident_different_stays_apart(fresh_sim):
    base_url, _ = fresh_sim
    judge = OllamaJudge(base_url, "llama3.1", timeout_s=5)
    resolver = EntityResolver({}, thresholds=Thresholds(match=0.999, review=0.0))  # every candidate is gray
    first = resolver.resolve(
        DedupeInput("a", "Golden Dragon Restaurant", street="88 Grant Ave", zip="94108", phone="415-555-0188")
    )
    review: list[dict] = []
    res = await resolver.resolve_with_judge(
        DedupeInput("b", "Jade Garden Noodles", street="88 Grant Ave", zip="94108", phone="415-555-0277"), judge, review
    )
    assert [p.candidate_entity_id for p in res.gray_pairs] == [first.entity_id]  # the judge was asked
    assert res.decision == "new" and res.entity_id != first.entity_id and review == []


async def test_unavailable_llm_queues_for_review(fresh_sim):
    base_url, sim = fresh_sim
    sim.config.family("ollama").down = True
    judge = OllamaJudge(base_url, "llama3.1", timeout_s=5)
    resolver = EntityResolver({}, thresholds=GRAY)
    first = resolver.resolve(DedupeInput("a", "Golden Dragon Restaurant", street="88 Grant Ave", zip="94108"))
    review: list[dict] = []
    res = await resolver.resolve_with_judge(DedupeInput("b", "Golden Dragon", zip="94108"), judge, review)
    assert res.decision == "gray" and res.entity_id != first.entity_id
    assert [(i["lead_id"], i["candidate_entity_id"], i["reason"]) for i in review] == [
        ("b", first.entity_id, "llm unavailable")
    ]


async def test_unreachable_host_is_unavailable():
    judge = OllamaJudge("http://127.0.0.1:9", "llama3.1", timeout_s=2)
    assert await judge.judge({"name": "A"}, {"name": "B"}) is None
