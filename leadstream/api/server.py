"""Run the API with uvicorn (`leadstream api`)."""

from __future__ import annotations

import uvicorn

from config import Settings
from leadstream.api.app import create_app


def serve(
    settings: Settings, *, host: str | None = None, port: int | None = None, workers_log: str = "warning"
) -> None:
    app = create_app(settings)
    config = uvicorn.Config(
        app,
        host=host or settings.api.bind,
        port=port or settings.api.port,
        log_level=workers_log,
        access_log=False,
        server_header=False,
        proxy_headers=False,
        lifespan="on",
    )
    uvicorn.Server(config).run()
