"""The FastAPI app: routes, auth (hashed keys with scopes), per-key rate limits, body limits, metrics.

Every route but `/health` needs a key (`X-API-Key: lsk_…` or `Authorization: Bearer lsk_…`).
Reads go to the read replica when one is configured; key lookups and writes to the primary.
`POST` routes answer 202 once Kafka has acknowledged every message (acks=all, idempotent).
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Annotated, Any

import orjson
from aiokafka.errors import KafkaConnectionError, KafkaError, KafkaTimeoutError
from fastapi import Depends, FastAPI, Query, Request, Security
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer
from prometheus_client import generate_latest
from starlette.responses import Response

from config import VERSION, Settings
from leadstream.api import problems
from leadstream.api.cache import CachedValue
from leadstream.api.keys import KeyRateLimiter, KeyVerifier, create_key
from leadstream.api.middleware import ApiMetrics, BodyLimit, Timing
from leadstream.api.models import (
    Accepted,
    ApiKeyOut,
    CreatedApiKey,
    EmailOut,
    Health,
    JobBatch,
    JobsAccepted,
    LeadBatch,
    LeadDetail,
    LeadPage,
    LeadState,
    LeadSummary,
    NewApiKey,
    ScoreOut,
    Stats,
)
from leadstream.api.problems import ProblemError
from leadstream.producer import LeadProducer
from schemas import RawLead, Score, ScrapeJob, geo_key
from stages.score.rules import format_explanation
from storage.api_keys import ApiKeyRow, ApiKeys
from storage.db import Pool, create_pool
from storage.lead_status import LeadFilter, LeadStatus, replica_lag

log = logging.getLogger("leadstream.api")


class Publisher:
    """What the API needs from Kafka: put leads and jobs on their topics, acknowledged within `timeout_s`."""

    def __init__(self, producer: LeadProducer, timeout_s: float = 10.0) -> None:
        self.producer, self.timeout_s = producer, timeout_s

    def _check(self) -> None:
        if getattr(self.producer.producer, "_closed", False):  # a stopped producer would wait forever
            raise KafkaConnectionError("the Kafka producer is closed")

    async def leads(self, items: list[tuple[str, str, bytes]]) -> None:
        self._check()
        try:
            await asyncio.wait_for(self.producer.push_leads(items), self.timeout_s)
        except TimeoutError:
            raise KafkaTimeoutError(f"no acknowledgement within {self.timeout_s} s") from None

    async def jobs(self, jobs: list[ScrapeJob]) -> None:
        self._check()
        try:
            await asyncio.wait_for(self.producer.push_jobs(jobs), self.timeout_s)
        except TimeoutError:
            raise KafkaTimeoutError(f"no acknowledgement within {self.timeout_s} s") from None


@dataclass
class Resources:
    """What the routes use. `open_resources` makes them from the settings; tests may pass their own."""

    primary: Pool
    reads: Pool
    publisher: Publisher
    limiter: KeyRateLimiter
    keys: ApiKeys
    verifier: KeyVerifier
    status: LeadStatus
    closers: list[Callable[[], Awaitable[Any]]] = field(default_factory=list)

    async def close(self) -> None:
        for close in reversed(self.closers):
            with contextlib.suppress(Exception):
                await close()


async def open_resources(settings: Settings) -> Resources:
    primary = await create_pool(settings.database_url, size=settings.db_pool_size)
    closers: list[Callable[[], Awaitable[Any]]] = [primary.close]
    reads = primary
    if settings.replica_database_url:
        reads = await create_pool(settings.replica_database_url, size=settings.db_pool_size)
        closers.append(reads.close)
    producer = LeadProducer(settings.kafka_broker, settings.topic_prefix)
    await producer.__aenter__()
    closers.append(producer.producer.stop)
    limiter = KeyRateLimiter(settings.redis_url, settings.api.default_rate)
    keys = ApiKeys(primary)
    return Resources(
        primary=primary,
        reads=reads,
        publisher=Publisher(producer, settings.api.publish_timeout_s),
        limiter=limiter,
        keys=keys,
        verifier=KeyVerifier(keys, settings.api.key_cache_s),
        status=LeadStatus(reads),
        closers=closers,
    )


_PROBLEM_DESCRIPTIONS = {
    400: "Malformed JSON or a bad cursor.",
    401: "No key, or an unknown or revoked one.",
    403: "The key lacks the route's scope.",
    404: "Not found.",
    413: "The body is over the size limit.",
    422: "The request does not match the schema.",
    429: "The key's rate limit; see Retry-After.",
    503: "Kafka did not acknowledge in time; see Retry-After.",
}


def _problems(*codes: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI responses for problem details (application/problem+json)."""
    return {
        code: {
            "model": problems.Problem,
            "description": _PROBLEM_DESCRIPTIONS[code],
            "content": {problems.MEDIA_TYPE: {"schema": {"$ref": "#/components/schemas/Problem"}}},
        }
        for code in codes
    }


_api_key_header = APIKeyHeader(name="X-API-Key", auto_error=False, description="An API key, `lsk_…`.")
_bearer = HTTPBearer(auto_error=False, description="The same API key as a bearer token.")


def _cursor(at: datetime, lead_id: str) -> str:
    return base64.urlsafe_b64encode(orjson.dumps([at.isoformat(), lead_id])).decode().rstrip("=")


def _uncursor(text: str) -> tuple[datetime, str]:
    try:
        at, lead_id = orjson.loads(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)))
        return datetime.fromisoformat(at), str(lead_id)
    except (ValueError, TypeError) as exc:
        raise ProblemError(400, "bad-cursor", "the cursor is not one this API gave out") from exc


def _state(value: str | None) -> LeadState:
    return LeadState(value) if value else LeadState.in_flight


def _detail(row: dict[str, Any]) -> LeadDetail:
    record = row["record"] or {}
    score = None
    if record.get("score"):
        parsed = Score.model_validate(record["score"])
        score = ScoreOut(**parsed.model_dump(), explanation=format_explanation(parsed))
    email = None
    outcome = record.get("email_outcome") or {}
    if outcome or row["outbox"]:
        email = EmailOut(
            status=outcome.get("status"),
            to=outcome.get("to"),
            message_id=outcome.get("message_id"),
            outbox=row["outbox"],
        )
    dead = row["dead_letter"]
    if dead is None and row["state"] == "dead_lettered" and record.get("dead_letter"):
        info = record["dead_letter"]
        dead = {
            "stage": info.get("stage", row["stage"]),
            "error_type": "",
            "reason": info.get("reason", ""),
            "attempts": 0,
            "at": row["terminal_at"] or row["updated_at"],
        }
    return LeadDetail(
        lead_id=row["lead_id"],
        schema_version=int(record.get("schema_version", 1)),
        geo_key=row["geo_key"],
        source=row["source"],
        name=row["name"],
        vertical=row["vertical"],
        state=_state(row["state"]),
        state_reason=row["state_reason"],
        stage=row["stage"],
        stages=row["stages"],
        ingested_at=row["ingested_at"],
        updated_at=row["updated_at"],
        terminal_at=row["terminal_at"],
        score=score,
        entity_id=row["entity_id"],
        duplicate_of=(record.get("dedupe") or {}).get("duplicate_of"),
        stands_in=bool((record.get("dedupe") or {}).get("stands_in")),
        duplicates=list(row["duplicates"]),
        email=email,
        dead_letter=dead,
        trace_id=row["trace_id"],
    )


def create_app(settings: Settings, resources: Resources | None = None) -> FastAPI:
    """The API. Without `resources`, its lifespan opens them from `settings` (and closes them)."""
    metrics = ApiMetrics()
    holder: dict[str, Resources] = {}

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if resources is not None:
            holder["r"] = resources
            yield
            return
        opened = await open_resources(settings)
        holder["r"] = opened
        try:
            yield
        finally:
            await opened.close()

    app = FastAPI(
        title="leadstream API",
        version=VERSION,
        description="Push leads into the pipeline and ask what happened to them. Every route but /health needs "
        "an API key (`X-API-Key` or a bearer token) with the route's scope; errors are RFC 9457 problem details.",
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
        openapi_url=None,  # the document is docs/openapi.json; nothing but /health answers without a key
        responses=_problems(401, 403, 429),
    )
    if resources is not None:
        holder["r"] = resources
    problems.install(app)
    app.add_middleware(BodyLimit, max_bytes=settings.api.max_body_bytes)
    app.add_middleware(Timing, metrics=metrics)
    app.state.metrics = metrics

    def res() -> Resources:
        return holder["r"]

    def require(scope: str) -> Callable[..., Awaitable[ApiKeyRow]]:
        async def check(
            request: Request,
            api_key: Annotated[str | None, Security(_api_key_header)] = None,
            bearer: Annotated[HTTPAuthorizationCredentials | None, Security(_bearer)] = None,
        ) -> ApiKeyRow:
            token = api_key or (bearer.credentials if bearer else None)
            if not token:
                raise ProblemError(
                    401, "unauthorized", "an API key is required", headers={"WWW-Authenticate": "Bearer"}
                )
            r = res()
            key = await r.verifier.verify(token)
            if key is None:
                raise ProblemError(
                    401, "unauthorized", "unknown or revoked API key", headers={"WWW-Authenticate": "Bearer"}
                )
            if scope not in key.scopes and "admin" not in key.scopes:
                raise ProblemError(403, "forbidden", f"this key lacks the {scope!r} scope")
            try:
                verdict = await r.limiter.hit(key.key_id, key.rate)
            except Exception as exc:  # Redis down: serve rather than refuse everyone (logged)
                log.warning("rate limiter unavailable, request let through: %s", exc)
                return key
            if not verdict.allowed:
                raise ProblemError(
                    429,
                    "rate-limited",
                    f"over this key's rate of {key.rate or settings.api.default_rate}",
                    headers={"Retry-After": str(verdict.retry_after_s)},
                )
            request.state.key = key
            return key

        return check

    ingest = Depends(require("ingest"))
    read = Depends(require("read"))
    admin = Depends(require("admin"))

    @app.get("/health", response_model=Health, tags=["ops"])
    async def health() -> Health:
        """Liveness: the process answers. Needs no key."""
        return Health(status="ok")

    @app.post(
        "/v1/leads",
        status_code=202,
        response_model=Accepted,
        tags=["leads"],
        dependencies=[ingest],
        responses=_problems(400, 413, 422, 503),
    )
    async def post_leads(body: RawLead | LeadBatch) -> Accepted:
        """One raw lead or a batch of up to 500 (docs/raw-lead.schema.json). 202 once Kafka has them all."""
        leads = body if isinstance(body, list) else [body]
        if len(leads) > settings.api.max_batch:
            raise ProblemError(422, "batch-too-large", f"at most {settings.api.max_batch} leads per request")
        items = []
        for raw in leads:
            lead_id = raw.derived_lead_id()
            payload = orjson.dumps({**raw.model_dump(mode="json", exclude_none=True), "lead_id": lead_id})
            items.append((lead_id, geo_key(raw.zip, raw.state, raw.phone, raw.city), payload))
        try:
            await res().publisher.leads(items)
        except KafkaError as exc:
            raise ProblemError(
                503, "unavailable", f"Kafka did not take the leads: {type(exc).__name__}", headers={"Retry-After": "5"}
            ) from exc
        metrics.leads_accepted.inc(len(items))
        return Accepted(accepted=len(items), lead_ids=[i[0] for i in items])

    @app.post(
        "/v1/scrape-jobs",
        status_code=202,
        response_model=JobsAccepted,
        tags=["scrape"],
        dependencies=[ingest],
        responses=_problems(400, 413, 422, 503),
    )
    async def post_jobs(body: ScrapeJob | JobBatch) -> JobsAccepted:
        """Queue scrape jobs (one vertical in one ZIP each). 202 once Kafka has them."""
        jobs = body if isinstance(body, list) else [body]
        try:
            await res().publisher.jobs(jobs)
        except KafkaError as exc:
            raise ProblemError(
                503, "unavailable", f"Kafka did not take the jobs: {type(exc).__name__}", headers={"Retry-After": "5"}
            ) from exc
        return JobsAccepted(accepted=len(jobs), job_ids=[j.job_id for j in jobs])

    @app.get(
        "/v1/leads/{lead_id}",
        response_model=LeadDetail,
        tags=["leads"],
        dependencies=[read],
        responses=_problems(404),
    )
    async def get_lead(lead_id: str) -> LeadDetail:
        """A lead's state, stage history, score and its explanation, entity and duplicates, email, dead letter."""
        row = await res().status.lead(lead_id)
        if row is None:
            raise ProblemError(
                404, "not-found", f"no lead {lead_id!r} recorded (an accepted lead appears once a stage wrote it)"
            )
        return _detail(row)

    @app.get(
        "/v1/leads",
        response_model=LeadPage,
        tags=["leads"],
        dependencies=[read],
        responses=_problems(400, 422),
    )
    async def list_leads(
        state: LeadState | None = None,
        geography: Annotated[str | None, Query(max_length=40, description="The geography key (US state).")] = None,
        vertical: Annotated[str | None, Query(max_length=60)] = None,
        tier: Annotated[str | None, Query(max_length=10)] = None,
        since: Annotated[datetime | None, Query(description="Ingested at or after.")] = None,
        until: Annotated[datetime | None, Query(description="Ingested before.")] = None,
        limit: Annotated[int, Query(ge=1, le=1000)] = 50,
        cursor: Annotated[str | None, Query(max_length=500)] = None,
    ) -> LeadPage:
        """Leads, newest ingested first, filtered; follow `next_cursor` for the next page."""
        limit = min(limit, settings.api.page_max)
        where = LeadFilter(
            state=state.value if state else None,
            geo_key=geography,
            vertical=vertical,
            tier=tier,
            since=since,
            until=until,
        )
        rows = await res().status.page(where, limit=limit + 1, after=_uncursor(cursor) if cursor else None)
        more = len(rows) > limit
        rows = rows[:limit]
        items = [LeadSummary(**{**r, "state": _state(r["state"])}) for r in rows]
        last = rows[-1] if rows and more else None
        return LeadPage(items=items, next_cursor=_cursor(last["ingested_at"], last["lead_id"]) if last else None)

    async def count_stats() -> Stats:
        counts = await res().status.counts()
        in_flight = sum(counts.in_flight.values())
        return Stats(
            total=in_flight + sum(counts.terminal.values()),
            in_flight=in_flight,
            dead_letters=counts.dead_letters,
            by_stage=counts.in_flight,
            by_state=counts.terminal,
        )

    stats_cache = CachedValue(count_stats, settings.api.stats_cache_s)
    app.state.stats_cache = stats_cache

    @app.get("/v1/stats", response_model=Stats, tags=["leads"], dependencies=[read])
    async def stats() -> Stats:
        """Counts per stage (leads in flight by their last stage) and per terminal state.

        Each API process counts at most once per `LEADSTREAM_API__STATS_CACHE_S` (1 s) and answers
        from that count meanwhile, so the counts may be that much older than the request."""
        return await stats_cache.get()

    @app.get("/v1/api-keys", response_model=list[ApiKeyOut], tags=["admin"], dependencies=[admin])
    async def list_keys() -> list[ApiKeyOut]:
        """Every key (never its secret)."""
        return [ApiKeyOut(**_key_fields(k)) for k in await res().keys.list()]

    @app.post(
        "/v1/api-keys",
        status_code=201,
        response_model=CreatedApiKey,
        tags=["admin"],
        dependencies=[admin],
        responses=_problems(400, 413, 422),
    )
    async def new_key(body: NewApiKey) -> CreatedApiKey:
        """Create a key; its token is in this answer only."""
        try:
            key, row = await create_key(res().keys, body.name, body.scopes, body.rate)
        except ValueError as exc:
            raise ProblemError(422, "validation-error", str(exc)) from None
        return CreatedApiKey(**_key_fields(row), token=key.token)

    @app.delete(
        "/v1/api-keys/{key_id}",
        status_code=204,
        tags=["admin"],
        dependencies=[admin],
        responses=_problems(404),
    )
    async def revoke_key(key_id: str) -> Response:
        """Revoke a key: it stops working at once on this process, elsewhere within the key cache time."""
        r = res()
        if not await r.keys.revoke(key_id):
            raise ProblemError(404, "not-found", f"no active key {key_id!r}")
        r.verifier.forget(key_id)
        return Response(status_code=204)

    @app.get("/metrics", tags=["ops"], dependencies=[read], response_class=Response)
    async def prometheus_metrics() -> Response:
        """Prometheus metrics of this API process, with the read replica's lag."""
        r = res()
        if r.reads is not r.primary:
            try:
                lag = await replica_lag(r.reads, r.primary)
                metrics.lag_bytes.set(lag.bytes or 0)
                metrics.lag_seconds.set(lag.seconds or 0.0)
            except Exception as exc:  # a replica that does not answer shows as a gap, not a 500
                log.warning("replica lag unknown: %s", exc)
        return Response(generate_latest(metrics.registry), media_type="text/plain; version=0.0.4")

    return app


def _key_fields(row: ApiKeyRow) -> dict[str, Any]:
    return {
        "key_id": row.key_id,
        "name": row.name,
        "scopes": list(row.scopes),
        "rate": row.rate,
        "created_at": row.created_at,
        "revoked_at": row.revoked_at,
    }


def openapi_document(settings: Settings | None = None) -> dict[str, Any]:
    """The OpenAPI document (what docs/openapi.json holds)."""
    from fastapi.openapi.utils import get_openapi

    app = create_app(settings or Settings())
    return get_openapi(title=app.title, version="1", description=app.description, routes=app.routes, servers=None)
