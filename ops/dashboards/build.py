"""The four Grafana dashboards, built with grafana-foundation-sdk.

Every query uses only the metric names of METRICS.md. Panels that have an
operating limit draw it as a threshold line (KEDA lag targets, the e2e p95
target, the email auto-pause rates), so the picture says whether to worry.
Each dashboard is one module (``pipeline``, ``kafka_lag``, ``providers``,
``email``) written in the vocabulary of ``panels``.
``python -m ops.generate`` writes them to ``ops/dashboards/<uid>.json``.
"""

from __future__ import annotations

import json
from collections.abc import Callable

from grafana_foundation_sdk.builders import dashboard as db
from grafana_foundation_sdk.cog.encoder import JSONEncoder

from ops.dashboards.email import email_health
from ops.dashboards.kafka_lag import kafka_lag
from ops.dashboards.pipeline import pipeline_overview
from ops.dashboards.providers import providers

DASHBOARDS: dict[str, Callable[[], db.Dashboard]] = {
    "leadstream-pipeline": pipeline_overview,
    "leadstream-kafka-lag": kafka_lag,
    "leadstream-providers": providers,
    "leadstream-email": email_health,
}


def render(name: str) -> str:
    """The dashboard as the JSON text committed under ops/dashboards/."""
    built = DASHBOARDS[name]().build()
    return json.dumps(built, cls=JSONEncoder, indent=2, sort_keys=True) + "\n"
