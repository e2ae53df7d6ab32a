"""Apache Kafka 4.x, single node in KRaft mode, from Maven Central jars.

Jars come from scripts/kafka/pom.xml via `mvn dependency:copy-dependencies`
(~/.m2 caches them), so no tarball download and no Docker are needed.
"""

from __future__ import annotations

import base64
import hashlib
import os
import shutil
import socket
import struct
import subprocess
import time
import uuid
from pathlib import Path

from .common import (
    HOST,
    KAFKA_CONTROLLER_PORT,
    KAFKA_PORT,
    REPO,
    STATE,
    ServiceError,
    pid_alive,
    pid_matches,
    port_open,
    read_pid,
    rss_mb,
    run,
    stop_pid,
    tail,
)

POM = REPO / "scripts" / "kafka" / "pom.xml"
HOME = STATE / "kafka"
LIBS = HOME / "libs"
DATA = HOME / "data"
LOGS = HOME / "logs"
PIDFILE = HOME / "kafka.pid"
CONFIG = HOME / "server.properties"
LOG4J = HOME / "log4j2.xml"
FORMAT_STAMP = DATA / ".formatted-for"  # ports the storage was formatted with
MARKER = "kafka.Kafka"  # identifies our broker in /proc/<pid>/cmdline
START_TIMEOUT = float(os.environ.get("LEADSTREAM_SVC_KAFKA_TIMEOUT", "120"))

# Heap per the brief: the 1 GB default is too much on a 2-core/shared box; 512 MB is plenty for tests.
JVM_FLAGS = [
    "-Xmx512m",
    "-Xms256m",
    "-XX:+UseG1GC",
    "-XX:MaxGCPauseMillis=20",
    "-XX:InitiatingHeapOccupancyPercent=35",
    "-XX:+ExitOnOutOfMemoryError",
    "-Djava.awt.headless=true",
]

LOG4J_XML = """<?xml version="1.0" encoding="UTF-8"?>
<!-- Written by scripts/services: WARN and above to a file, nothing on the console. -->
<Configuration status="WARN">
  <Appenders>
    <File name="file" fileName="{log}">
      <PatternLayout pattern="[%d] %p %m (%c)%n"/>
    </File>
  </Appenders>
  <Loggers>
    <Root level="WARN"><AppenderRef ref="file"/></Root>
    <!-- Keep the one INFO line that says the broker is up, handy when reading the log. -->
    <Logger name="kafka.server.KafkaRaftServer" level="INFO"/>
  </Loggers>
</Configuration>
"""


def _java() -> str:
    home = os.environ.get("JAVA_HOME")
    java = str(Path(home) / "bin" / "java") if home else shutil.which("java")
    if not java or not Path(java).exists():
        raise ServiceError("java not found: Kafka needs a JDK 17+ (JAVA_HOME or java on PATH)")
    return java


def _fetch_jars() -> None:
    """Copy the broker's jars into LIBS once; redo it only when the pom changes."""
    stamp = LIBS / ".pom-sha256"
    digest = hashlib.sha256(POM.read_bytes()).hexdigest()
    if stamp.exists() and stamp.read_text() == digest:
        return
    if not shutil.which("mvn"):
        raise ServiceError("mvn not found: it fetches the Kafka jars (apt-get install maven)")
    shutil.rmtree(LIBS, ignore_errors=True)
    run(
        [
            "mvn",
            "-q",
            "-B",
            "-f",
            str(POM),
            "dependency:copy-dependencies",
            f"-DoutputDirectory={LIBS}",
            "-DincludeScope=runtime",
        ],
        "fetching Kafka jars with Maven",
    )
    stamp.write_text(digest)


def _write_config() -> None:
    LOGS.mkdir(parents=True, exist_ok=True)
    CONFIG.write_text(f"""# Written by scripts/services on every `up`; edits are lost.
process.roles=broker,controller
node.id=1
controller.quorum.bootstrap.servers={HOST}:{KAFKA_CONTROLLER_PORT}
listeners=PLAINTEXT://{HOST}:{KAFKA_PORT},CONTROLLER://{HOST}:{KAFKA_CONTROLLER_PORT}
advertised.listeners=PLAINTEXT://{HOST}:{KAFKA_PORT}
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
log.dirs={DATA}
# Topics auto-created by Faust/tests get 12 partitions, one replica (single node).
num.partitions=12
auto.create.topics.enable=true
default.replication.factor=1
# Internal topics must fit one node, or groups/transactions/share groups never start.
offsets.topic.replication.factor=1
offsets.topic.num.partitions=12
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
transaction.state.log.num.partitions=12
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
# Tests join groups constantly: do not wait 3 s for more members.
group.initial.rebalance.delay.ms=0
# Small box: fewer threads, small segments.
num.network.threads=2
num.io.threads=4
log.segment.bytes=67108864
""")
    LOG4J.write_text(LOG4J_XML.format(log=LOGS / "kafka.log"))


def _format_storage() -> None:
    """Format the KRaft log dir once; reformat (wiping data) if the ports changed since."""
    wanted = f"{KAFKA_PORT} {KAFKA_CONTROLLER_PORT}"
    if (DATA / "meta.properties").exists() and FORMAT_STAMP.exists() and FORMAT_STAMP.read_text() == wanted:
        return
    shutil.rmtree(DATA, ignore_errors=True)
    cluster_id = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
    run(
        [
            _java(),
            "-Xmx256m",
            f"-Dlog4j2.configurationFile={LOG4J}",
            "-cp",
            f"{LIBS}/*",
            "kafka.tools.StorageTool",
            "format",
            "-t",
            cluster_id,
            "-c",
            str(CONFIG),
            "--standalone",
        ],
        "formatting Kafka storage",
    )
    FORMAT_STAMP.write_text(wanted)


def _metadata_brokers(timeout: float = 3.0) -> int:
    """Send a Metadata v4 request (stdlib only) and return how many brokers the cluster reports.

    A bound port is not enough: the broker accepts TCP before it has joined
    the KRaft quorum. A Metadata answer listing a broker means it is serving.
    """
    body = struct.pack(">ib", 0, 0)  # topics: empty array; allow_auto_topic_creation: false
    client = b"leadstream-services"
    header = struct.pack(">hhih", 3, 4, 1, len(client)) + client  # api_key=3 (Metadata), v4, corr id 1
    request = header + body
    with socket.create_connection((HOST, KAFKA_PORT), timeout=timeout) as sock:
        sock.settimeout(timeout)
        sock.sendall(struct.pack(">i", len(request)) + request)
        size = struct.unpack(">i", _recv_exact(sock, 4))[0]
        payload = _recv_exact(sock, size)
    _corr, _throttle, brokers = struct.unpack(">iii", payload[:12])
    return brokers


def _recv_exact(sock: socket.socket, n: int) -> bytes:
    buf = b""
    while len(buf) < n:
        chunk = sock.recv(n - len(buf))
        if not chunk:
            raise ConnectionError("broker closed the connection")
        buf += chunk
    return buf


def running_pid() -> int | None:
    pid = read_pid(PIDFILE)
    return pid if pid_matches(pid, MARKER) else None


def start() -> bool:
    """Launch the broker in the background (no waiting). Returns False if it was already running."""
    if running_pid():
        return False
    PIDFILE.unlink(missing_ok=True)
    for p in (KAFKA_PORT, KAFKA_CONTROLLER_PORT):
        if port_open(p):
            raise ServiceError(
                f"port {p} is in use by another process: set LEADSTREAM_SVC_KAFKA_PORT / "
                "LEADSTREAM_SVC_KAFKA_CONTROLLER_PORT to free ports"
            )
    HOME.mkdir(parents=True, exist_ok=True)
    _fetch_jars()
    _write_config()
    _format_storage()
    env = dict(os.environ, LOG_DIR=str(LOGS))
    with open(LOGS / "kafka.out", "ab") as out:
        proc = subprocess.Popen(
            [
                _java(),
                *JVM_FLAGS,
                f"-Dkafka.logs.dir={LOGS}",
                f"-Dlog4j2.configurationFile={LOG4J}",
                "-cp",
                f"{LIBS}/*",
                MARKER,
                str(CONFIG),
            ],
            cwd=HOME,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # survives the calling shell; `down` stops it by pid
        )
    PIDFILE.write_text(str(proc.pid))
    return True


def wait_ready(timeout: float = START_TIMEOUT) -> float:
    """Block until the broker answers Metadata; returns seconds waited. Fails fast if the JVM died."""
    began = time.monotonic()
    last_error: Exception | None = None
    while time.monotonic() - began < timeout:
        if not pid_alive(read_pid(PIDFILE)):
            raise ServiceError(f"Kafka exited during startup. Last lines of its logs:\n{_log_tails()}")
        try:
            if _metadata_brokers() >= 1:
                return time.monotonic() - began
        except (OSError, struct.error) as exc:
            last_error = exc
        time.sleep(0.5)
    raise ServiceError(
        f"Kafka did not answer on {HOST}:{KAFKA_PORT} within {timeout:.0f}s "
        f"(last error: {last_error}). Last lines of its logs:\n{_log_tails()}"
    )


def _log_tails() -> str:
    return f"--- {LOGS / 'kafka.log'}\n{tail(LOGS / 'kafka.log')}\n--- {LOGS / 'kafka.out'}\n{tail(LOGS / 'kafka.out')}"


def down() -> bool:
    pid = running_pid()
    if pid:
        stop_pid(pid, MARKER, timeout=60)  # SIGTERM = controlled shutdown, usually a few seconds
    PIDFILE.unlink(missing_ok=True)
    return pid is not None


def wipe() -> None:
    """Drop all topics and offsets (keeps the downloaded jars). Call only when stopped."""
    shutil.rmtree(DATA, ignore_errors=True)


def status() -> tuple[bool, str]:
    pid = running_pid()
    if not pid:
        return False, "stopped"
    return True, f"running (pid {pid}, {HOST}:{KAFKA_PORT}, RSS {rss_mb(pid)})"


def url() -> str:
    return f"kafka://{HOST}:{KAFKA_PORT}"
