"""The OpenAI and Ollama adapters against the simulator's LLM endpoints, over real HTTP."""

from __future__ import annotations

import json
import socket

import httpx
import ollama
import pytest

from providers.http import PermanentProviderError, TransientProviderError
from providers.llm import FallbackConcepts, OllamaConcepts, OpenAIConcepts, concept_prompt
from schemas.concept import problems_for
from stages.mockup.maker import score_concept
from tests.waiting import until

JUDGE_SCHEMA = {
    "type": "object",
    "properties": {"same_business": {"type": "boolean"}, "confidence": {"type": "number"}},
    "required": ["same_business", "confidence"],
}


def _openai(base_url: str) -> OpenAIConcepts:
    return OpenAIConcepts(f"{base_url}/v1", "sk-sim", "gpt-4o-mini", timeout_s=10)


def _ollama(base_url: str) -> OllamaConcepts:
    return OllamaConcepts(base_url, "llama3.1", timeout_s=10)


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


async def test_openai_concept_covers_the_problems(llm_sim, make_lead):
    base_url, sim = llm_sim
    lead = make_lead()
    problems = problems_for(lead)
    provider = _openai(base_url)
    concept = await provider.concept(lead, problems)
    again = await provider.concept(lead, problems)
    await provider.aclose()
    assert concept == again  # deterministic from the prompt
    assert concept.provider == "openai:gpt-4o-mini"
    assert [i.problem for i in concept.improvements] == problems
    assert score_concept(concept, problems).score >= 0.9
    assert sim.records["llm"][0] | {"at": 0} == {
        "at": 0,
        "family": "openai",
        "model": "gpt-4o-mini",
        "purpose": "concept",
        "garbage": None,
    }


async def test_prompt_carries_no_personal_data(make_lead):
    lead = make_lead(email="joe.smith@gmail.example")
    prompt = concept_prompt(lead, problems_for(lead))
    for private in ("555", "0134", "Elm", "62701", "joe.smith", "office@", "joesplumbing.example"):
        assert private not in prompt
    assert "Joe's Plumbing" in prompt and "Springfield" in prompt and "no_https" in prompt


async def test_openai_wire_format_and_bearer_required(llm_sim):
    base_url, _ = llm_sim
    body = {
        "model": "gpt-4o",
        "messages": [{"role": "user", "content": "Detected problems: no_https"}],
        "response_format": {"type": "json_object"},
    }
    async with httpx.AsyncClient(base_url=base_url, trust_env=False) as client:
        anonymous = await client.post("/v1/chat/completions", json=body)
        answer = await client.post("/v1/chat/completions", json=body, headers={"Authorization": "Bearer sk-x"})
    assert anonymous.status_code == 401 and anonymous.json()["error"]["code"] == "invalid_api_key"
    completion = answer.json()
    assert completion["object"] == "chat.completion" and completion["choices"][0]["finish_reason"] == "stop"
    usage = completion["usage"]
    assert usage["total_tokens"] == usage["prompt_tokens"] + usage["completion_tokens"] > 0
    content = json.loads(completion["choices"][0]["message"]["content"])
    assert content["improvements"][0]["problem"] == "no_https"


@pytest.mark.parametrize("fault", [{"error_rate": 1.0}, {"down": True}])
async def test_openai_server_errors_are_transient(llm_sim, make_lead, fault):
    base_url, sim = llm_sim
    sim.config.update({"openai": fault})
    provider = _openai(base_url)
    with pytest.raises(TransientProviderError):
        await provider.concept(make_lead(), ["no_https"])
    await provider.aclose()


async def test_openai_rate_limit_is_transient_with_retry_after(llm_sim, make_lead):
    base_url, sim = llm_sim
    sim.config.update({"openai": {"rate_limit_per_s": 1.0}})
    provider = _openai(base_url)
    await provider.concept(make_lead(), ["no_https"])
    with pytest.raises(TransientProviderError) as caught:
        await provider.concept(make_lead(), ["no_https"])
    await provider.aclose()
    assert caught.value.retry_after_s == 1.0


async def test_unreachable_servers_are_transient(make_lead):
    port = _closed_port()
    for provider in (_openai(f"http://127.0.0.1:{port}"), _ollama(f"http://127.0.0.1:{port}")):
        with pytest.raises(TransientProviderError):
            await provider.concept(make_lead(), [])
        await provider.aclose()


async def test_client_errors_are_permanent(llm_sim, make_lead):
    base_url, _ = llm_sim
    provider = OpenAIConcepts(f"{base_url}/v1", "sk-sim", model="", timeout_s=10)  # the API answers 400
    with pytest.raises(PermanentProviderError, match="HTTP 400"):
        await provider.concept(make_lead(), [])
    await provider.aclose()


@pytest.mark.parametrize("family", ["openai", "ollama"])
async def test_garbage_is_permanent_or_flagged_unsafe(llm_sim, make_lead, family):
    base_url, sim = llm_sim
    sim.config.update({family: {"garbage_rate": 1.0}})
    provider = _openai(base_url) if family == "openai" else _ollama(base_url)
    lead = make_lead()
    problems = problems_for(lead)
    outcomes: dict[str, int] = {}
    for _ in range(12):
        try:
            concept = await provider.concept(lead, problems)
        except PermanentProviderError:
            outcome = "permanent"
        else:
            assert "<script>" in concept.headline  # schema-valid but laced with markup
            assert score_concept(concept, problems).score == 0.0
            outcome = "unsafe"
        kind = sim.records["llm"][-1]["garbage"]
        assert outcome == ("unsafe" if kind == "malicious" else "permanent"), kind
        outcomes[kind] = outcomes.get(kind, 0) + 1
    await provider.aclose()
    assert set(outcomes) == {"not_json", "wrong_shape", "malicious"}


async def test_ollama_concept_tags_and_streaming(llm_sim, make_lead):
    base_url, sim = llm_sim
    lead = make_lead()
    provider = _ollama(base_url)
    concept = await provider.concept(lead, ["no_https", "slow_lcp"])
    await provider.aclose()
    assert concept.provider == "ollama:llama3.1"
    assert [i.problem for i in concept.improvements] == ["no_https", "slow_lcp"]
    client = ollama.AsyncClient(host=base_url, trust_env=False)
    tags = await client.list()
    assert "llama3.1:latest" in [m.model for m in tags.models]
    chunks = [
        part
        async for part in await client.chat(
            model="llama3.1",
            messages=[{"role": "user", "content": concept_prompt(lead, ["no_https"])}],
            format="json",
            stream=True,
        )
    ]
    await client.close()
    assert len(chunks) >= 2 and chunks[-1].done and not chunks[0].done
    streamed = json.loads("".join(c.message.content for c in chunks))
    assert streamed["improvements"][0]["problem"] == "no_https"
    assert [r["family"] for r in sim.records["llm"]] == ["ollama", "ollama"]


async def test_ollama_errors_are_transient(llm_sim, make_lead):
    base_url, sim = llm_sim
    sim.config.update({"ollama": {"down": True}})
    provider = _ollama(base_url)
    with pytest.raises(TransientProviderError):
        await provider.concept(make_lead(), [])
    await provider.aclose()


@pytest.mark.parametrize(
    ("a", "b", "same", "confidence"),
    [
        (
            {"name": "Joe's Plumbing", "phone": "(217) 555-0134"},
            {"name": "JP Services", "phone": "+1 217-555-0134"},
            True,
            0.95,
        ),
        ({"name": "Acme Heating LLC", "phone": None}, {"name": "ACME Heating", "phone": "217-555-0000"}, True, 0.9),
        ({"name": "Acme Heating", "phone": "2175550001"}, {"name": "Blue Dental", "phone": "2175550002"}, False, 0.9),
        (
            {"name": "Acme Heating Cooling", "phone": "2175550001"},
            {"name": "Acme Roofing", "phone": "2175550002"},
            False,
            0.5,
        ),
    ],
)
async def test_ollama_same_business_judge(llm_sim, a, b, same, confidence):
    base_url, sim = llm_sim
    client = ollama.AsyncClient(host=base_url, trust_env=False)
    message = f"Are these the same business?\nA: {json.dumps(a)}\nB: {json.dumps(b)}"
    response = await client.chat(
        model="llama3.1", messages=[{"role": "user", "content": message}], format=JUDGE_SCHEMA, stream=False
    )
    await client.close()
    assert json.loads(response.message.content) == {"same_business": same, "confidence": confidence}
    assert sim.records["llm"][-1]["purpose"] == "same_business"


async def test_fallback_uses_ollama_when_openai_is_down(llm_sim, make_lead):
    base_url, sim = llm_sim
    sim.config.update({"openai": {"down": True}})
    provider = FallbackConcepts([_openai(base_url), _ollama(base_url)])
    concept = await provider.concept(make_lead(), ["no_https"])
    assert concept.provider == "ollama:llama3.1"
    sim.config.update({"ollama": {"down": True}})
    with pytest.raises(TransientProviderError):
        await provider.concept(make_lead(), ["no_https"])
    await provider.aclose()
    assert sim.counters["openai.503"] == 2 and sim.counters["ollama.503"] == 1


@pytest.mark.parametrize("family", ["openai", "ollama"])
async def test_slow_llm_times_out_as_transient(llm_sim, make_lead, family):
    base_url, sim = llm_sim
    sim.config.update({family: {"latency_median_ms": 1000, "latency_p95_ms": 1000}})
    provider = (
        OpenAIConcepts(f"{base_url}/v1", "sk-sim", "gpt-4o", timeout_s=0.3)
        if family == "openai"
        else OllamaConcepts(base_url, "llama3.1", timeout_s=0.3)
    )
    with pytest.raises(TransientProviderError, match="(?i)timeout"):
        await provider.concept(make_lead(), ["no_https"])
    await provider.aclose()
    # Let the abandoned request finish at the simulator so it cannot leak into the next test's records.
    await until(lambda: sim.records["llm"], timeout_s=10, what="the simulator to finish the abandoned request")
    assert len(sim.records["llm"]) == 1
