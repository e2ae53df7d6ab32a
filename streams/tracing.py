"""Tracing across stages: OpenTelemetry spans carried by W3C ``traceparent`` in Kafka headers.

Every message carries ``trace-id`` (the lead's 32-hex trace id, `streams.envelope`)
and, from a traced worker, ``traceparent`` next to it. Each stage handles an
event inside a span (`stage_span`) that is the child of the span in the event's
``traceparent`` (the previous stage's), so one lead's journey is one trace:

    scrape → enrich → dedupe → score → mockup → email      (one span each, parent → child)
                 └─ provider calls: child spans of their stage's span (`child_span`)

A message with a ``trace-id`` but no ``traceparent`` (kcat, a Java producer,
``leadstream ingest``) starts a root span whose trace id *is* that ``trace-id``,
so the id in headers, logs, PostgreSQL and Jaeger is the same. A new lead (the
scrape stage mints a trace per lead) gets a root span in its own trace, linked
to the scrape request's span (`inject`).

Tracing is off unless `configure` is called with an OTLP endpoint
(``LEADSTREAM_OTLP_ENDPOINT``, e.g. Jaeger's ``http://127.0.0.1:4318``): without a
tracer provider the OpenTelemetry API is a no-op, and only the trace id reaches
the logs (`TraceIdLogFilter`) — it always does, tracing on or off.
"""

from __future__ import annotations

import contextlib
import contextvars
import logging
from collections.abc import Iterator
from typing import Any

from opentelemetry import trace
from opentelemetry.trace import Link, NonRecordingSpan, SpanContext, SpanKind
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

from streams.envelope import Envelope

H_TRACEPARENT = "traceparent"
TRACER_NAME = "leadstream"

log = logging.getLogger(__name__)

_PROPAGATOR = TraceContextTextMapPropagator()
# The trace id of the event being handled: what log lines carry, and the id a root span must take.
CURRENT_TRACE_ID: contextvars.ContextVar[str | None] = contextvars.ContextVar("leadstream_trace_id", default=None)
_FORCED_TRACE_ID: contextvars.ContextVar[int | None] = contextvars.ContextVar("leadstream_forced_trace", default=None)
_provider: Any = None  # the SDK TracerProvider once configured
_ROOT = trace.set_span_in_context(trace.INVALID_SPAN)  # a context with no parent: the next span is a root


_TRACER: tuple[Any, trace.Tracer] | None = None  # (provider, its tracer): the SDK builds a new one per call


def tracer() -> trace.Tracer:
    global _TRACER
    provider = _provider
    if provider is None:
        return trace.get_tracer(TRACER_NAME)
    if _TRACER is None or _TRACER[0] is not provider:
        _TRACER = (provider, provider.get_tracer(TRACER_NAME))
    return _TRACER[1]


def enabled() -> bool:
    return _provider is not None


def configure(
    service_name: str, endpoint: str | None, *, exporter: Any = None, batch: bool = True, sample_ratio: float = 1.0
) -> Any:
    """Install the SDK tracer provider exporting to `endpoint` (OTLP over HTTP, ``/v1/traces``), or to
    `exporter` (tests). Returns the provider; None (tracing stays off) when neither is given.

    `sample_ratio` < 1 keeps that share of the leads' traces, each whole or not at all: a trace's root
    span (the first stage's, whose trace id is the lead's) is kept by its trace id (OpenTelemetry's
    `TraceIdRatioBased`), and every later span follows its parent's decision, carried in ``traceparent``'s
    sampled flag. A lead left out costs no export and no span of its own, only its non-recording context.
    """
    global _provider
    if not endpoint and exporter is None:
        return None
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor, SimpleSpanProcessor
    from opentelemetry.sdk.trace.id_generator import RandomIdGenerator
    from opentelemetry.sdk.trace.sampling import ALWAYS_ON, ParentBased, TraceIdRatioBased

    class LeadTraceIds(RandomIdGenerator):
        """Root spans take the lead's trace id (from its ``trace-id`` header) when there is one."""

        def generate_trace_id(self) -> int:
            forced = _FORCED_TRACE_ID.get()
            return forced if forced else super().generate_trace_id()

    if exporter is None:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        exporter = OTLPSpanExporter(endpoint=endpoint.rstrip("/") + "/v1/traces")  # type: ignore[union-attr]
    root = ALWAYS_ON if sample_ratio >= 1 else TraceIdRatioBased(max(0.0, sample_ratio))
    provider = TracerProvider(
        resource=Resource.create({"service.name": service_name}), id_generator=LeadTraceIds(), sampler=ParentBased(root)
    )
    provider.add_span_processor(BatchSpanProcessor(exporter) if batch else SimpleSpanProcessor(exporter))
    if _provider is None:
        trace.set_tracer_provider(provider)  # the global (providers' child spans use it) is set once per process
    _provider = provider
    return provider


def shutdown() -> None:
    """Flush the exporter (at worker shutdown)."""
    if _provider is not None:
        with contextlib.suppress(Exception):
            _provider.force_flush(5_000)


def disable() -> None:
    """Tracing off again (tests, the overhead benchmark)."""
    global _provider
    shutdown()
    _provider = None


def _trace_int(trace_id: str) -> int | None:
    try:
        value = int(trace_id, 16)
    except ValueError:
        return None
    return value if len(trace_id) == 32 and value else None


def _parent(env: Envelope) -> SpanContext | None:
    """The previous stage's span, from the event's ``traceparent`` when it belongs to the lead's trace."""
    header = env.headers.get(H_TRACEPARENT)
    if not header:
        return None
    ctx = trace.get_current_span(_PROPAGATOR.extract({H_TRACEPARENT: header})).get_span_context()
    if not ctx.is_valid or format(ctx.trace_id, "032x") != env.trace_id:
        return None
    return ctx


@contextlib.contextmanager
def stage_span(stage: str, env: Envelope) -> Iterator[None]:
    """Handle `env` inside the span of `stage` (child of the previous stage's span); its trace id in the logs."""
    token = CURRENT_TRACE_ID.set(env.trace_id)
    try:
        if _provider is None:
            yield
            return
        parent = _parent(env)
        if parent is not None and not parent.trace_flags.sampled:  # a trace left out (`configure`'s sample_ratio)
            env.span_context = parent  # passed on as is: the next stage leaves it out too
            with trace.use_span(NonRecordingSpan(parent)):  # provider calls follow it (no orphan root spans)
                yield
            return
        span = _start(
            stage,
            None if parent else env.trace_id,
            trace.set_span_in_context(NonRecordingSpan(parent)) if parent else _ROOT,
            SpanKind.CONSUMER,
            {
                "leadstream.stage": stage,
                "leadstream.lead_id": env.lead_id or "",
                "messaging.system": "kafka",
                "messaging.destination.name": env.topic,
                "messaging.kafka.partition": env.partition,
                "messaging.kafka.offset": env.offset,
            },
        )
        env.span_context = span.get_span_context()
        with trace.use_span(span, end_on_exit=True):
            yield
    finally:
        CURRENT_TRACE_ID.reset(token)


def _start(
    name: str, trace_id: str | None, context: Any, kind: SpanKind, attributes: dict[str, Any], links: Any = None
) -> trace.Span:
    """Start a span; a root span (no parent in `context`) takes `trace_id` when it is a valid one."""
    forced = _FORCED_TRACE_ID.set(_trace_int(trace_id) if trace_id else None)
    try:
        return tracer().start_span(name, context=context, kind=kind, attributes=attributes, links=links)
    finally:
        _FORCED_TRACE_ID.reset(forced)


@contextlib.contextmanager
def child_span(name: str, **attributes: Any) -> Iterator[None]:
    """A span under the current one (a provider call); nothing when tracing is off."""
    if _provider is None:
        yield
        return
    with tracer().start_as_current_span(name, kind=SpanKind.CLIENT, attributes=attributes):
        yield


def inject(headers: dict[str, bytes], env: Envelope, stage: str = "") -> dict[str, bytes]:
    """`headers` of an output of `env`, with the ``traceparent`` of the span the next stage continues.

    * same trace as the event: the stage's span;
    * a new trace (a lead the scrape stage found): a root span of `stage` in that trace, linked to the
      event's span, so the lead's own trace starts at the stage that created it;
    * tracing off here: the event's own ``traceparent`` is passed on when the trace is the same.
    """
    trace_id = headers.get("trace-id", b"").decode()
    ctx: SpanContext | None = getattr(env, "span_context", None)
    if _provider is None:
        incoming = env.headers.get(H_TRACEPARENT)
        if incoming and trace_id == env.trace_id:
            return {**headers, H_TRACEPARENT: incoming.encode()}
        return headers
    if trace_id != env.trace_id:
        span = _start(
            stage or "emit",
            trace_id,
            _ROOT,
            SpanKind.PRODUCER,
            {"leadstream.stage": stage, "leadstream.lead_id": headers.get("lead-id", b"").decode()},
            [Link(ctx)] if ctx is not None and ctx.is_valid else None,
        )
        span.end()
        ctx = span.get_span_context()
    if ctx is None or not ctx.is_valid:
        return headers
    carrier: dict[str, str] = {}
    _PROPAGATOR.inject(carrier, trace.set_span_in_context(NonRecordingSpan(ctx)))
    return {**headers, H_TRACEPARENT: carrier[H_TRACEPARENT].encode()} if H_TRACEPARENT in carrier else headers


class TraceIdLogFilter(logging.Filter):
    """Adds ``trace_id`` to every record handled for an event, and appends it to the message, so
    any formatter (Faust's included) prints it: ``... trace_id=4bf92f35...``."""

    def filter(self, record: logging.LogRecord) -> bool:
        trace_id = CURRENT_TRACE_ID.get()
        record.trace_id = trace_id or ""
        if trace_id and not getattr(record, "_trace_appended", False):
            record.msg = f"{record.getMessage()} trace_id={trace_id}"
            record.args = ()
            record._trace_appended = True
        return True


_FILTER = TraceIdLogFilter()


def install_log_trace_ids() -> None:
    """Put `TraceIdLogFilter` on the root logger's handlers (call after logging is set up)."""
    root = logging.getLogger()
    for handler in root.handlers:
        if _FILTER not in handler.filters:
            handler.addFilter(_FILTER)


__all__ = [
    "CURRENT_TRACE_ID",
    "H_TRACEPARENT",
    "TraceIdLogFilter",
    "child_span",
    "configure",
    "enabled",
    "inject",
    "install_log_trace_ids",
    "stage_span",
]
