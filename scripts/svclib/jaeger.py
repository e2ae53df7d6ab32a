"""Jaeger v1.76.0 all-in-one (OpenTelemetry-collector based), in-memory storage, loopback only.

The binary is built once by scripts/install-jaeger into ~/.cache/leadstream/bin/jaeger
(never into the repo). It runs with a config of our own instead of the embedded
all-in-one one, which listens on ~15 ports (Jaeger/Zipkin receivers, sampling, zpages,
expvar, health, metrics) on their well-known numbers. Ours keeps only:
  OTLP gRPC   127.0.0.1:JAEGER_OTLP_GRPC_PORT  (default 14317; Jaeger's own default 4317)
  OTLP HTTP   127.0.0.1:JAEGER_OTLP_HTTP_PORT  (default 14318; 4318)
  query HTTP  127.0.0.1:JAEGER_QUERY_PORT      (default 16786; 16686) - UI and /api/traces
  query gRPC  127.0.0.1:JAEGER_QUERY_GRPC_PORT (default 16785; 16685)
Its own telemetry is off (level: none), so it opens no metrics port.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from .common import (
    HOST,
    JAEGER_OTLP_GRPC_PORT,
    JAEGER_OTLP_HTTP_PORT,
    JAEGER_QUERY_GRPC_PORT,
    JAEGER_QUERY_PORT,
    REPO,
    STATE,
    Daemon,
    ServiceError,
    http_json,
    require_free,
    wait_until,
)

HOME = STATE / "jaeger"
CACHE = Path(os.environ.get("LEADSTREAM_CACHE") or Path.home() / ".cache" / "leadstream")
BINARY = CACHE / "bin" / "jaeger"
DAEMON = Daemon("jaeger", HOME, str(HOME / "jaeger.yaml"))
MAX_TRACES = int(os.environ.get("LEADSTREAM_SVC_JAEGER_MAX_TRACES", "50000"))

CONFIG = f"""# Written by scripts/services on every start; edits are lost.
service:
  extensions: [jaeger_storage, jaeger_query]
  pipelines:
    traces:
      receivers: [otlp]
      processors: [batch]
      exporters: [jaeger_storage_exporter]
  telemetry:
    resource:
      service.name: jaeger
    metrics:
      level: none
    logs:
      level: warn

extensions:
  jaeger_storage:
    backends:
      memstore:
        memory:
          max_traces: {MAX_TRACES}
  jaeger_query:
    storage:
      traces: memstore
    http:
      endpoint: {HOST}:{JAEGER_QUERY_PORT}
    grpc:
      endpoint: {HOST}:{JAEGER_QUERY_GRPC_PORT}

receivers:
  otlp:
    protocols:
      grpc:
        endpoint: {HOST}:{JAEGER_OTLP_GRPC_PORT}
      http:
        endpoint: {HOST}:{JAEGER_OTLP_HTTP_PORT}

processors:
  batch:
    timeout: 200ms

exporters:
  jaeger_storage_exporter:
    trace_storage: memstore
"""


def query_url() -> str:
    return f"http://{HOST}:{JAEGER_QUERY_PORT}"


def otlp_endpoint() -> str:
    """OTLP/HTTP base URL; the span exporter posts to <this>/v1/traces."""
    return f"http://{HOST}:{JAEGER_OTLP_HTTP_PORT}"


def _ready() -> bool:
    answer = http_json(f"{query_url()}/api/services", timeout=2)
    return isinstance(answer, dict) and "data" in answer


def up() -> bool:
    if DAEMON.pid():
        return False
    if not BINARY.exists():
        raise ServiceError(
            f"{BINARY} not found: build it once with scripts/install-jaeger "
            "(or scripts/install-deps --go-tools); it takes ~6 minutes"
        )
    require_free(
        JAEGER_OTLP_GRPC_PORT,
        JAEGER_OTLP_HTTP_PORT,
        JAEGER_QUERY_PORT,
        JAEGER_QUERY_GRPC_PORT,
        variables="LEADSTREAM_SVC_JAEGER_{OTLP_GRPC,OTLP_HTTP,QUERY,QUERY_GRPC}_PORT",
    )
    HOME.mkdir(parents=True, exist_ok=True)
    (HOME / "jaeger.yaml").write_text(CONFIG)
    DAEMON.spawn([str(BINARY), "--config", str(HOME / "jaeger.yaml")], cwd=HOME)
    wait_until(_ready, 60, f"Jaeger query API on {query_url()}", alive=DAEMON.alive, log=DAEMON.log)
    return True


def down() -> bool:
    return DAEMON.stop()


def wipe() -> None:
    shutil.rmtree(HOME, ignore_errors=True)


def status() -> tuple[bool, str]:
    return DAEMON.status(f"OTLP {otlp_endpoint()}, query {query_url()}")


def pids() -> list[int]:
    return [p for p in [DAEMON.pid()] if p]


def env() -> dict[str, str]:
    return {"LEADSTREAM_OTLP_ENDPOINT": otlp_endpoint(), "LEADSTREAM_JAEGER_QUERY_URL": query_url()}


def install_command() -> list[str]:
    return ["bash", str(REPO / "scripts" / "install-jaeger")]
