"""Gray-zone judge: ask an LLM (Ollama) whether two records are one business.

Structured output (``format=<JSON schema>``) asks for ``same_business`` and
``confidence``. Any failure — the server down, a timeout, an answer that is not
that JSON — yields None, and the engine queues the pair for a human instead of
guessing.
"""

from __future__ import annotations

import asyncio
import json
import logging
from dataclasses import dataclass

import httpx
import ollama

log = logging.getLogger(__name__)

VERDICT_SCHEMA = {
    "type": "object",
    "properties": {"same_business": {"type": "boolean"}, "confidence": {"type": "number", "minimum": 0, "maximum": 1}},
    "required": ["same_business", "confidence"],
}
SYSTEM = ("You decide whether two business listings describe the same real-world business (the same location). "
          "Branches of a chain at different addresses are different businesses. Answer only with the JSON asked for.")


@dataclass(frozen=True)
class Verdict:
    same_business: bool
    confidence: float


class OllamaJudge:
    def __init__(self, host: str, model: str, timeout_s: float = 20.0, min_confidence: float = 0.8) -> None:
        self.model = model
        self.timeout_s = timeout_s
        self.min_confidence = min_confidence
        self._client = ollama.AsyncClient(host=host, timeout=timeout_s)

    async def judge(self, first: dict, second: dict) -> Verdict | None:
        """The LLM's verdict on two records, or None when it cannot give a usable one."""
        prompt = ("Are these two listings the same business?\n"
                  f"Listing A: {json.dumps(first, sort_keys=True)}\nListing B: {json.dumps(second, sort_keys=True)}")
        try:
            response = await asyncio.wait_for(
                self._client.chat(model=self.model, format=VERDICT_SCHEMA, options={"temperature": 0},
                                  messages=[{"role": "system", "content": SYSTEM}, {"role": "user", "content": prompt}]),
                timeout=self.timeout_s,
            )
            data = json.loads(response.message.content or "")
            verdict = Verdict(bool(data["same_business"]), float(data["confidence"]))
        except (ollama.ResponseError, httpx.HTTPError, asyncio.TimeoutError, ConnectionError,
                json.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
            log.warning("dedupe judge unavailable: %s", exc)
            return None
        if not 0.0 <= verdict.confidence <= 1.0 or not isinstance(data["same_business"], bool):
            return None
        return verdict
