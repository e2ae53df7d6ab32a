"""The one settings object. Every field is read from ``LEADSTREAM_<FIELD>``.

``leadstream settings`` prints each setting with its environment variable,
current value and description, so this file is also the reference.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

PACKAGE_DIR = Path(__file__).resolve().parent


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="LEADSTREAM_", env_file=None, extra="ignore")

    # --- Kafka / Faust --------------------------------------------------
    kafka_broker: str = Field("kafka://127.0.0.1:9092", description="Bootstrap servers, `kafka://host:port[;host:port]`.")
    app_id: str = Field("leadstream", description="Faust app id: consumer group and changelog topic prefix.")
    partitions: int = Field(12, ge=1, description="Partitions of every lead topic; the ceiling on worker instances.")
    replication_factor: int = Field(1, ge=1, description="Replication factor of created topics.")
    topic_prefix: str = Field("", description="Prefix for every topic name (isolates runs sharing a broker).")
    store: str = Field("rocksdb://", description="Faust table store: `rocksdb://` in production, `memory://` for tests.")
    data_dir: Path = Field(Path(".leadstream"), description="Worker data dir: RocksDB tables.")
    blob_dir: Path = Field(Path(".leadstream/blobs"), description="Local blob store (mockup PNGs); object storage later.")
    web_port: int = Field(6066, description="Worker web port: table views, /metrics, /health.")
    web_enabled: bool = Field(True, description="Serve the worker's web views.")
    stages: str = Field("all", description="Stages this worker runs: `all` or a comma list (scrape,enrich,dedupe,score,mockup,email).")
    commit_interval_s: float = Field(1.0, description="How often consumed offsets are committed.")
    exactly_once: bool = Field(False, description="Faust processing_guarantee=exactly_once. Off: at-least-once + idempotent effects.")

    # --- Processing ------------------------------------------------------
    batch_size: int = Field(200, ge=1, description="Max events a stage takes per batch.")
    batch_within_s: float = Field(0.1, gt=0, description="Max wait to fill a batch before processing it.")
    concurrency: int = Field(32, ge=1, description="Concurrent I/O calls per stage per worker.")
    max_attempts: int = Field(4, ge=1, description="Attempts per event on transient errors before dead-lettering.")
    retry_backoff_s: float = Field(0.2, ge=0, description="First retry delay; doubles each attempt, with jitter.")

    # --- Stores ------------------------------------------------------------
    database_url: str = Field("postgresql://leadstream@127.0.0.1:5432/leadstream", description="PostgreSQL DSN (the system of record).")
    db_pool_size: int = Field(8, ge=1, description="asyncpg pool size per worker.")
    redis_url: str = Field("", description="Redis: shared cache, rules cache, cross-worker limits. Empty: per-process only (the demo).")

    # --- Providers -------------------------------------------------------
    yelp_base_url: str = Field("https://api.yelp.com", description="Yelp Fusion API base URL.")
    yelp_api_key: str = Field("", description="Yelp Fusion API key.")
    google_base_url: str = Field("https://places.googleapis.com", description="Google Places API (New) base URL.")
    google_api_key: str = Field("", description="Google Places API key.")
    web_proxy: str | None = Field(None, description="HTTP proxy for fetching business websites (scraping proxy).")
    fetch_allowlist: str = Field("", description="Comma list of host[:port] or CIDRs the SSRF guard lets through (e.g. the simulator).")
    max_page_bytes: int = Field(2_000_000, description="Largest website body read; the rest is cut off.")
    per_domain_concurrency: int = Field(2, ge=1, description="Concurrent requests to one website domain per worker.")
    technologies_file: Path = Field(PACKAGE_DIR.parent / "stages" / "data" / "technologies.json", description="Wappalyzer-format fingerprints (a file or a folder of files).")
    http_timeout_s: float = Field(10.0, description="Timeout for one provider or website request.")
    llm_provider: str = Field("openai", description="Mockup concept LLM: `openai` (any OpenAI-compatible API) or `ollama`.")
    openai_base_url: str = Field("https://api.openai.com/v1", description="OpenAI-compatible API base URL.")
    openai_api_key: str = Field("", description="OpenAI-compatible API key.")
    openai_model: str = Field("gpt-4o", description="Model for mockup concepts.")
    ollama_host: str = Field("http://127.0.0.1:11434", description="Ollama API base URL (fallback LLM).")
    ollama_model: str = Field("llama3.1", description="Ollama model for concepts and gray-zone dedupe decisions.")
    sendgrid_base_url: str = Field("https://api.sendgrid.com", description="SendGrid v3 API base URL.")
    sendgrid_api_key: str = Field("", description="SendGrid API key.")

    hunter_base_url: str = Field("https://api.hunter.io", description="Hunter email-finder API base URL (domain search).")
    hunter_api_key: str = Field("", description="Hunter API key; empty: the provider is not configured and the waterfall skips it.")
    pagespeed_base_url: str = Field("https://www.googleapis.com", description="PageSpeed Insights API base URL.")
    pagespeed_api_key: str = Field("", description="PageSpeed Insights API key; empty: not configured (site audits use Chromium).")
    dns_nameservers: str = Field("", description="Comma list of `ip[:port]` resolvers for MX checks and the SSRF guard; empty: the system's.")
    mx_check: bool = Field(True, description="Check every found email's domain for MX (or A) records; addresses at dead domains are dropped.")

    # --- Enrichment ------------------------------------------------------
    enrich_tier: int = Field(3, ge=1, le=3, description="Default enrichment tier when a lead names none: 1 basic (fetch, tech, contacts), 2 + a screenshot, 3 + a site audit (lab Core Web Vitals).")
    enrich_waterfall: str = Field(
        "email=website,hunter;performance=pagespeed,browser,http;screenshot=pagespeed,browser",
        description="Provider order per field, `field=p1,p2;…`. Fields: email (website, hunter), performance (pagespeed, browser, http), screenshot (pagespeed, browser). Unconfigured providers are skipped.",
    )
    render_js: bool = Field(True, description="Render pages that are empty without JavaScript (single-page apps) in Chromium.")
    enrich_render_concurrency: int = Field(2, ge=1, description="Pages rendered at once per enrich worker (one Chromium per process).")
    render_timeout_s: float = Field(20.0, gt=0, description="Deadline for one Chromium page render, load and settle included.")
    per_domain_rate: str = Field("2/second", description="Requests per website domain, shared by all workers through Redis (`N/second|minute`); empty: no rate limit.")
    robots_ttl_s: float = Field(6 * 3600, gt=0, description="How long a site's robots.txt verdict is cached (in Redis when configured).")

    dedupe_llm: bool = Field(True, description="Ask the Ollama model about gray-zone dedupe pairs (else they go to review).")

    provider_rate_limits: str = Field("yelp=5/second,google=10/second,hunter=10/second,pagespeed=4/second", description="Per-provider rate limits shared by all workers (through Redis), `name=N/period,…`.")
    provider_cache_ttl_s: str = Field("yelp=86400,google=86400,hunter=604800,pagespeed=86400", description="Per-provider response cache TTLs in seconds, `name=seconds,…`.")
    provider_cost_usd: str = Field("yelp=0,google=0.032,hunter=0.01,pagespeed=0", description="Price of one answered call per provider (cost ledger), `name=usd,…`.")
    provider_daily_budget_usd: str = Field("", description="Daily spend cap per provider, `name=usd,…`; reaching it pauses the provider.")
    breaker_failures: int = Field(5, ge=1, description="Transient failures within the window that open a provider's circuit.")
    breaker_window_s: float = Field(60.0, description="Window for counting those failures.")
    breaker_open_s: float = Field(30.0, description="How long an open circuit rejects calls before one trial.")

    # --- Scoring / mockups / email --------------------------------------
    rules_file: Path = Field(PACKAGE_DIR / "defaults" / "rules.yaml", description="Scoring rules (YAML).")
    mockup_tiers: str = Field("A", description="Tiers whose leads get a mockup before the email.")
    chromium_path: str = Field("/usr/bin/chromium", description="Chromium executable Playwright drives.")
    render_concurrency: int = Field(3, ge=1, description="Pages rendered at once per mockup worker.")
    from_email: str = Field("hello@leadstream.example", description="Sender address.")
    from_name: str = Field("leadstream", description="Sender display name.")
    campaign_step: str = Field("intro", description="Campaign step; with the lead id it forms the email idempotency key.")
    postal_address: str = Field("leadstream, 100 Main St, Springfield, IL 62701", description="CAN-SPAM postal address in every footer.")
    unsubscribe_base_url: str = Field("https://leadstream.example/u", description="Base of one-click unsubscribe links.")
    unsubscribe_secret: str = Field("change-me", description="HMAC key for unsubscribe tokens.")
    sendgrid_webhook_public_key: str = Field("", description="SendGrid Event Webhook verification key (base64 DER); empty: webhook not mounted.")
    email_guards: bool = Field(False, description="Enforce the deliverability guards below (caps, warm-up, send window, auto-pause).")
    email_daily_cap: int = Field(2000, ge=0, description="Emails per day, all domains.")
    email_per_domain_cap: int = Field(200, ge=0, description="Emails per day to one recipient domain.")
    email_warmup: str = Field("50,100,200,400,800", description="Daily caps for the first days of sending (warm-up ramp).")
    email_first_send_date: str = Field("", description="Day the warm-up started (YYYY-MM-DD); empty: today.")
    email_window_hours: str = Field("9-17", description="Send window in the recipient's local time, start-end hours.")
    email_sender_tz: str = Field("America/New_York", description="Sender's zone: the day for caps, and the fallback recipient zone.")
    email_bounce_pause: float = Field(0.02, description="Pause sending while the hard-bounce rate over the window exceeds this.")
    email_spam_pause: float = Field(0.001, description="Pause sending while the spam-report rate over the window exceeds this.")

    @property
    def stage_list(self) -> list[str]:
        from streams.topology import STAGES

        if self.stages.strip() in ("", "all"):
            return list(STAGES)
        chosen = [s.strip() for s in self.stages.split(",") if s.strip()]
        unknown = sorted(set(chosen) - set(STAGES))
        if unknown:
            raise ValueError(f"LEADSTREAM_STAGES names unknown stages {unknown}; known: {', '.join(STAGES)}")
        return chosen

    @property
    def dns_nameserver_list(self) -> list[str]:
        return [item.strip() for item in self.dns_nameservers.split(",") if item.strip()]

    @property
    def fetch_allowlist_list(self) -> list[str]:
        return [item.strip() for item in self.fetch_allowlist.split(",") if item.strip()]

    @staticmethod
    def pairs(text: str) -> dict[str, str]:
        """`a=1,b=2` → {"a": "1", "b": "2"} (the form of the per-provider settings)."""
        out = {}
        for item in text.split(","):
            if item.strip():
                name, sep, value = item.partition("=")
                if not sep:
                    raise ValueError(f"expected name=value, got {item!r}")
                out[name.strip()] = value.strip()
        return out

    @property
    def mockup_tier_set(self) -> frozenset[str]:
        return frozenset(t.strip() for t in self.mockup_tiers.split(",") if t.strip())


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
