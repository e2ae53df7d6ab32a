"""The environment of a real `leadstream worker` subprocess that tests start: its own app id, topics and data dir."""

from __future__ import annotations

import os
from pathlib import Path

from leadstream.embedded import free_port


def worker_env(kafka_broker: str, prefix: str, tmp_path: Path, **extra: str) -> dict[str, str]:
    """A dedupe+score worker on 2 partitions with memory storage and no Redis, named `prefix`; `extra` overrides."""
    return {
        **os.environ,
        "LEADSTREAM_KAFKA_BROKER": kafka_broker,
        "LEADSTREAM_APP_ID": prefix,
        "LEADSTREAM_TOPIC_PREFIX": f"{prefix}.",
        "LEADSTREAM_PARTITIONS": "2",
        "LEADSTREAM_STAGES": "dedupe,score",
        "LEADSTREAM_DEDUPE_LLM": "false",
        "LEADSTREAM_REDIS_URL": "",
        "LEADSTREAM_STORE": "memory://",
        "LEADSTREAM_WEB_PORT": str(free_port()),
        "LEADSTREAM_DATA_DIR": str(tmp_path / "data"),
        **extra,
    }
