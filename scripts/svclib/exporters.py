"""Debian's prometheus-postgres-exporter and prometheus-redis-exporter, on loopback ports of their own.

Each registers itself with Prometheus (file_sd job `postgres` / `redis`) when it starts
and unregisters when it stops, so Prometheus need not run first.
"""

from __future__ import annotations

import os
import shutil
import urllib.request
from dataclasses import dataclass, field

from .common import (
    HOST,
    PG_PORT,
    POSTGRES_EXPORTER_PORT,
    REDIS_EXPORTER_PORT,
    REDIS_PORT,
    STATE,
    Daemon,
    ServiceError,
    require_free,
    wait_until,
)
from .prometheus import register_scrape_target, unregister_scrape_target


@dataclass
class Exporter:
    name: str  # service name in scripts/services
    binary: str
    port: int
    job: str  # Prometheus job it is scraped as
    up_metric: str  # "<metric> 1" in its output means it reaches what it exports
    args: list[str]
    env: dict[str, str] = field(default_factory=dict)

    @property
    def daemon(self) -> Daemon:
        return Daemon(self.name, STATE / "exporters", f"{HOST}:{self.port}")

    @property
    def host_port(self) -> str:
        return f"{HOST}:{self.port}"

    def metrics(self) -> str:
        with urllib.request.urlopen(f"http://{self.host_port}/metrics", timeout=5) as response:
            return response.read().decode()

    def up(self) -> bool:
        if self.daemon.pid():
            register_scrape_target(self.job, self.host_port)
            return False
        binary = shutil.which(self.binary)
        if not binary:
            raise ServiceError(f"{self.binary} not found: run scripts/install-deps (Debian package {self.binary})")
        require_free(self.port, variables=f"LEADSTREAM_SVC_{self.name.upper().replace('-', '_')}_PORT")
        self.daemon.spawn([binary, *self.args], env={**os.environ, **self.env})
        wait_until(
            lambda: f"\n{self.up_metric} 1" in self.metrics(),
            30,
            f"{self.name} on {self.host_port} reporting {self.up_metric} 1",
            alive=self.daemon.alive,
            log=self.daemon.log,
        )
        register_scrape_target(self.job, self.host_port)
        return True

    def down(self) -> bool:
        unregister_scrape_target(self.job, self.host_port)
        return self.daemon.stop()

    def status(self) -> tuple[bool, str]:
        return self.daemon.status(f"http://{self.host_port}/metrics, job {self.job}")

    def pids(self) -> list[int]:
        return [p for p in [self.daemon.pid()] if p]


POSTGRES_EXPORTER = Exporter(
    "postgres-exporter",
    "prometheus-postgres-exporter",
    POSTGRES_EXPORTER_PORT,
    "postgres",
    "pg_up",
    [f"--web.listen-address={HOST}:{POSTGRES_EXPORTER_PORT}", "--log.level=warn"],
    # The superuser over loopback trust, like every other client of the test primary.
    {"DATA_SOURCE_NAME": f"postgresql://postgres@{HOST}:{PG_PORT}/postgres?sslmode=disable"},
)
REDIS_EXPORTER = Exporter(
    "redis-exporter",
    "prometheus-redis-exporter",
    REDIS_EXPORTER_PORT,
    "redis",
    "redis_up",
    [f"-redis.addr=redis://{HOST}:{REDIS_PORT}", f"-web.listen-address={HOST}:{REDIS_EXPORTER_PORT}"],
)


def wipe() -> None:
    shutil.rmtree(STATE / "exporters", ignore_errors=True)
