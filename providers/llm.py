"""LLM adapters that turn a lead and its detected problems into a `Concept`.

Two real clients: `OpenAIConcepts` (any OpenAI-compatible API, strict JSON
schema output) and `OllamaConcepts` (Ollama's `format` schema). `OllamaVerdicts`
asks the same Ollama server whether two listings are one business (the dedupe
stage's gray-zone judge). Both map
failures onto the project's error types: unusable output is a
`PermanentProviderError` (asking again rarely helps and the stage falls back to
the template), timeouts/5xx/429/connection trouble a `TransientProviderError`.
Like every adapter they do not retry themselves.

The `openai` and `ollama` packages are imported, and their clients made, at the
first call, not when this module is imported: they cost about 1.2 s of CPU
(openai's generated types alone 0.9 s) that a worker would otherwise spend
before it joins its group, although a dedupe worker without its LLM judge never
calls them (docs/operating.md, "A worker's start").

Prompts carry only the business's public name, vertical and city/state plus
the problem codes: never phone numbers, emails, or people's names.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

import httpx
from pydantic import ValidationError

from providers.http import PermanentProviderError, ProviderError, TransientProviderError, retry_after_seconds
from schemas.concept import PROBLEM_COPY, Concept, concept_json_schema
from schemas.lead import Lead

if TYPE_CHECKING:
    import ollama
    import openai

log = logging.getLogger(__name__)

SYSTEM_PROMPT = (
    "You are a senior web designer writing a one-page redesign concept for a small local business. "
    "Answer with one JSON object that follows the given JSON schema exactly, and nothing else. "
    "Write plain text only: no HTML, no markdown, no links, no images. "
    "Include a hero section and a contact or cta section, 3 to 7 sections in all. "
    "Add exactly one improvement for each detected problem code listed, using that code."
)


@runtime_checkable
class ConceptProvider(Protocol):
    """Anything that can propose a redesign concept for a lead."""

    name: str

    async def concept(self, lead: Lead, problems: Sequence[str]) -> Concept: ...


def concept_prompt(lead: Lead, problems: Sequence[str]) -> str:
    """The user message: public business facts and detected problems, as JSON."""
    business = {"name": lead.name, "vertical": lead.vertical or lead.category, "city": lead.city, "state": lead.state}
    detected = [{"code": code, "meaning": PROBLEM_COPY.get(code, code)} for code in problems]
    return (
        "Business:\n" + json.dumps(business, ensure_ascii=False) + "\n"
        "Detected problems:\n" + json.dumps(detected, ensure_ascii=False) + "\n"
        "Write the redesign concept for this business."
    )


def parse_concept(provider: str, content: str | None) -> Concept:
    """Validate the model's text as a Concept, or raise PermanentProviderError."""
    if not content or not content.strip():
        raise PermanentProviderError(provider, "empty answer")
    try:
        return Concept.model_validate_json(content)
    except ValidationError as exc:
        kind = "not JSON" if any(e["type"] == "json_invalid" for e in exc.errors()) else "schema mismatch"
        raise PermanentProviderError(
            provider, f"{kind}: {exc.error_count()} error(s), e.g. {exc.errors()[0]['msg']}"
        ) from exc


class OpenAIConcepts:
    """Concepts from an OpenAI-compatible chat completions API with strict structured output.

    The client's own retries are off (``max_retries=0``, not configurable): the
    stage runner owns the retry policy, and a hidden retry would multiply its attempts.
    """

    def __init__(self, base_url: str, api_key: str, model: str, timeout_s: float = 60.0) -> None:
        self.model = model
        self.name = f"openai:{model}"
        self._base_url, self._api_key, self._timeout_s = base_url, api_key, timeout_s
        self._client: openai.AsyncOpenAI | None = None  # made at the first call (module docstring)
        self._response_format: Any = {
            "type": "json_schema",
            "json_schema": {"name": "concept", "strict": True, "schema": concept_json_schema()},
        }

    async def concept(self, lead: Lead, problems: Sequence[str]) -> Concept:
        import openai  # here, not at the top: ~0.9 s of CPU a worker's start does not need (module docstring)

        if self._client is None:
            self._client = openai.AsyncOpenAI(
                base_url=self._base_url,
                api_key=self._api_key,
                timeout=self._timeout_s,
                max_retries=0,
                http_client=openai.DefaultAsyncHttpxClient(trust_env=False),
            )
        try:
            completion = await self._client.chat.completions.create(
                model=self.model,
                messages=[
                    {"role": "system", "content": SYSTEM_PROMPT},
                    {"role": "user", "content": concept_prompt(lead, problems)},
                ],
                response_format=self._response_format,
                temperature=0.7,
            )
        except openai.APITimeoutError as exc:
            raise TransientProviderError(self.name, "timeout") from exc
        except openai.APIConnectionError as exc:
            raise TransientProviderError(self.name, f"connection error: {exc}") from exc
        except openai.APIStatusError as exc:
            status = exc.status_code
            if status in (408, 409, 429) or status >= 500:
                retry_after = retry_after_seconds(exc.response.headers.get("Retry-After"))
                raise TransientProviderError(self.name, f"HTTP {status}", retry_after_s=retry_after) from exc
            raise PermanentProviderError(self.name, f"HTTP {status}: {exc.message}") from exc
        except openai.OpenAIError as exc:  # malformed response bodies and the like
            raise PermanentProviderError(self.name, f"{type(exc).__name__}: {exc}") from exc
        if not completion.choices:
            raise PermanentProviderError(self.name, "no choices in the answer")
        choice = completion.choices[0]
        if choice.message.refusal:
            raise PermanentProviderError(self.name, f"refused: {choice.message.refusal[:120]}")
        if choice.finish_reason == "length":
            raise PermanentProviderError(self.name, "answer cut off at the token limit")
        return parse_concept(self.name, choice.message.content).with_provider(self.name)

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.close()


class OllamaConcepts:
    """Concepts from an Ollama server, constrained by the Concept JSON schema."""

    def __init__(self, host: str, model: str, timeout_s: float = 120.0) -> None:
        self.model = model
        self.name = f"ollama:{model}"
        self._ollama = _OllamaChat(self.name, host, timeout_s)
        self._schema = concept_json_schema()

    async def concept(self, lead: Lead, problems: Sequence[str]) -> Concept:
        messages = [
            {"role": "system", "content": SYSTEM_PROMPT},
            {"role": "user", "content": concept_prompt(lead, problems)},
        ]
        content = await self._ollama.chat(
            model=self.model, messages=messages, format=self._schema, options={"temperature": 0.7}
        )
        return parse_concept(self.name, content).with_provider(self.name)

    async def aclose(self) -> None:
        await self._ollama.aclose()


class _OllamaChat:
    """Non-streaming chat calls to one Ollama server, failures mapped onto the provider error types.
    Its client is made at the first call (module docstring)."""

    def __init__(self, name: str, host: str, timeout_s: float) -> None:
        self.name, self._host, self._timeout_s = name, host, timeout_s
        self._client: ollama.AsyncClient | None = None

    async def chat(self, *, timeout_s: float | None = None, **request: Any) -> str | None:
        import ollama  # here, not at the top: ~0.4 s of CPU a worker's start does not need (module docstring)

        if self._client is None:
            self._client = ollama.AsyncClient(host=self._host, timeout=self._timeout_s, trust_env=False)
        try:
            call = self._client.chat(stream=False, **request)
            response = await (asyncio.wait_for(call, timeout=timeout_s) if timeout_s else call)
        except ollama.ResponseError as exc:
            status = exc.status_code
            if status in (408, 429) or status >= 500:
                raise TransientProviderError(self.name, f"HTTP {status}: {exc.error}") from exc
            raise PermanentProviderError(self.name, f"HTTP {status}: {exc.error}") from exc
        except (ConnectionError, TimeoutError, httpx.TimeoutException, httpx.TransportError) as exc:
            raise TransientProviderError(self.name, f"{type(exc).__name__}: {exc}") from exc
        except (ollama.RequestError, ValidationError, ValueError) as exc:
            raise PermanentProviderError(self.name, f"{type(exc).__name__}: {exc}") from exc
        return response.message.content

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.close()


@dataclass(frozen=True)
class Verdict:
    """An LLM's answer to "are these two listings one business?"."""

    same_business: bool
    confidence: float


VERDICT_SCHEMA = {
    "type": "object",
    "properties": {"same_business": {"type": "boolean"}, "confidence": {"type": "number", "minimum": 0, "maximum": 1}},
    "required": ["same_business", "confidence"],
}
VERDICT_SYSTEM_PROMPT = (
    "You decide whether two business listings describe the same real-world business (the same location). "
    "Branches of a chain at different addresses are different businesses. Answer only with the JSON asked for."
)


class OllamaVerdicts:
    """Same-business verdicts from an Ollama server (structured output: ``format=<JSON schema>``).

    An answer that is not that JSON, or a confidence outside 0..1, is a
    `PermanentProviderError`; the server down or slow a `TransientProviderError`.
    """

    def __init__(self, host: str, model: str, timeout_s: float = 20.0) -> None:
        self.model, self.timeout_s = model, timeout_s
        self.name = f"ollama:{model}"
        self._ollama = _OllamaChat(self.name, host, timeout_s)

    async def same_business(self, first: dict[str, Any], second: dict[str, Any]) -> Verdict:
        prompt = (
            "Are these two listings the same business?\n"
            f"Listing A: {json.dumps(first, sort_keys=True)}\nListing B: {json.dumps(second, sort_keys=True)}"
        )
        content = await self._ollama.chat(
            timeout_s=self.timeout_s,
            model=self.model,
            format=VERDICT_SCHEMA,
            options={"temperature": 0},
            messages=[{"role": "system", "content": VERDICT_SYSTEM_PROMPT}, {"role": "user", "content": prompt}],
        )
        try:
            data = json.loads(content or "")
            same, confidence = data["same_business"], float(data["confidence"])
        except (json.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
            raise PermanentProviderError(self.name, f"not a verdict: {type(exc).__name__}: {exc}") from exc
        if not isinstance(same, bool) or not 0.0 <= confidence <= 1.0:
            raise PermanentProviderError(self.name, f"not a verdict: {content[:200] if content else content!r}")
        return Verdict(same, confidence)

    async def aclose(self) -> None:
        await self._ollama.aclose()


class FallbackConcepts:
    """Try each provider in order; the first concept wins, the last error is raised."""

    def __init__(self, providers: Sequence[ConceptProvider]) -> None:
        if not providers:
            raise ValueError("FallbackConcepts needs at least one provider")
        self.providers = list(providers)
        self.name = ">".join(p.name for p in self.providers)

    async def concept(self, lead: Lead, problems: Sequence[str]) -> Concept:
        last: ProviderError | None = None
        for provider in self.providers:
            try:
                return await provider.concept(lead, problems)
            except ProviderError as exc:
                log.info("concept provider %s failed for %s: %s", provider.name, lead.lead_id, exc)
                last = exc
        assert last is not None
        raise last

    async def aclose(self) -> None:
        for provider in self.providers:
            close = getattr(provider, "aclose", None)
            if close is not None:
                await close()
