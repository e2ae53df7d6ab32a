"""Gray-zone judge: ask an LLM whether two records are one business.

The call itself is the provider adapter's (`providers.llm.OllamaVerdicts`),
put behind the shared provider guards by the stage's builder. Any failure —
the server down, a timeout, an open circuit, an answer that is not the asked
JSON — yields None, and the engine queues the pair for a human instead of
guessing.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

from providers.http import ProviderError
from providers.llm import OllamaVerdicts, Verdict

log = logging.getLogger(__name__)

Ask = Callable[[dict[str, Any], dict[str, Any]], Awaitable[Verdict]]

__all__ = ["Judge", "OllamaJudge", "Verdict"]


class Judge(Protocol):
    """What `EntityResolver.judge_gray` asks about a gray pair: the LLM (`OllamaJudge`) in the stream and the
    CLI, the labels in `evaluate --judge-bound`. None means no usable answer (the pair goes to review)."""

    min_confidence: float

    async def judge(self, first: dict[str, Any], second: dict[str, Any]) -> Verdict | None: ...


class OllamaJudge:
    """`judge(a, b)`: the Ollama model's verdict, or None when it cannot give a usable one.

    `guard` wraps the adapter's call (e.g. `ProviderGuards.wrap`: breaker, rate limit, cost ledger).
    """

    def __init__(
        self,
        host: str,
        model: str,
        timeout_s: float = 20.0,
        min_confidence: float = 0.8,
        *,
        guard: Callable[[Ask], Ask] | None = None,
    ) -> None:
        self.min_confidence = min_confidence
        self.client = OllamaVerdicts(host, model, timeout_s=timeout_s)
        self._ask: Ask = guard(self.client.same_business) if guard else self.client.same_business

    async def judge(self, first: dict[str, Any], second: dict[str, Any]) -> Verdict | None:
        try:
            return await self._ask(first, second)
        except ProviderError as exc:
            log.warning("dedupe judge unavailable: %s", exc)
            return None

    async def aclose(self) -> None:
        await self.client.aclose()
