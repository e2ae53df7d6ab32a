"""The enrich stage as configured: fetcher, Chromium, providers behind the shared guards, the waterfall.

The CLI's `leadstream enrich-url` uses `build_enricher` too, so an operator's
one-off run behaves exactly as the stage would.
"""

from __future__ import annotations

from config import Settings
from providers.browser import PageRenderer
from providers.chromium import LaunchPolicy, configure_launch
from providers.emailfinder import FoundEmail, HunterClient
from providers.guards import ProviderGuards
from providers.mx import MxChecker
from providers.pagespeed import PageSpeedClient, PageSpeedResult
from providers.web import WebFetcher
from stages.enrich.detect import TechDetector
from stages.enrich.enricher import Enricher
from stages.enrich.sources import EnrichSources
from stages.enrich.stage import Closer, EnrichStage
from storage.blobs import LocalBlobStore
from storage.db import Pool
from storage.outbox import Outbox
from storage.provider_calls import ProviderCalls


def _fields(result: object) -> dict:
    """A flat dataclass's fields as a dict for the response cache (what `dataclasses.asdict` gives, without
    its deep copy of every value)."""
    return dict(vars(result))


async def build_enricher(settings: Settings, pool: Pool | None = None) -> tuple[Enricher, list[Closer]]:
    """The enricher as configured, and what releases it. `pool` None: no cost ledger or budgets (the CLI without a DB)."""
    s = settings
    nameservers = s.dns_nameservers or None
    fetcher = WebFetcher(
        proxy=s.web_proxy,
        timeout_s=s.http_timeout_s,
        max_bytes=s.max_page_bytes,
        user_agent=None,
        per_domain_concurrency=s.per_domain_concurrency,
        allowlist=s.fetch_allowlist,
        resolver_nameservers=nameservers,
        per_domain_rate=s.per_domain_rate,
        redis_url=s.redis_url,
        robots_key_prefix=s.redis_prefix("robots"),
        robots_ttl_s=s.robots_ttl_s,
    )
    guards = ProviderGuards(s, ProviderCalls(pool) if pool is not None else None)
    configure_launch(LaunchPolicy(sandbox=s.chromium_sandbox, user=s.chromium_user))
    renderer = PageRenderer(
        s.chromium_path,
        proxy=s.web_proxy,
        guard=fetcher.guard,
        max_concurrency=s.enrich_render_concurrency,
        timeout_s=s.render_timeout_s,
        idle_tab_s=s.render_idle_tab_s or None,
    )
    closers: list[Closer] = [fetcher.aclose, renderer.close, guards.aclose]
    sources = EnrichSources(
        renderer=renderer,
        render_js=s.render_js,
        blobs=LocalBlobStore(s.blob_dir),
        mx=MxChecker(nameservers, redis_url=s.redis_url, key_prefix=s.redis_prefix("mx")) if s.mx_check else None,
    )
    if s.pagespeed_api_key:
        psi = PageSpeedClient(s.pagespeed_base_url, s.pagespeed_api_key, timeout_s=max(s.http_timeout_s, 30.0))
        sources.pagespeed = guards.wrap(
            "pagespeed",
            psi.run,
            operation="runPagespeed",
            encode=_fields,
            decode=lambda row: PageSpeedResult(**row),
        )
        closers.append(psi.aclose)
    if s.hunter_api_key:
        hunter = HunterClient(s.hunter_base_url, s.hunter_api_key, timeout_s=s.http_timeout_s)
        sources.hunter = guards.wrap(
            "hunter",
            hunter.domain_search,
            operation="domain-search",
            encode=lambda found: [_fields(f) for f in found],
            decode=lambda rows: [FoundEmail(**row) for row in rows],
        )
        closers.append(hunter.aclose)
    enricher = Enricher(
        fetcher,
        TechDetector.from_file(s.technologies_file),
        sources=sources,
        default_tier=s.enrich_tier,
        waterfall=s.enrich_waterfall,
    )
    return enricher, closers


async def build_enrich(settings: Settings, pool: Pool) -> EnrichStage:
    enricher, closers = await build_enricher(settings, pool)
    return EnrichStage(enricher, Outbox(pool).suppression_reason, closers)
