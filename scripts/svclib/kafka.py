"""Apache Kafka 4.x in KRaft mode, from Maven Central jars: one node, or the nodes of a cluster.

Jars come from scripts/kafka/pom.xml via `mvn dependency:copy-dependencies`
(~/.m2 caches them), so no tarball download and no Docker are needed. This
module runs the single broker the normal suite uses; kafka_cluster.py runs
three more nodes of the same code beside it.
"""

from __future__ import annotations

import base64
import hashlib
import os
import shutil
import socket
import struct
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

from .common import (
    HOST,
    KAFKA_CONTROLLER_PORT,
    KAFKA_PORT,
    REPO,
    STATE,
    Daemon,
    ServiceError,
    require_free,
    run,
    tail,
    wait_until,
)

POM = REPO / "scripts" / "kafka" / "pom.xml"
LIBS = STATE / "kafka" / "libs"  # shared by the single broker and the cluster's nodes
MARKER = "kafka.Kafka"  # identifies our brokers in /proc/<pid>/cmdline
START_TIMEOUT = float(os.environ.get("LEADSTREAM_SVC_KAFKA_TIMEOUT", "120"))

# G1 with short pauses; -Xms low so an idle node does not commit its whole heap.
GC_FLAGS = [
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

COMMON_SETTINGS = """\
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
# Topics auto-created by Faust/tests get 12 partitions.
num.partitions=12
auto.create.topics.enable=true
offsets.topic.num.partitions=12
transaction.state.log.num.partitions=12
# Tests join groups constantly: do not wait 3 s for more members.
group.initial.rebalance.delay.ms=0
# Small box: few threads, small segments.
num.network.threads=2
num.io.threads=4
log.segment.bytes=67108864
"""

SINGLE_NODE_SETTINGS = """\
# One node: every internal topic must fit it, or groups/transactions/share groups never start.
default.replication.factor=1
offsets.topic.replication.factor=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
"""


@dataclass
class KafkaNode:
    """One combined broker+controller process with its own node id, ports, config and log dir."""

    home: Path
    node_id: int
    port: int
    controller_port: int
    # Either "--standalone" (a quorum of one) or the static voter set "1@h:p,2@h:p,...".
    voters: str | None
    settings: str
    heap: str = "512m"
    port_variables: str = "LEADSTREAM_SVC_KAFKA_PORT / LEADSTREAM_SVC_KAFKA_CONTROLLER_PORT"

    @property
    def data(self) -> Path:
        return self.home / "data"

    @property
    def logs(self) -> Path:
        return self.home / "logs"

    @property
    def config(self) -> Path:
        return self.home / "server.properties"

    @property
    def daemon(self) -> Daemon:
        return Daemon("kafka", self.home, MARKER)

    @property
    def bootstrap(self) -> str:
        return f"{HOST}:{self.port}"

    def _write_config(self) -> None:
        self.logs.mkdir(parents=True, exist_ok=True)
        quorum = (
            f"controller.quorum.voters={self.voters}"
            if self.voters
            else f"controller.quorum.bootstrap.servers={HOST}:{self.controller_port}"
        )
        self.config.write_text(f"""# Written by scripts/services on every start; edits are lost.
process.roles=broker,controller
node.id={self.node_id}
{quorum}
listeners=PLAINTEXT://{HOST}:{self.port},CONTROLLER://{HOST}:{self.controller_port}
advertised.listeners=PLAINTEXT://{HOST}:{self.port}
log.dirs={self.data}
{COMMON_SETTINGS}{self.settings}""")
        (self.home / "log4j2.xml").write_text(LOG4J_XML.format(log=self.logs / "kafka.log"))

    def format_storage(self, cluster_id: str, layout: str) -> None:
        """Format the KRaft log dir once; reformat (wiping data) when the cluster id or `layout` changed.

        `layout` is the ports (and voters) the storage was formatted for: a node whose
        ports changed would not find its quorum, so it starts over.
        """
        stamp = self.data / ".formatted-for"
        if self.formatted_cluster_id() == cluster_id and stamp.exists() and stamp.read_text() == layout:
            return
        shutil.rmtree(self.data, ignore_errors=True)
        self._write_config()
        extra = [] if self.voters else ["--standalone"]
        run(
            [
                java(),
                "-Xmx256m",
                f"-Dlog4j2.configurationFile={self.home / 'log4j2.xml'}",
                "-cp",
                f"{LIBS}/*",
                "kafka.tools.StorageTool",
                "format",
                "-t",
                cluster_id,
                "-c",
                str(self.config),
                *extra,
            ],
            f"formatting Kafka storage of node {self.node_id}",
        )
        stamp.write_text(layout)

    def formatted_cluster_id(self) -> str | None:
        try:
            lines = (self.data / "meta.properties").read_text().splitlines()
        except OSError:
            return None
        return next((line.split("=", 1)[1].strip() for line in lines if line.startswith("cluster.id=")), None)

    def start(self) -> bool:
        """Launch the node in the background (no waiting). Returns False if it was already running."""
        if self.daemon.pid():
            return False
        require_free(self.port, self.controller_port, variables=self.port_variables)
        fetch_jars()
        self._write_config()
        env = dict(os.environ, LOG_DIR=str(self.logs))
        self.daemon.spawn(
            [
                java(),
                f"-Xmx{self.heap}",
                "-Xms64m",
                *GC_FLAGS,
                f"-Dkafka.logs.dir={self.logs}",
                f"-Dlog4j2.configurationFile={self.home / 'log4j2.xml'}",
                "-cp",
                f"{LIBS}/*",
                MARKER,
                str(self.config),
            ],
            env=env,
        )
        return True

    def wait_ready(self, timeout: float = START_TIMEOUT, brokers: int = 1) -> float:
        """Block until the node answers Metadata listing `brokers` brokers; returns seconds waited."""
        began = time.monotonic()
        wait_until(
            lambda: len(metadata(self.port).brokers) >= brokers,
            timeout,
            f"Kafka node {self.node_id} on {self.bootstrap}",
            interval=0.25,
            alive=self.daemon.alive,
            log=self.logs / "kafka.log",
        )
        return time.monotonic() - began

    def log_tails(self) -> str:
        return "\n".join(f"--- {p}\n{tail(p)}" for p in (self.logs / "kafka.log", self.daemon.log))


def java() -> str:
    home = os.environ.get("JAVA_HOME")
    path = str(Path(home) / "bin" / "java") if home else shutil.which("java")
    if not path or not Path(path).exists():
        raise ServiceError("java not found: Kafka needs a JDK 17+ (JAVA_HOME or java on PATH)")
    return path


def fetch_jars() -> None:
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


def new_cluster_id() -> str:
    """A random base64 UUID, as `kafka-storage random-uuid` makes; never with a leading '-',
    which the storage tool's argument parser would take for an option."""
    while True:
        cluster_id = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
        if not cluster_id.startswith("-"):
            return cluster_id


# ---- Metadata over a raw socket (stdlib only: this runs before `pip install`) -------------


@dataclass
class PartitionInfo:
    topic: str
    partition: int
    leader: int
    replicas: list[int]
    isr: list[int]


@dataclass
class Metadata:
    brokers: dict[int, str]  # node id -> host:port
    controller: int
    partitions: list[PartitionInfo]

    def under_replicated(self) -> list[PartitionInfo]:
        return [p for p in self.partitions if set(p.isr) != set(p.replicas) or p.leader < 0]


def metadata(port: int, all_topics: bool = False, timeout: float = 3.0) -> Metadata:
    """Send a Metadata v4 request and decode the answer.

    A bound port is not enough: the broker accepts TCP before it has joined the
    KRaft quorum. A Metadata answer listing brokers means it is serving.
    """
    topics = struct.pack(">i", -1 if all_topics else 0)  # null array = all topics; empty = none
    body = topics + struct.pack(">b", 0)  # allow_auto_topic_creation: false
    client = b"leadstream-services"
    header = struct.pack(">hhih", 3, 4, 1, len(client)) + client  # api_key=3 (Metadata), v4, corr id 1
    request = header + body
    with socket.create_connection((HOST, port), timeout=timeout) as sock:
        sock.settimeout(timeout)
        sock.sendall(struct.pack(">i", len(request)) + request)
        size = struct.unpack(">i", _recv_exact(sock, 4))[0]
        return _decode_metadata(_Reader(_recv_exact(sock, size)))


class _Reader:
    def __init__(self, data: bytes):
        self.data, self.at = data, 0

    def take(self, fmt: str):
        values = struct.unpack_from(fmt, self.data, self.at)
        self.at += struct.calcsize(fmt)
        return values[0] if len(values) == 1 else values

    def string(self) -> str | None:
        n = self.take(">h")
        if n < 0:
            return None
        value = self.data[self.at : self.at + n].decode()
        self.at += n
        return value

    def int_array(self) -> list[int]:
        return [self.take(">i") for _ in range(max(self.take(">i"), 0))]


def _decode_metadata(r: _Reader) -> Metadata:
    r.take(">i")  # correlation id
    r.take(">i")  # throttle time
    brokers = {}
    for _ in range(r.take(">i")):
        node_id, host, port = r.take(">i"), r.string(), r.take(">i")
        r.string()  # rack
        brokers[node_id] = f"{host}:{port}"
    r.string()  # cluster id
    controller = r.take(">i")
    partitions = []
    for _ in range(max(r.take(">i"), 0)):
        r.take(">h")  # topic error code
        topic = r.string() or ""
        r.take(">b")  # is_internal
        for _ in range(max(r.take(">i"), 0)):
            r.take(">h")  # partition error code
            index, leader = r.take(">i"), r.take(">i")
            replicas, isr = r.int_array(), r.int_array()
            partitions.append(PartitionInfo(topic, index, leader, replicas, isr))
    return Metadata(brokers, controller, partitions)


def _recv_exact(sock: socket.socket, n: int) -> bytes:
    buf = b""
    while len(buf) < n:
        chunk = sock.recv(n - len(buf))
        if not chunk:
            raise ConnectionError("broker closed the connection")
        buf += chunk
    return buf


# ---- The single broker the normal suite uses ------------------------------------------------

NODE = KafkaNode(
    home=STATE / "kafka",
    node_id=1,
    port=KAFKA_PORT,
    controller_port=KAFKA_CONTROLLER_PORT,
    voters=None,
    settings=SINGLE_NODE_SETTINGS,
)


def start() -> bool:
    """Launch the broker (formatting its storage on first use) without waiting for it."""
    if NODE.daemon.pid():
        return False
    NODE.home.mkdir(parents=True, exist_ok=True)
    fetch_jars()
    NODE.format_storage(NODE.formatted_cluster_id() or new_cluster_id(), f"{KAFKA_PORT} {KAFKA_CONTROLLER_PORT}")
    return NODE.start()


def wait_ready(timeout: float = START_TIMEOUT) -> float:
    return NODE.wait_ready(timeout)


def up() -> bool:
    launched = start()
    wait_ready()
    return launched


def down() -> bool:
    return NODE.daemon.stop(timeout=60)  # SIGTERM = controlled shutdown, usually a few seconds


def wipe() -> None:
    """Drop all topics and offsets (keeps the downloaded jars). Call only when stopped."""
    shutil.rmtree(NODE.data, ignore_errors=True)


def status() -> tuple[bool, str]:
    return NODE.daemon.status(NODE.bootstrap)


def pids() -> list[int]:
    return [p for p in [NODE.daemon.pid()] if p]


def url() -> str:
    return f"kafka://{NODE.bootstrap}"


def env() -> dict[str, str]:
    return {"LEADSTREAM_KAFKA_BROKER": url()}
