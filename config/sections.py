"""The nested parts of the settings: one outside provider's guards, the email stage, the HTTP API.

Each is a pydantic model that `config.settings.Settings` holds as one field
(``LEADSTREAM_EMAIL__<FIELD>``, ``LEADSTREAM_API__<FIELD>``,
``LEADSTREAM_PROVIDERS__<NAME>__<FIELD>``); they live apart so that the top-level
settings stay readable.
"""

from __future__ import annotations

import os
from datetime import date, time
from typing import Annotated, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from limits import parse as parse_rate
from pydantic import BaseModel, ConfigDict, Field, field_validator
from pydantic_settings import NoDecode

DEFAULT_UNSUBSCRIBE_SECRET = "change-me"
MIN_SECRET_CHARS = 32


def comma_list(value: Any) -> Any:
    """`a, b,,c` → ["a", "b", "c"]; lists pass through."""
    if isinstance(value, str):
        return [item.strip() for item in value.split(",") if item.strip()]
    return value


class ProviderConfig(BaseModel):
    """How one outside provider is guarded (`providers.guards`)."""

    model_config = ConfigDict(extra="forbid")

    rate: str | None = Field(None, description="Calls shared by all workers through Redis, `N/second|minute|hour`.")
    cache_ttl_s: int = Field(0, ge=0, description="Response cache TTL; 0: not cached.")
    cost_usd: float = Field(0.0, ge=0, description="Price of one answered call (cost ledger).")
    daily_budget_usd: float | None = Field(None, ge=0, description="Daily spend cap; reaching it pauses the provider.")

    @field_validator("rate", mode="before")
    @classmethod
    def _rate(cls, value: Any) -> Any:
        if value is None or (isinstance(value, str) and not value.strip()):
            return None
        try:
            parse_rate(str(value))
        except ValueError:
            raise ValueError(f"{value!r} is not a rate like `10/second` or `100/minute`") from None
        return str(value).strip()


DEFAULT_PROVIDERS: dict[str, dict[str, Any]] = {
    "yelp": {"rate": "5/second", "cache_ttl_s": 86400, "cost_usd": 0.0},
    "google": {"rate": "10/second", "cache_ttl_s": 86400, "cost_usd": 0.032},
    "hunter": {"rate": "10/second", "cache_ttl_s": 604800, "cost_usd": 0.01},
    "pagespeed": {"rate": "4/second", "cache_ttl_s": 86400, "cost_usd": 0.0},
}


def _parse_hour_window(value: Any) -> Any:
    """`9-17` or `09:00-17:00` → (09:00, 17:00); an end of `24` is midnight (00:00)."""
    if not isinstance(value, str):
        return value
    start, sep, end = value.partition("-")
    if not sep:
        raise ValueError(f"{value!r}: expected start-end, e.g. 9-17")
    return (_clock(start), _clock(end))


def _clock(text: str) -> time:
    text = text.strip()
    hour, _, minute = text.partition(":")
    if not hour.isdigit() or (minute and not minute.isdigit()):
        raise ValueError(f"{text!r} is not an hour (H or HH:MM)")
    h, m = int(hour), int(minute or 0)
    if h == 24 and m == 0:
        return time(0)
    return time(h, m)


class EmailSettings(BaseModel):
    """The email stage: sender, compliance and deliverability guards (caps, warm-up, send window, auto-pause)."""

    model_config = ConfigDict(extra="forbid")

    from_email: str = Field("hello@leadstream.example", description="Sender address.")
    from_name: str = Field("leadstream", description="Sender display name.")
    campaign_step: str = Field(
        "intro", description="Campaign step; with the lead id it forms the email idempotency key."
    )
    postal_address: str = Field(
        "leadstream, 100 Main St, Springfield, IL 62701", description="CAN-SPAM postal address in every footer."
    )
    unsubscribe_base_url: str = Field(
        "https://leadstream.example/u", description="Base of one-click unsubscribe links."
    )
    unsubscribe_secret: str = Field(
        DEFAULT_UNSUBSCRIBE_SECRET,
        description=f"Key for unsubscribe tokens; a worker running the email stage refuses the default "
        f"or one under {MIN_SECRET_CHARS} characters.",
    )
    unsubscribe_token_days: int = Field(
        90,
        ge=30,
        description="Days an unsubscribe link keeps working (CAN-SPAM: at least 30 after the send).",
    )
    webhook_public_key: str = Field(
        "", description="SendGrid Event Webhook verification key (base64 DER); empty: webhook not mounted."
    )
    guards: bool = Field(
        False, description="Enforce the deliverability guards (caps, warm-up, send window, auto-pause)."
    )
    daily_cap: int = Field(2000, ge=0, description="Emails per day, all domains.")
    per_domain_cap: int = Field(200, ge=0, description="Emails per day to one recipient domain.")
    warmup: Annotated[list[int], NoDecode] = Field(
        [50, 100, 200, 400, 800], description="Daily caps for the first days of sending (warm-up ramp), `50,100,…`."
    )
    first_send_date: date | None = Field(None, description="Day the warm-up started (YYYY-MM-DD); empty: today.")
    send_window: Annotated[tuple[time, time], NoDecode] = Field(
        (time(9), time(17)), description="Send window in the recipient's local time, `start-end` whole hours (9-17)."
    )
    sender_tz: str = Field(
        "America/New_York", description="Sender's zone: the day for caps, and the fallback recipient zone."
    )
    bounce_pause: float = Field(
        0.02, ge=0, description="Pause sending while the hard-bounce rate over the window exceeds this."
    )
    spam_pause: float = Field(
        0.001, ge=0, description="Pause sending while the spam-report rate over the window exceeds this."
    )
    settle_after_death_s: float = Field(
        2.0,
        ge=0,
        description="How long after its claimant was recorded as ended (its successor took the data dir) a "
        "pending outbox key waits before SendGrid is asked about it (with real SendGrid: cover the Email "
        "Activity feed's delay).",
    )
    claim_poll_s: float = Field(
        2.0,
        gt=0,
        description="How often a pending outbox key another worker holds is looked at again in the outbox "
        "(its claimant may be recorded as ended meanwhile, or its send finish).",
    )

    @field_validator("warmup", mode="before")
    @classmethod
    def _warmup(cls, value: Any) -> Any:
        return comma_list(value)

    @field_validator("first_send_date", mode="before")
    @classmethod
    def _first_send_date(cls, value: Any) -> Any:
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("send_window", mode="before")
    @classmethod
    def _send_window_text(cls, value: Any) -> Any:
        return _parse_hour_window(value)

    @field_validator("send_window")
    @classmethod
    def _send_window(cls, value: tuple[time, time]) -> tuple[time, time]:
        start, end = value
        if start.minute or end.minute or start.second or end.second:
            raise ValueError("the send window is whole hours (e.g. 9-17)")
        if end != time(0) and end <= start:
            raise ValueError(f"the window must end after it starts ({start:%H:%M}-{end:%H:%M})")
        return value

    @field_validator("sender_tz")
    @classmethod
    def _zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"{value!r} is not an IANA time zone (e.g. America/New_York)") from None
        return value

    @property
    def window_hours(self) -> tuple[int, int]:
        """The send window as (start hour, end hour), end in 1..24."""
        start, end = self.send_window
        return start.hour, end.hour or 24


API_SCOPES = ("ingest", "read", "admin")


class ApiSettings(BaseModel):
    """`leadstream api`: the HTTP service in front of the pipeline (docs/api.md)."""

    model_config = ConfigDict(extra="forbid")

    bind: str = Field("127.0.0.1", description="Address the API listens on.")
    port: int = Field(8080, ge=1, le=65535, description="Port the API listens on.")
    default_rate: str = Field(
        "50/second",
        description="Requests per API key, shared by every API process through Redis, unless the "
        "key has its own rate (`leadstream api-keys create --rate`).",
    )
    max_body_bytes: int = Field(
        2 * 1024 * 1024, ge=1024, description="Largest request body; a larger one is refused with 413."
    )
    max_batch: int = Field(500, ge=1, le=500, description="Most leads in one POST /v1/leads.")
    key_cache_s: float = Field(
        5.0,
        ge=0,
        description="How long a verified key is trusted without asking PostgreSQL again (a revoke "
        "through the API takes effect at once on that process, elsewhere within this time).",
    )
    publish_timeout_s: float = Field(
        10.0, gt=0, description="How long a POST waits for Kafka's acknowledgement before answering 503."
    )
    page_max: int = Field(200, ge=1, le=1000, description="Most leads in one page of GET /v1/leads.")
    workers: int = Field(
        1,
        ge=0,
        le=64,
        description="API server processes sharing the one port (`leadstream api --workers N`); 0: one per "
        "core this process may run on. Each process has its own PostgreSQL pools and Kafka producer; one "
        "process serves 200 requests/s on ~0.3 core (docs/api.md), so add processes when one runs out of core.",
    )
    stats_cache_s: float = Field(
        1.0,
        ge=0,
        le=60,
        description="How long one process reuses the counts of GET /v1/stats (a full count of leads) "
        "before counting again; concurrent callers share one count. 0: count on every call.",
    )

    def process_count(self) -> int:
        """The server processes `workers` asks for (0: the cores this process may run on)."""
        if self.workers:
            return self.workers
        try:
            return max(1, len(os.sched_getaffinity(0)))
        except AttributeError:  # not Linux
            return max(1, os.cpu_count() or 1)

    @field_validator("default_rate")
    @classmethod
    def _rate(cls, value: str) -> str:
        checked = ProviderConfig._rate(value)
        if not checked:
            raise ValueError("the API needs a default rate, e.g. 50/second")
        return str(checked)


class RetentionSettings(BaseModel):
    """How long the system of record keeps what only grows: what `leadstream db prune` (the nightly CronJob,
    k8s/base/db-prune.yaml) deletes. Leads, their stages, the email outbox and suppressions are never pruned:
    they are what "never email twice" reads."""

    model_config = ConfigDict(extra="forbid")

    audit_months: int = Field(
        6,
        ge=1,
        description="Whole months of the audit tables (provider_calls, email_events, dedupe_merges) kept before "
        "the current one; an older month's partition is dropped whole (no DELETE, no bloat).",
    )
    dead_letters_settled_days: float = Field(
        30,
        ge=1,
        description="A settled dead letter (replayed, superseded by a newer one of its lead, or its lead ended "
        "in another state) is deleted this many days after it was written.",
    )
    dead_letters_days: float = Field(
        90,
        ge=2,
        description="Every dead letter, settled or not, is deleted this many days after it was written: how long "
        "bad input waits for a person before its original is gone (its lead keeps its dead_lettered state).",
    )

    @field_validator("dead_letters_days")
    @classmethod
    def _not_before_settled(cls, value: float, info: Any) -> float:
        settled = info.data.get("dead_letters_settled_days")
        if settled is not None and value < settled:
            raise ValueError(
                f"{value:g} days would delete unsettled dead letters before settled ones "
                f"(dead_letters_settled_days is {settled:g}); give at least that"
            )
        return value
