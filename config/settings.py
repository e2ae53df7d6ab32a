"""The one settings object, typed and validated when it is built (at worker start).

Every field is read from ``LEADSTREAM_<FIELD>``; nested fields use ``__``
(``LEADSTREAM_PROVIDERS__HUNTER__RATE=50/second``,
``LEADSTREAM_EMAIL__DAILY_CAP=500``), and a nested field also takes one JSON
value (``LEADSTREAM_PROVIDERS='{"hunter": {"rate": "50/second"}}'``).
``leadstream settings`` prints each setting with its environment variable,
current value and description, so this file is also the reference.

A bad value stops the worker before it starts, with one message naming the
variable and the problem (`SettingsError`), never deep inside a stage.
"""

from __future__ import annotations

import json
import os
from functools import lru_cache
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Annotated, Any

from pydantic import Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from config.sections import (
    DEFAULT_PROVIDERS,
    MIN_SECRET_CHARS,
    ApiSettings,
    EmailSettings,
    ProviderConfig,
    RetentionSettings,
    comma_list,
)
from schemas.lifecycle import STAGES

try:
    VERSION = version("leadstream")
except PackageNotFoundError:  # running from a source tree that was never installed
    VERSION = "0+unknown"

ROOT_DIR = Path(__file__).resolve().parent.parent
DEFAULTS_DIR = ROOT_DIR / "leadstream" / "defaults"
ENV_PREFIX = "LEADSTREAM_"
NESTED_DELIMITER = "__"

# What each enrichment field can come from, in the default order (docs/enrichment.md).
WATERFALL_PROVIDERS: dict[str, tuple[str, ...]] = {
    "email": ("website", "hunter"),
    "performance": ("pagespeed", "browser", "http"),
    "screenshot": ("pagespeed", "browser"),
}
DEFAULT_WATERFALL = "email=website,hunter;performance=pagespeed,browser,http;screenshot=pagespeed,browser"


def _default_chromium() -> str:
    """Debian's chromium-headless-shell when installed, else the full browser (see providers.chromium)."""
    shell = "/usr/bin/chromium-headless-shell"
    return shell if os.path.exists(shell) else "/usr/bin/chromium"


# Faust's `producer_max_request_size` (the app keeps its default): no message we send may be larger.
FAUST_PRODUCER_MAX_REQUEST_BYTES = 1_000_000


class SettingsError(ValueError):
    """The settings are invalid; the message names each variable and its problem."""


def parse_waterfall(text: str) -> dict[str, list[str]]:
    """`email=website,hunter;performance=pagespeed,http` → {"email": ["website", "hunter"], ...}."""
    orders: dict[str, list[str]] = {}
    for part in text.split(";"):
        if not part.strip():
            continue
        name, sep, providers = part.partition("=")
        if not sep or not name.strip():
            raise ValueError(f"waterfall entry {part.strip()!r}: expected field=provider,provider")
        orders[name.strip()] = [p.strip() for p in providers.split(",") if p.strip()]
    return orders


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX, env_file=None, extra="ignore", env_nested_delimiter=NESTED_DELIMITER
    )

    # --- Kafka / Faust --------------------------------------------------
    kafka_broker: str = Field(
        "kafka://127.0.0.1:9092", description="Bootstrap servers, `kafka://host:port[;host:port]`."
    )
    app_id: str = Field("leadstream", description="Faust app id: consumer group and changelog topic prefix.")
    partitions: int = Field(12, ge=1, description="Partitions of every lead topic; the ceiling on worker instances.")
    replication_factor: int = Field(1, ge=1, description="Replication factor of created topics.")
    topic_prefix: str = Field(
        "",
        description="Prefix for every topic name (isolates runs sharing a broker); the run's cached provider "
        "answers, MX and robots.txt verdicts and scoring rules in Redis are under it too.",
    )
    store: str = Field(
        "rocksdb://", description="Faust table store: `rocksdb://` in production, `memory://` for tests."
    )
    data_dir: Path = Field(Path(".leadstream"), description="Worker data dir: RocksDB tables.")
    blob_dir: Path = Field(
        Path(".leadstream/blobs"),
        description="Local blob store (mockup PNGs and email previews); object storage later.",
    )
    web_port: int = Field(6066, description="Worker web port: table views, /metrics, /health.")
    web_enabled: bool = Field(True, description="Serve the worker's web views.")
    web_bind: str = Field(
        "127.0.0.1",
        description="Address the internal web server (table views, /metrics, /health, /ready) listens on: "
        "loopback, or the pod IP / 0.0.0.0 together with LEADSTREAM_WEB_TOKEN.",
    )
    web_host: str = Field(
        "",
        description="Host this worker advertises to its peers (its canonical URL: Faust routes a table view to the "
        "worker owning the key there), e.g. the pod's DNS name; empty: LEADSTREAM_WEB_BIND when it is one "
        "address, else this machine's hostname.",
    )
    web_token: str = Field(
        "",
        description="Bearer token every internal route but /health and /ready requires; a worker refuses to "
        f"bind beyond loopback without one (at least {MIN_SECRET_CHARS} characters).",
    )
    public_web_port: int = Field(
        0,
        ge=0,
        le=65535,
        description="Port of the public routes (one-click unsubscribe /u/{token}, the SendGrid webhook), served "
        "only by workers running the email stage; 0: not served.",
    )
    public_web_bind: str = Field("0.0.0.0", description="Address the public routes listen on.")
    stages: Annotated[tuple[str, ...], NoDecode] = Field(
        STAGES, description="Stages this worker runs: `all` or a comma list (scrape,enrich,dedupe,score,mockup,email)."
    )
    commit_interval_s: float = Field(1.0, description="How often consumed offsets are committed.")
    producer_linger_ms: int = Field(
        25,
        ge=0,
        le=1000,
        description="How long the producer waits to fill a batch (Kafka's linger.ms): the streaming stages send "
        "one event's messages at a time, so a few ms more per hop batches many events into one produce request.",
    )
    table_standby_replicas: int = Field(
        1,
        ge=0,
        description="Standby copies of each table partition that other workers keep up to date from its changelog "
        "(Faust's table_standby_replicas): a worker that takes a partition over after a crash has its state at once. "
        "Each standby costs its worker the changelog reads and RocksDB writes (docs/performance.md, round 7); 0 "
        "saves them and makes a takeover replay the changelog first.",
    )
    exactly_once: bool = Field(
        False, description="Faust processing_guarantee=exactly_once. Off: at-least-once + idempotent effects."
    )
    # Recovery: how fast the group notices a dead worker and rebalances (docs/operating.md, "Recovery").
    session_timeout_s: float = Field(
        10.0,
        ge=1.0,
        le=300.0,
        description="Consumer group session timeout: a worker killed without leaving the group holds its "
        "partitions this long before the group reassigns them. The broker's group.min/max.session.timeout.ms bound it.",
    )
    heartbeat_interval_s: float = Field(
        1.0,
        gt=0,
        description="Consumer heartbeat interval (at most a third of the session timeout); members learn of a "
        "rebalance at their next heartbeat.",
    )
    rebalance_timeout_s: float = Field(
        20.0,
        ge=1.0,
        description="How long the group waits for every member to rejoin a rebalance before dropping the slow ones.",
    )
    fetch_max_wait_ms: int = Field(
        250,
        ge=10,
        le=1500,
        description="How long a fetch with no new records waits at the broker (Kafka's fetch.max.wait.ms; Faust "
        "hard-codes 1500). A consumer's other requests to that broker (list offsets, seek) queue behind the "
        "waiting fetch, so each step of a table recovery after a rebalance took 1.5 s.",
    )
    fetch_min_bytes: int = Field(
        32768,
        ge=1,
        le=1024 * 1024,
        description="Bytes a fetch waits for at the broker, at most `fetch_max_wait_ms` (Kafka's fetch.min.bytes). "
        "1 answers each fetch as soon as any record arrives: under load a worker then fetches and delivers a few "
        "records at a time. 32 KB batches records per fetch: 2-4 ms less main-worker CPU per lead and a third of "
        "the broker's, at up to `fetch_max_wait_ms` per hop when traffic is light (docs/performance.md).",
    )
    group_instance_id: str = Field(
        "",
        description="Static group membership (Kafka group.instance.id; the pod name on Kubernetes): a worker that "
        "restarts within the session timeout gets its partitions back without a rebalance. Unique per worker; "
        "empty: dynamic membership.",
    )

    shutdown_grace_s: float = Field(
        20.0,
        ge=0,
        description="On SIGTERM: how long events in flight may finish before they are abandoned (left unacked, "
        "redelivered to the partition's next owner). Keep it under the pod's terminationGracePeriodSeconds.",
    )

    # --- Health and telemetry ----------------------------------------------
    liveness_stall_s: float = Field(
        180.0, gt=0, description="/health fails when a stage has lag and no progress (nor retry/wait) for this long."
    )
    readiness_stall_s: float = Field(
        60.0, gt=0, description="/ready fails when a stage has lag and has finished no event for this long."
    )
    loop_stall_s: float = Field(10.0, gt=0, description="/health fails when the event loop is this late or silent.")
    otlp_endpoint: str = Field(
        "",
        description="OpenTelemetry OTLP/HTTP base URL (spans go to /v1/traces), e.g. Jaeger's; empty: no tracing.",
    )
    otlp_service_name: str = Field("leadstream-worker", description="service.name of this worker's spans.")
    otlp_sample_ratio: float = Field(
        1.0,
        ge=0.0,
        le=1.0,
        description="Share of leads whose trace is kept (each whole, decided by its trace id); the rest cost "
        "no span export. 1: every lead.",
    )

    # --- Processing ------------------------------------------------------
    event_loop: str = Field(
        "uvloop",
        pattern="^(asyncio|uvloop)$",
        description="The worker's event loop: `uvloop` (libuv, in C: less CPU per callback, socket read and write; "
        "a dependency) or `asyncio` (the standard library's: the fallback where uvloop cannot be installed).",
    )
    batch_size: int = Field(200, ge=1, description="Max events an ordered stage takes per batch.")
    batch_within_s: float = Field(0.1, gt=0, description="Max wait to fill a batch before processing it.")
    concurrency: int = Field(
        64,
        ge=1,
        description="Events a streaming stage handles at once per worker (work slots; a stage's own cap wins). "
        "An event waiting out a retry backoff or a deferral holds none. 64, not 32: one worker with 32 was "
        "bound by its slots (enrichment waits on the sites), not by CPU (docs/performance.md, round 6).",
    )
    admitted_per_slot: int = Field(
        4,
        ge=1,
        description="Events a streaming stage takes in per work slot (LEADSTREAM_CONCURRENCY or the stage's cap): "
        "those handled plus those waiting out a backoff or deferral, or being recorded. Bounds memory and the "
        "redelivery after a crash; 1: no more in flight than work slots.",
    )
    max_attempts: int = Field(4, ge=1, description="Attempts per event on transient errors before dead-lettering.")
    retry_backoff_s: float = Field(0.2, ge=0, description="First retry delay; doubles each attempt, with jitter.")
    circuit_wait_max_s: float = Field(
        90.0,
        ge=0,
        description="How long, in all, an event waits on providers' open circuits (no request sent, so no attempt "
        "counted) before it is dead-lettered as ProviderUnavailable: three half-open trials of a 30 s breaker. "
        "Waiting events hold the stage's admission, so a longer outage dead-letters them for replay instead.",
    )
    dead_letter_max_bytes: int = Field(
        64 * 1024,
        ge=8 * 1024,
        le=FAUST_PRODUCER_MAX_REQUEST_BYTES // 4,
        description="Largest dead-letter message (key, headers, value); a larger original is stored whole in "
        "PostgreSQL and the message carries a reference and a preview. Well under the producer's 1 MB request limit.",
    )

    # --- Stores ------------------------------------------------------------
    database_url: str = Field(
        "postgresql://leadstream@127.0.0.1:5432/leadstream", description="PostgreSQL DSN (the system of record)."
    )
    db_pool_size: int = Field(8, ge=1, description="asyncpg pool size per worker.")
    replica_database_url: str = Field(
        "",
        description="A streaming read replica of the primary: the API's reads and dashboard SQL go there. "
        "Empty: reads go to LEADSTREAM_DATABASE_URL. Add `?pgbouncer=true` to any DSN that goes through "
        "PgBouncer in transaction mode (no statement cache, no search_path).",
    )
    redis_url: str = Field(
        "", description="Redis: shared cache, rules cache, cross-worker limits. Empty: per-process only (the demo)."
    )

    # --- Providers -------------------------------------------------------
    yelp_base_url: str = Field("https://api.yelp.com", description="Yelp Fusion API base URL.")
    yelp_api_key: str = Field("", description="Yelp Fusion API key.")
    google_base_url: str = Field("https://places.googleapis.com", description="Google Places API (New) base URL.")
    google_api_key: str = Field("", description="Google Places API key.")
    web_proxy: str | None = Field(None, description="HTTP proxy for fetching business websites (scraping proxy).")
    fetch_allowlist: Annotated[list[str], NoDecode] = Field(
        [], description="Comma list of host[:port] or CIDRs the SSRF guard lets through (e.g. the simulator)."
    )
    max_page_bytes: int = Field(2_000_000, description="Largest website body read; the rest is cut off.")
    per_domain_concurrency: int = Field(2, ge=1, description="Concurrent requests to one website domain per worker.")
    technologies_file: Path = Field(
        ROOT_DIR / "stages" / "enrich" / "data" / "technologies.json",
        description="Wappalyzer-format fingerprints (a file or a folder of files).",
    )
    http_timeout_s: float = Field(10.0, description="Timeout for one provider or website request.")
    llm_provider: str = Field(
        "openai", description="Mockup concept LLM: `openai` (any OpenAI-compatible API) or `ollama`."
    )
    openai_base_url: str = Field("https://api.openai.com/v1", description="OpenAI-compatible API base URL.")
    openai_api_key: str = Field("", description="OpenAI-compatible API key.")
    openai_model: str = Field("gpt-4o", description="Model for mockup concepts.")
    ollama_host: str = Field("http://127.0.0.1:11434", description="Ollama API base URL (fallback LLM).")
    ollama_model: str = Field("llama3.1", description="Ollama model for concepts and gray-zone dedupe decisions.")
    sendgrid_base_url: str = Field("https://api.sendgrid.com", description="SendGrid v3 API base URL.")
    sendgrid_api_key: str = Field("", description="SendGrid API key.")
    hunter_base_url: str = Field(
        "https://api.hunter.io", description="Hunter email-finder API base URL (domain search)."
    )
    hunter_api_key: str = Field(
        "", description="Hunter API key; empty: the provider is not configured and the waterfall skips it."
    )
    pagespeed_base_url: str = Field("https://www.googleapis.com", description="PageSpeed Insights API base URL.")
    pagespeed_api_key: str = Field(
        "", description="PageSpeed Insights API key; empty: not configured (site audits use Chromium)."
    )
    dns_nameservers: Annotated[list[str], NoDecode] = Field(
        [], description="Comma list of `ip[:port]` resolvers for MX checks and the SSRF guard; empty: the system's."
    )
    mx_check: bool = Field(
        True,
        description="Check every found email's domain for MX (or A) records; addresses at dead domains are dropped.",
    )
    providers: dict[str, ProviderConfig] = Field(
        default_factory=lambda: {name: ProviderConfig(**values) for name, values in DEFAULT_PROVIDERS.items()},
        description="Per provider: rate (shared through Redis), cache_ttl_s, cost_usd, daily_budget_usd. "
        "Set one field with LEADSTREAM_PROVIDERS__<NAME>__<FIELD>; the other providers keep their defaults.",
    )
    breaker_failures: int = Field(
        5, ge=1, description="Transient failures within the window that open a provider's circuit."
    )
    breaker_window_s: float = Field(60.0, description="Window for counting those failures.")
    breaker_open_s: float = Field(30.0, description="How long an open circuit rejects calls before one trial.")

    # --- Enrichment ------------------------------------------------------
    enrich_tier: int = Field(
        3,
        ge=1,
        le=3,
        description="Default enrichment tier when a lead names none: 1 basic (fetch, tech, contacts), "
        "2 + a screenshot, 3 + a site audit (lab Core Web Vitals).",
    )
    enrich_waterfall: Annotated[dict[str, list[str]], NoDecode] = Field(
        default_factory=lambda: parse_waterfall(DEFAULT_WATERFALL),
        description="Provider order per field, `field=p1,p2;…`. Fields: email (website, hunter), performance "
        "(pagespeed, browser, http), screenshot (pagespeed, browser). Unconfigured providers are skipped.",
    )
    render_js: bool = Field(
        True, description="Render pages that are empty without JavaScript (single-page apps) in Chromium."
    )
    enrich_render_concurrency: int = Field(
        2, ge=1, description="Pages rendered at once per enrich worker (one Chromium per process)."
    )
    render_timeout_s: float = Field(
        20.0, gt=0, description="Deadline for one Chromium page render, load and settle included."
    )
    render_idle_tab_s: float = Field(
        2.0,
        ge=0,
        description="Close an enrich worker's Chromium tab idle this long (an open tab keeps Chromium "
        "compositing, ~0.035 CPU-s per second for the first); 0: idle tabs stay open until retired.",
    )
    per_domain_rate: str | None = Field(
        "2/second",
        description="Requests per website domain, shared by all workers through Redis (`N/second|minute`); empty: no rate limit.",
    )
    robots_ttl_s: float = Field(
        6 * 3600, gt=0, description="How long a site's robots.txt verdict is cached (in Redis when configured)."
    )

    dedupe_llm: bool = Field(
        True, description="Ask the Ollama model about gray-zone dedupe pairs (else they go to review)."
    )
    dedupe_phone_directory: bool = Field(
        True,
        description="Claim each lead's keys (its local phone; its name words with street number and city) in the "
        "shared phone directory (PostgreSQL), so twins whose fields name two states (two dedupe partitions) still "
        "meet: one transaction per dedupe batch (docs/dedupe.md, 'The phone directory'). Off, each partition "
        "decides alone and such twins stay two entities.",
    )
    dedupe_name_street_keys: bool = Field(
        True,
        description="With the phone directory on, claim the name and street keys too (each strong name word with "
        "the street number and city), so two-state twins that share no phone still meet. Off: none of them (the "
        "demo's 1,044 leads, without the name and city keys: 853 claims instead of 2,225).",
    )
    dedupe_name_city_keys: bool = Field(
        True,
        description="With the phone directory on, claim each strong name word with the city too (at most 8 "
        "businesses per word and city), so a guide's bare entry (a name, a city and its state: no phone or street "
        "number) still meets its twin whose fields name another state. Off: no such keys.",
    )

    # --- Scoring / mockups -------------------------------------------------
    rules_file: Path = Field(DEFAULTS_DIR / "rules.yaml", description="Scoring rules (YAML).")
    mockup_tiers: Annotated[frozenset[str], NoDecode] = Field(
        frozenset({"A"}), description="Tiers whose leads get a mockup before the email (comma list)."
    )
    chromium_path: str = Field(
        default_factory=_default_chromium,
        description="Chromium executable Playwright drives: Debian's chromium-headless-shell when installed "
        "(cheaper per render), else /usr/bin/chromium.",
    )
    chromium_sandbox: bool = Field(
        True,
        description="Run Chromium with its sandbox (needs unprivileged user namespaces and a seccomp profile that "
        "allows them: docs/operating.md). false: --no-sandbox, only inside a locked-down container.",
    )
    chromium_user: str = Field(
        "nobody", description="Who Chromium runs as when the worker itself runs as root (never root)."
    )
    render_concurrency: int = Field(3, ge=1, description="Pages rendered at once per mockup worker.")
    mockup_preview_quality: int = Field(
        80,
        ge=30,
        le=95,
        description="JPEG quality of the mockup preview, the 600×400 image in the email (the desktop PNG is "
        "not sent): 80 gives ~27 KB, 70 ~23 KB, 90 ~37 KB, 95 ~50 KB.",
    )

    # --- API ---------------------------------------------------------------------
    api: ApiSettings = Field(default_factory=ApiSettings, description="The HTTP API (LEADSTREAM_API__<FIELD>).")

    # --- Email -----------------------------------------------------------------
    email: EmailSettings = Field(
        default_factory=EmailSettings, description="The email stage (LEADSTREAM_EMAIL__<FIELD>)."
    )

    # --- Retention ---------------------------------------------------------------
    retention: RetentionSettings = Field(
        default_factory=RetentionSettings,
        description="What `leadstream db prune` deletes, and when (LEADSTREAM_RETENTION__<FIELD>).",
    )

    # --- validation of the mini-formats, at start -------------------------------
    @field_validator("stages", mode="before")
    @classmethod
    def _stages(cls, value: Any) -> Any:
        if isinstance(value, str):
            value = STAGES if value.strip() in ("", "all") else comma_list(value)
        chosen = tuple(value)
        unknown = sorted(set(chosen) - set(STAGES))
        if unknown:
            raise ValueError(f"unknown stages {unknown}; known: {', '.join(STAGES)}")
        return chosen

    @field_validator("fetch_allowlist", "dns_nameservers", mode="before")
    @classmethod
    def _lists(cls, value: Any) -> Any:
        return comma_list(value)

    @field_validator("mockup_tiers", mode="before")
    @classmethod
    def _tiers(cls, value: Any) -> Any:
        return frozenset(comma_list(value))

    @field_validator("per_domain_rate", mode="before")
    @classmethod
    def _per_domain_rate(cls, value: Any) -> Any:
        return ProviderConfig._rate(value)

    @field_validator("providers", mode="before")
    @classmethod
    def _merge_provider_defaults(cls, value: Any) -> Any:
        """Fields given for a provider override its defaults; providers not named keep theirs."""
        if isinstance(value, str):
            value = json.loads(value)
        merged: dict[str, Any] = {name: dict(values) for name, values in DEFAULT_PROVIDERS.items()}
        for name, given in (value or {}).items():
            given = given.model_dump(exclude_unset=True) if isinstance(given, ProviderConfig) else given
            if not isinstance(given, dict):
                raise ValueError(
                    f"provider {name!r}: expected its fields (rate, cache_ttl_s, cost_usd, daily_budget_usd)"
                )
            merged.setdefault(name.lower(), {}).update(given)
        return merged

    @field_validator("enrich_waterfall", mode="before")
    @classmethod
    def _waterfall(cls, value: Any) -> Any:
        orders = parse_waterfall(value) if isinstance(value, str) else value
        for field, providers in orders.items():
            known = WATERFALL_PROVIDERS.get(field)
            if known is None:
                raise ValueError(f"unknown field {field!r}; known: {', '.join(WATERFALL_PROVIDERS)}")
            unknown = sorted(set(providers) - set(known))
            if unknown:
                raise ValueError(f"{field}: unknown providers {unknown}; known: {', '.join(known)}")
        return orders

    @property
    def stage_list(self) -> list[str]:
        return list(self.stages)

    def redis_prefix(self, kind: str) -> str:
        """The Redis key prefix of one kind of state that a run's workers share (``leadstream:<kind>``: cached provider
        answers, MX verdicts, robots.txt verdicts, scoring rules), scoped to the run's topic prefix when it has one:
        runs that share a broker under topic prefixes (tests, demos, two deployments) may share a Redis, and none
        reads another's answers about its world or another's rules. Rate limits are not scoped: they stand for a
        provider's quota or a website's patience, which every run shares."""
        base = f"leadstream:{kind}"
        return f"{base}:{self.topic_prefix}" if self.topic_prefix else base


def env_var(loc: tuple[int | str, ...]) -> str:
    """The environment variable of a settings field location: ("email", "daily_cap") → LEADSTREAM_EMAIL__DAILY_CAP."""
    parts = [str(part).upper() for part in loc if not isinstance(part, int)]
    return ENV_PREFIX + NESTED_DELIMITER.join(parts)


def describe_errors(exc: ValidationError) -> str:
    """One line per problem: `LEADSTREAM_X: what is wrong (got 'value')`."""
    lines = []
    for error in exc.errors():
        message = error["msg"].removeprefix("Value error, ")
        given = error.get("input")
        shown = f" (got {given!r})" if isinstance(given, (str, int, float)) and error["type"] != "missing" else ""
        lines.append(f"{env_var(tuple(error['loc']))}: {message}{shown}")
    return "invalid settings:\n  " + "\n  ".join(lines)


# Variables of earlier releases: still setting one is a mistake worth stopping for, not a silent default.
RENAMED = {
    "LEADSTREAM_PROVIDER_RATE_LIMITS": "LEADSTREAM_PROVIDERS__<NAME>__RATE",
    "LEADSTREAM_PROVIDER_CACHE_TTL_S": "LEADSTREAM_PROVIDERS__<NAME>__CACHE_TTL_S",
    "LEADSTREAM_PROVIDER_COST_USD": "LEADSTREAM_PROVIDERS__<NAME>__COST_USD",
    "LEADSTREAM_PROVIDER_DAILY_BUDGET_USD": "LEADSTREAM_PROVIDERS__<NAME>__DAILY_BUDGET_USD",
    "LEADSTREAM_EMAIL_WINDOW_HOURS": "LEADSTREAM_EMAIL__SEND_WINDOW",
    "LEADSTREAM_SENDGRID_WEBHOOK_PUBLIC_KEY": "LEADSTREAM_EMAIL__WEBHOOK_PUBLIC_KEY",
    **{
        f"LEADSTREAM_{name.upper()}": f"LEADSTREAM_EMAIL__{name.upper()}"
        for name in (
            "from_email",
            "from_name",
            "campaign_step",
            "postal_address",
            "unsubscribe_base_url",
            "unsubscribe_secret",
        )
    },
    **{
        f"LEADSTREAM_EMAIL_{name.upper()}": f"LEADSTREAM_EMAIL__{name.upper()}"
        for name in (
            "guards",
            "daily_cap",
            "per_domain_cap",
            "warmup",
            "first_send_date",
            "sender_tz",
            "bounce_pause",
            "spam_pause",
        )
    },
}


def load_settings(**overrides: Any) -> Settings:
    """Settings from the environment (and `overrides`); raises `SettingsError` naming each bad variable."""
    renamed = [f"{old} is now {new}" for old, new in RENAMED.items() if old in os.environ]
    if renamed:
        raise SettingsError("invalid settings:\n  " + "\n  ".join(renamed))
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        raise SettingsError(describe_errors(exc)) from None
    except ValueError as exc:  # a nested value that is not valid JSON, before validation
        raise SettingsError(f"invalid settings: {exc}") from None


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return load_settings()
