"""A 3-node KRaft cluster for fault tests, beside the single broker the normal suite uses.

Three combined broker+controller nodes share one cluster id and a static voter set.
Topics default to RF 3 with min.insync.replicas=2, so an `acks=all` producer keeps
working while any one node is down. Broker N listens on KAFKA_CLUSTER_PORT+N-1 and
its controller on KAFKA_CLUSTER_CONTROLLER_PORT+N-1.

Chaos API (tests import it from scripts/svclib):
    kill_broker(n)          SIGKILL node n (no controlled shutdown)
    start_broker(n)         start node n again and wait until it serves
    wait_cluster_ready()    every broker registered and no under-replicated partition
    wait_topic_ready(t)     every node knows topic t, each partition led and in sync
    cluster_bootstrap()     "h:p1,h:p2,h:p3" for aiokafka
"""

from __future__ import annotations

import os
import shutil
import signal
import time

from .common import (
    HOST,
    KAFKA_CLUSTER_CONTROLLER_PORT,
    KAFKA_CLUSTER_PORT,
    STATE,
    ServiceError,
    rss_kb,
    wait_ports_released,
    wait_until,
)
from .kafka import START_TIMEOUT, KafkaNode, Metadata, PartitionInfo, fetch_jars, metadata, new_cluster_id

HOME = STATE / "kafka-cluster"
SIZE = 3
HEAP = os.environ.get("LEADSTREAM_SVC_KAFKA_CLUSTER_HEAP", "384m")

CLUSTER_SETTINGS = """\
# Fault-tolerant defaults: RF 3 everywhere, a write needs 2 in-sync copies.
default.replication.factor=3
min.insync.replicas=2
offsets.topic.replication.factor=3
transaction.state.log.replication.factor=3
transaction.state.log.min.isr=2
share.coordinator.state.topic.replication.factor=3
share.coordinator.state.topic.min.isr=2
unclean.leader.election.enable=false
# Notice a dead node in seconds, not the default 9 s (heartbeat every 0.5 s, fenced after 4 s),
# and drop a silent follower from the ISR after 10 s instead of 30 s.
broker.heartbeat.interval.ms=500
broker.session.timeout.ms=4000
replica.lag.time.max.ms=10000
# Let test consumers ask for short sessions (the broker's floor is 6 s by default).
group.min.session.timeout.ms=1000
# Fewer threads per node: three of them share two cores with everything else.
num.replica.fetchers=1
background.threads=2
log.cleaner.threads=1
"""


def _voters() -> str:
    return ",".join(f"{n}@{HOST}:{KAFKA_CLUSTER_CONTROLLER_PORT + n - 1}" for n in range(1, SIZE + 1))


def node(node_id: int) -> KafkaNode:
    if not 1 <= node_id <= SIZE:
        raise ValueError(f"node id {node_id}: the cluster has nodes 1..{SIZE}")
    return KafkaNode(
        home=HOME / f"node-{node_id}",
        node_id=node_id,
        port=KAFKA_CLUSTER_PORT + node_id - 1,
        controller_port=KAFKA_CLUSTER_CONTROLLER_PORT + node_id - 1,
        voters=_voters(),
        settings=CLUSTER_SETTINGS,
        heap=HEAP,
        port_variables="LEADSTREAM_SVC_KAFKA_CLUSTER_PORT / LEADSTREAM_SVC_KAFKA_CLUSTER_CONTROLLER_PORT",
    )


NODES = [node(n) for n in range(1, SIZE + 1)]


def cluster_bootstrap() -> str:
    """aiokafka's bootstrap_servers for the cluster."""
    return ",".join(n.bootstrap for n in NODES)


def url() -> str:
    """Faust-style broker list, the same form as LEADSTREAM_KAFKA_BROKER."""
    return ";".join(f"kafka://{n.bootstrap}" for n in NODES)


def env() -> dict[str, str]:
    return {"LEADSTREAM_KAFKA_CLUSTER": url()}


def _format_all() -> None:
    """All nodes must share one cluster id; if any node disagrees (or is new), format all afresh."""
    ids = {n.formatted_cluster_id() for n in NODES}
    cluster_id = ids.pop() if len(ids) == 1 and None not in ids else new_cluster_id()
    for n in NODES:
        n.home.mkdir(parents=True, exist_ok=True)
        n.format_storage(cluster_id, f"{n.port} {n.controller_port} {_voters()}")


def start() -> bool:
    """Launch every node that is not running (no waiting). False if all were running already."""
    if all(n.daemon.pid() for n in NODES):
        return False
    fetch_jars()
    if not any(n.daemon.pid() for n in NODES):
        _format_all()
    return any([n.start() for n in NODES])


def wait_ready(timeout: float = START_TIMEOUT) -> float:
    """Every node serves and sees all SIZE brokers (no wait for replication: see wait_cluster_ready)."""
    began = time.monotonic()
    for n in NODES:
        n.wait_ready(max(1.0, timeout - (time.monotonic() - began)), brokers=SIZE)
    return time.monotonic() - began


def up() -> bool:
    launched = start()
    wait_ready()
    return launched


def down() -> bool:
    # Stop all at once: one by one, each controlled shutdown would move leadership to the others.
    stopped = [n.daemon.pid() is not None for n in NODES]
    for n in NODES:
        pid = n.daemon.pid()
        if pid:
            os.kill(pid, signal.SIGTERM)
    for n in NODES:
        n.daemon.stop(timeout=60)
    return any(stopped)


def wipe() -> None:
    shutil.rmtree(HOME, ignore_errors=True)


def status() -> tuple[bool, str]:
    parts, running = [], 0
    for n in NODES:
        pid = n.daemon.pid()
        running += bool(pid)
        detail = f" pid {pid} RSS {(rss_kb(pid) or 0) // 1024} MB" if pid else " stopped"
        parts.append(f"{n.node_id}:{n.port}{detail}")
    state = "running" if running == SIZE else ("stopped" if not running else f"DEGRADED ({running}/{SIZE})")
    return running == SIZE, f"{state} ({'; '.join(parts)})"


def pids() -> list[int]:
    return [p for p in (n.daemon.pid() for n in NODES) if p]


# ---- chaos primitives -------------------------------------------------------------------------


def kill_broker(node_id: int) -> int:
    """SIGKILL one node (broker and controller die together, as in a machine loss). Returns its pid."""
    n = node(node_id)
    pid = n.daemon.pid()
    if not pid:
        raise ServiceError(f"Kafka cluster node {node_id} is not running")
    n.daemon.kill()
    wait_ports_released(n.port, n.controller_port, timeout=30, what=f"Kafka cluster node {node_id} kill")
    return pid


def start_broker(node_id: int, timeout: float = START_TIMEOUT) -> float:
    """Start a stopped node and wait until it serves Metadata again; returns seconds waited."""
    n = node(node_id)
    n.start()
    return n.wait_ready(timeout, brokers=SIZE)


def cluster_metadata(all_topics: bool = True) -> Metadata:
    """Metadata from the first node that answers."""
    errors = []
    for n in NODES:
        try:
            return metadata(n.port, all_topics=all_topics)
        except OSError as exc:
            errors.append(f"{n.bootstrap}: {exc}")
    raise ServiceError("no cluster node answers Metadata: " + "; ".join(errors))


def wait_topic_ready(topic: str, timeout: float = 30.0) -> list[PartitionInfo]:
    """Wait until every node knows `topic` with a leader and a full ISR for each partition.

    Right after creation a node may not list the topic yet; tests that pick a victim
    by partition leadership ask this first.
    """

    def ready() -> list[PartitionInfo]:
        views = [[p for p in metadata(n.port, all_topics=True).partitions if p.topic == topic] for n in NODES]
        if all(view and all(p.leader >= 0 and set(p.isr) == set(p.replicas) for p in view) for view in views):
            return sorted(views[0], key=lambda p: p.partition)
        return []

    return wait_until(ready, timeout, f"topic {topic} led and in sync on every node", interval=0.1)


def wait_cluster_ready(timeout: float = 120.0) -> float:
    """Wait until all brokers are registered and no partition is under-replicated; returns seconds.

    Asks every node, since a node that just restarted may still hold an old view.
    """
    began = time.monotonic()

    def healthy() -> bool:
        for n in NODES:
            meta = metadata(n.port, all_topics=True)
            lagging = [f"{p.topic}-{p.partition} isr {p.isr}/{p.replicas}" for p in meta.under_replicated()]
            if len(meta.brokers) < SIZE or lagging:
                raise ServiceError(
                    f"node {n.node_id} sees brokers {sorted(meta.brokers)}, "
                    f"{len(lagging)} under-replicated partitions {lagging[:3]}"
                )
        return True

    wait_until(
        healthy, timeout, "Kafka cluster: all brokers registered and every partition fully in sync", interval=0.25
    )
    return time.monotonic() - began
