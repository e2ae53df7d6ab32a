"""The dedupe stage as configured: the resolver over the worker's state table, the LLM judge behind the
shared provider guards (when enabled), the phone directory (when enabled), and the merge audit and review queue in
PostgreSQL."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable

from config import Settings
from providers.guards import ProviderGuards
from providers.llm import Verdict
from stages.dedupe.engine import EntityResolver
from stages.dedupe.judge import Ask, OllamaJudge
from stages.dedupe.phone_look import StoredPhoneDirectory, key_kinds
from stages.dedupe.retention import RetentionPolicy
from stages.dedupe.stage import DedupeStage, ReviewDecisionStage
from stages.dedupe.state import KeyValueStore
from storage.db import Pool
from storage.dedupe_phones import PhoneClaims
from storage.dedupe_review import DedupeLog
from storage.provider_calls import ProviderCalls
from streams import metrics

JUDGE_PROVIDER = "ollama"  # its guards: LEADSTREAM_PROVIDERS__OLLAMA__* (rate, cache_ttl_s, cost_usd, budget)


def build_judge(settings: Settings, guards: ProviderGuards | None) -> OllamaJudge | None:
    """The gray-zone judge, or None when LEADSTREAM_DEDUPE_LLM is off (gray pairs then go to review)."""
    s = settings
    if not s.dedupe_llm:
        return None

    def guard(ask: Ask) -> Ask:
        if guards is None:
            return ask
        return guards.wrap(
            JUDGE_PROVIDER, ask, operation="chat", encode=dataclasses.asdict, decode=lambda row: Verdict(**row)
        )

    return OllamaJudge(s.ollama_host, s.ollama_model, timeout_s=s.http_timeout_s, guard=guard)


def build_resolver(
    state: KeyValueStore,
    derived: KeyValueStore | None = None,
    retention_policy: RetentionPolicy | None = None,
    clock: Callable[[], float] = time.time,
) -> EntityResolver:
    """One resolver over the dedupe-state table (`tables.dedupe_state`, behind `tables.batched.WriteBehind`),
    shared by the stage and the review decisions; ``derived`` is the table's unlogged side (`WriteBehind.local`),
    where the blocking index, names and counts live (`stages.dedupe.derived`).

    ``retention_policy`` and ``clock`` are for tests (the table-level retention test moves the clock)."""
    return EntityResolver(state, retention_policy=retention_policy, clock=clock, derived=derived)


async def build_dedupe(settings: Settings, pool: Pool, resolver: EntityResolver) -> DedupeStage:
    guards = ProviderGuards(settings, ProviderCalls(pool))
    phones = None
    if settings.dedupe_phone_directory:
        kinds = key_kinds(settings.dedupe_name_street_keys, settings.dedupe_name_city_keys)
        phones = StoredPhoneDirectory(PhoneClaims(pool), kinds)
        metrics.init_dedupe_directory(kinds)
    return DedupeStage(resolver, build_judge(settings, guards), DedupeLog(pool).write, phones)


async def build_review_decisions(pool: Pool, resolver: EntityResolver) -> ReviewDecisionStage:
    return ReviewDecisionStage(resolver, DedupeLog(pool).write)
