"""Debian's prometheus-alertmanager on loopback: receives Prometheus' alerts, sends them nowhere.

Its one receiver is a sink, so tests read fired alerts from /api/v2/alerts. Gossip
clustering is off (it would listen on 0.0.0.0:9094). Prometheus finds it through the
file_sd target .services/prometheus/targets/alertmanager--<host>_<port>.json.
"""

from __future__ import annotations

import shutil
import urllib.request

from .common import ALERTMANAGER_PORT, HOST, STATE, Daemon, ServiceError, require_free, wait_until
from .prometheus import register_scrape_target, unregister_scrape_target

HOME = STATE / "alertmanager"
DAEMON = Daemon("alertmanager", HOME, f"{HOST}:{ALERTMANAGER_PORT}")
CONFIG = """# Written by scripts/services on every start; edits are lost.
route:
  receiver: sink
  group_wait: 1s
  group_interval: 2s
  repeat_interval: 1h
receivers:
  - name: sink
"""


def _ready() -> bool:
    with urllib.request.urlopen(f"{url()}/-/ready", timeout=2) as response:
        return response.status == 200


def _register() -> None:
    register_scrape_target("alertmanager", f"{HOST}:{ALERTMANAGER_PORT}")


def up() -> bool:
    if DAEMON.pid():
        _register()
        return False
    binary = shutil.which("prometheus-alertmanager")
    if not binary:
        raise ServiceError("prometheus-alertmanager not found: run scripts/install-deps")
    require_free(ALERTMANAGER_PORT, variables="LEADSTREAM_SVC_ALERTMANAGER_PORT")
    (HOME / "data").mkdir(parents=True, exist_ok=True)
    (HOME / "alertmanager.yml").write_text(CONFIG)
    DAEMON.spawn(
        [
            binary,
            f"--config.file={HOME / 'alertmanager.yml'}",
            f"--storage.path={HOME / 'data'}",
            f"--web.listen-address={HOST}:{ALERTMANAGER_PORT}",
            "--cluster.listen-address=",
            "--log.level=warn",
        ]
    )
    wait_until(_ready, 30, f"Alertmanager on {HOST}:{ALERTMANAGER_PORT}", alive=DAEMON.alive, log=DAEMON.log)
    _register()
    return True


def down() -> bool:
    unregister_scrape_target("alertmanager", f"{HOST}:{ALERTMANAGER_PORT}")
    return DAEMON.stop()


def wipe() -> None:
    shutil.rmtree(HOME, ignore_errors=True)


def status() -> tuple[bool, str]:
    return DAEMON.status(url())


def pids() -> list[int]:
    return [p for p in [DAEMON.pid()] if p]


def url() -> str:
    return f"http://{HOST}:{ALERTMANAGER_PORT}"


def env() -> dict[str, str]:
    return {"LEADSTREAM_ALERTMANAGER_URL": url()}
