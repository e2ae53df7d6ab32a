"""The scrape stage: a ZIP × vertical job → one lead per business found, into leads.scraped.

A business found by several sources becomes one lead carrying every source id
(`stages.scrape.sources.merge_sources`). Lead ids derive from the source ids, so
running a job again produces the same ids: the system of record upserts them
and dedupe recognizes them, so a re-run creates no duplicate leads.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Protocol

from providers.ledger import CostLedger, ProviderPaused
from schemas import Lead, RawLead, ScrapeJob
from schemas.versions import SchemaVersionError
from stages.scrape.sources import merge_sources
from streams.envelope import Envelope, new_trace_id, now_ms
from streams.stage import Deferred, InvalidMessage, Output, Stage, read_message
from streams.topology import LEADS_SCRAPED


class Searcher(Protocol):
    """A business search: `providers.search` adapters, or one behind the guards (`GuardedSearch`)."""

    async def search(self, zip_code: str, vertical: str, max_results: int) -> list[RawLead]: ...

    async def aclose(self) -> None: ...


class ScrapeStage(Stage[ScrapeJob]):
    name = "scrape"

    def __init__(self, searchers: dict[str, Searcher], ledger: CostLedger | None = None) -> None:
        self.searchers = searchers  # source name → its search
        self.ledger = ledger

    async def stop(self) -> None:
        for searcher in self.searchers.values():
            await searcher.aclose()
        if self.ledger is not None:
            await self.ledger.flush()

    def decode(self, envelope: Envelope) -> ScrapeJob:
        try:
            return read_message(ScrapeJob, envelope.payload)
        except SchemaVersionError:
            raise
        except ValueError as exc:
            raise InvalidMessage(f"not a valid scrape job: {exc}") from exc

    async def handle(self, job: ScrapeJob, envelope: Envelope) -> list[Output]:
        unknown = sorted(set(job.sources) - set(self.searchers))
        if unknown:
            raise InvalidMessage(f"unknown sources {unknown}; known: {sorted(self.searchers)}")
        found: list[RawLead] = []
        for source in job.sources:
            try:
                found.extend(await self.searchers[source].search(job.zip, job.vertical, job.max_results))
            except ProviderPaused as exc:  # today's budget is spent: the job waits, it is not dropped
                raise Deferred(str(exc), retry_after_s=60.0) from exc
        # One lead per business; each starts its own trace and clock: its latency is its own.
        tier = {"enrich_tier": job.enrich_tier} if job.enrich_tier else {}
        return [
            Output(
                Lead.from_raw(raw.model_copy(update=tier)),
                topics=(LEADS_SCRAPED,),
                trace_id=new_trace_id(),
                ingest_ms=now_ms(),
            )
            for raw in merge_sources(found)
        ]


class GuardedSearch:
    """A search adapter behind the shared guards: cache, budget, circuit breaker, rate limit, cost ledger."""

    def __init__(self, adapter: Searcher, guarded: Callable[..., Awaitable[list[RawLead]]]) -> None:
        self.adapter, self.guarded = adapter, guarded

    async def search(self, zip_code: str, vertical: str, max_results: int) -> list[RawLead]:
        return await self.guarded(zip_code, vertical, max_results)

    async def aclose(self) -> None:
        await self.adapter.aclose()
