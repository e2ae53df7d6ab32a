"""Run the API with uvicorn (`leadstream api`): one process, or N sharing one port.

With N > 1 (`LEADSTREAM_API__WORKERS`, `leadstream api --workers N`; 0 means one per core) uvicorn's
supervisor binds the port once and starts N processes that accept on that socket; it restarts one
that dies. Each process builds its own app from the environment (`app_from_environment`): its own
PostgreSQL pools, Kafka producer, key cache and stats cache. The per-key rate limits stay shared
through Redis.
"""

from __future__ import annotations

from typing import Any

import uvicorn
from fastapi import FastAPI

from config import Settings, get_settings
from config.redact import install_log_redaction
from leadstream.api.app import create_app


def app_from_environment() -> FastAPI:
    """The app of one server process, from the LEADSTREAM_* environment (uvicorn's factory)."""
    install_log_redaction()  # a spawned process did not pass through the CLI's main()
    return create_app(get_settings())


def serve(
    settings: Settings,
    *,
    host: str | None = None,
    port: int | None = None,
    workers: int | None = None,
    workers_log: str = "warning",
) -> None:
    """Serve until SIGINT/SIGTERM. `workers` overrides `settings.api.workers` (0: one per core)."""
    api = settings.api if workers is None else settings.api.model_copy(update={"workers": workers})
    processes = api.process_count()
    common: dict[str, Any] = {
        "host": host or settings.api.bind,
        "port": port or settings.api.port,
        "log_level": workers_log,
        "access_log": False,
        "server_header": False,
        "proxy_headers": False,
        "lifespan": "on",
    }
    if processes == 1:
        uvicorn.Server(uvicorn.Config(create_app(settings), **common)).run()
        return
    # Several processes: uvicorn needs an import string; each process reads the same environment
    # that `settings` came from (the CLI builds it from the environment only, with nothing overridden).
    uvicorn.run("leadstream.api.server:app_from_environment", factory=True, workers=processes, **common)
