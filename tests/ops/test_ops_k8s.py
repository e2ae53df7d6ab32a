"""Kubernetes manifests: the overlays render, pass kubeconform -strict against the schemas of
Kubernetes 1.31 and of the Strimzi/KEDA/Prometheus Operator CRDs, and agree with the pipeline.

kustomize comes from kubectl (or scripts/install-ops-tools), kubeconform and every schema from
scripts/install-ops-tools (registries only; nothing is downloaded at test time). A machine
without them fails these tests instead of skipping them.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import yaml

from ops import thresholds as th
from ops import tools
from ops.generate import ALERTS, ROOT

# Kinds validated without a schema. Empty: every CRD schema comes from a registry (Strimzi's generator
# on Maven Central, KEDA and Prometheus Operator Go modules). A kind added without one must be named here.
UNCHECKED_KINDS: set[str] = set()


def by_kind(docs: list[dict], kind: str) -> dict[str, dict]:
    return {d["metadata"]["name"]: d for d in docs if d["kind"] == kind}


def _validate(paths):
    try:
        return tools.kubeconform_validate(list(paths))
    except tools.ToolMissing as exc:
        pytest.fail(str(exc))


def test_overlays_pass_kubeconform_strict(rendered):
    result = _validate(rendered.values())
    unchecked = {r["kind"] for r in result.results if "could not find schema" in (r.get("msg") or "")}
    assert unchecked == UNCHECKED_KINDS, f"kinds without a schema: {sorted(unchecked)}"
    assert result.returncode == 0, "\n".join(f"{s}: {m}" for s, ms in result.by_status.items() for m in ms)
    assert result.summary["invalid"] == result.summary["errors"] == result.summary["skipped"] == 0
    per_overlay = len([d for d in yaml.safe_load_all(rendered["prod"].read_text()) if d])
    assert result.summary["valid"] == 2 * per_overlay >= 80


def test_every_kind_in_the_overlays_has_a_schema(prod_docs):
    crd_kinds = {kind for _, kind in tools.crd_kinds_with_schema()}
    groups = {d["kind"].lower(): d["apiVersion"].rpartition("/")[0] for d in prod_docs}
    custom = {kind for kind, group in groups.items() if "." in group and not group.endswith(".k8s.io")}
    assert custom == {"kafka", "kafkanodepool", "kafkatopic", "scaledobject", "servicemonitor", "prometheusrule"}
    assert custom <= crd_kinds


BROKEN = """
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: typo}
spec:
  replicass: 3
  serviceName: x
  selector: {matchLabels: {a: b}}
  template: {metadata: {labels: {a: b}}, spec: {containers: [{name: c, image: i:1}]}}
---
apiVersion: kafka.strimzi.io/v1beta2
kind: KafkaTopic
metadata: {name: t}
spec: {partitions: "twelve", replicas: 3}
---
apiVersion: kafka.strimzi.io/v1beta2
kind: KafkaNodePool
metadata: {name: p}
spec: {replicas: 3, roles: [broker]}
---
apiVersion: kafka.strimzi.io/v1beta2
kind: Kafka
metadata: {name: k}
spec: {kafka: {listeners: [{name: plain, port: 9092, type: internal, tls: false}], replica: 3}}
---
apiVersion: keda.sh/v1alpha1
kind: ScaledObject
metadata: {name: s}
spec: {scaleTargetRef: {name: x}, triggers: [{type: kafka, metadata: {}}], maxReplicaCount: many}
---
apiVersion: monitoring.coreos.com/v1
kind: ServiceMonitor
metadata: {name: m}
spec: {selector: {}, endpoints: [{port: web, intervall: 15s}]}
---
apiVersion: monitoring.coreos.com/v1
kind: PrometheusRule
metadata: {name: r}
spec: {groups: [{name: g, rules: [{alert: A, expr: up, fore: 5m}]}]}
"""


def test_kubeconform_rejects_broken_manifests_of_every_kind(tmp_path):
    """Guards against a check that proves nothing: each broken document must be caught by its schema."""
    bad = tmp_path / "broken.yaml"
    bad.write_text(BROKEN)
    result = _validate([bad])
    statuses = {r["kind"]: r["status"] for r in result.results}
    assert statuses == {
        k: "statusInvalid"
        for k in (
            "StatefulSet",
            "KafkaTopic",
            "KafkaNodePool",
            "Kafka",
            "ScaledObject",
            "ServiceMonitor",
            "PrometheusRule",
        )
    }


# ---------------------------------------------------------------- what the manifests say
def _env(container: dict) -> dict[str, dict]:
    return {e["name"]: e for e in container.get("env", [])}


def test_topics_cover_the_pipeline_with_rf3_min_isr2(prod_docs):
    from streams.admin import changelog_topic
    from streams.topology import all_topics
    from tables import DEDUPE_STATE, SCORE_COUNTERS

    topics = {d["spec"]["topicName"]: d["spec"] for d in by_kind(prod_docs, "KafkaTopic").values()}
    wanted = set(all_topics()) | {changelog_topic(th.MAIN_GROUP, t) for t in (DEDUPE_STATE, SCORE_COUNTERS)}
    assert set(topics) == wanted
    config = by_kind(prod_docs, "ConfigMap")["leadstream-config"]["data"]
    assert int(config["LEADSTREAM_PARTITIONS"]) == th.PARTITIONS
    for name, spec in topics.items():
        assert spec["partitions"] == th.PARTITIONS, name
        assert spec["replicas"] == 3 and spec["config"]["min.insync.replicas"] == "2", name
        if name.endswith("-changelog"):
            assert spec["config"]["cleanup.policy"] == "compact", name
    lead = int(topics["leads.scraped"]["config"]["retention.ms"])
    for stage in ("scrape", "enrich", "dedupe", "score", "mockup", "email"):
        assert int(topics[f"deadletter.{stage}"]["config"]["retention.ms"]) > lead


def test_kafka_is_kraft_with_node_pools(prod_docs):
    kafka = by_kind(prod_docs, "Kafka")["leadstream"]
    assert kafka["metadata"]["annotations"] == {"strimzi.io/node-pools": "enabled", "strimzi.io/kraft": "enabled"}
    assert "zookeeper" not in kafka["spec"]
    assert kafka["spec"]["kafka"]["config"]["min.insync.replicas"] == 2
    pools = by_kind(prod_docs, "KafkaNodePool")
    assert {tuple(p["spec"]["roles"]) for p in pools.values()} == {("controller",), ("broker",)}
    assert all(p["spec"]["replicas"] >= 3 for p in pools.values())
    bootstrap = by_kind(prod_docs, "ConfigMap")["leadstream-config"]["data"]["LEADSTREAM_KAFKA_BROKER"]
    assert bootstrap == "kafka://leadstream-kafka-bootstrap:9092"


@pytest.mark.parametrize("overlay", tools.OVERLAYS)
def test_keda_scales_each_group_on_its_lag_within_the_partitions(rendered, overlay):
    docs = [d for d in yaml.safe_load_all(rendered[overlay].read_text()) if d]
    scaled = by_kind(docs, "ScaledObject")
    sets = by_kind(docs, "StatefulSet")
    expected = {
        "leadstream-worker": (th.MAIN_GROUP, th.MAIN_LAG_THRESHOLD),
        "leadstream-mockup": (th.MOCKUP_GROUP, th.MOCKUP_LAG_THRESHOLD),
    }
    assert set(scaled) == set(expected)
    for name, (group, threshold) in expected.items():
        spec = scaled[name]["spec"]
        trigger = spec["triggers"][0]
        assert trigger["type"] == "kafka"
        assert trigger["metadata"]["consumerGroup"] == group
        assert trigger["metadata"]["lagThreshold"] == str(threshold)
        assert trigger["metadata"]["allowIdleConsumers"] == "false"
        assert 1 <= spec["minReplicaCount"] <= spec["maxReplicaCount"] <= th.PARTITIONS
        target = spec["scaleTargetRef"]
        assert target["kind"] == "StatefulSet" and target["name"] in sets
        container = sets[target["name"]]["spec"]["template"]["spec"]["containers"][0]
        assert _env(container)["LEADSTREAM_APP_ID"]["value"] == group
    assert scaled["leadstream-mockup"]["spec"]["triggers"][0]["metadata"]["topic"] == "mockups.requested"


def test_mockup_group_runs_on_the_gpu_pool(prod_docs):
    pod = by_kind(prod_docs, "StatefulSet")["leadstream-mockup"]["spec"]["template"]["spec"]
    assert pod["nodeSelector"] == {"leadstream/pool": "gpu"}
    assert {"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"} in pod["tolerations"]
    main = by_kind(prod_docs, "StatefulSet")["leadstream-worker"]["spec"]["template"]["spec"]
    assert "tolerations" not in main


def test_worker_statefulsets_probes_identity_and_hardening(prod_docs):
    sets = by_kind(prod_docs, "StatefulSet")
    services = by_kind(prod_docs, "Service")
    for _name, sts in sets.items():
        spec = sts["spec"]
        pod = spec["template"]["spec"]
        container = pod["containers"][0]
        env = _env(container)
        assert env["LEADSTREAM_GROUP_INSTANCE_ID"]["valueFrom"] == {"fieldRef": {"fieldPath": "metadata.name"}}
        assert container["livenessProbe"]["httpGet"]["path"] == "/health"
        assert container["readinessProbe"]["httpGet"]["path"] == "/ready"
        assert container["resources"]["requests"]["cpu"] and container["resources"]["limits"]["memory"]
        assert pod["securityContext"]["runAsNonRoot"] is True
        assert container["securityContext"]["allowPrivilegeEscalation"] is False
        assert pod["automountServiceAccountToken"] is False
        headless = services[spec["serviceName"]]["spec"]
        assert headless["clusterIP"] == "None" and headless["publishNotReadyAddresses"] is True
        assert headless["selector"].items() <= spec["template"]["metadata"]["labels"].items()
    main = sets["leadstream-worker"]["spec"]
    data_mount = next(m for m in main["template"]["spec"]["containers"][0]["volumeMounts"] if m["name"] == "data")
    config = by_kind(prod_docs, "ConfigMap")["leadstream-config"]["data"]
    assert data_mount["mountPath"] == config["LEADSTREAM_DATA_DIR"]
    assert [c["metadata"]["name"] for c in main["volumeClaimTemplates"]] == ["data"]  # RocksDB per pod


def test_every_workload_is_pinned_limited_and_covered(prod_docs):
    pods = []
    for kind in ("StatefulSet", "Deployment"):
        for name, workload in by_kind(prod_docs, kind).items():
            pods.append((name, workload["spec"]["template"]))
    pdb_selectors = [p["spec"]["selector"]["matchLabels"] for p in by_kind(prod_docs, "PodDisruptionBudget").values()]
    for name, template in pods:
        for container in template["spec"]["containers"]:
            image = container["image"]
            assert ":" in image.rsplit("/", 1)[-1] and not image.endswith(":latest"), f"{name}: unpinned {image}"
            assert container.get("resources", {}).get("limits", {}).get("memory"), f"{name}: no memory limit"
            assert container.get("readinessProbe") and container.get("livenessProbe"), f"{name}: probes"
        labels = template["metadata"]["labels"]
        if name != "leadstream-lag-exporter":  # one stateless replica; its absence alerts instead
            assert any(sel.items() <= labels.items() for sel in pdb_selectors), f"{name}: no PodDisruptionBudget"


def test_secrets_are_referenced_never_committed(prod_docs):
    assert not by_kind(prod_docs, "Secret")
    refs = set()
    for kind in ("StatefulSet", "Deployment"):
        for workload in by_kind(prod_docs, kind).values():
            pod = workload["spec"]["template"]["spec"]
            for container in pod["containers"]:
                for env in container.get("env", []):
                    ref = env.get("valueFrom", {}).get("secretKeyRef")
                    if ref:
                        refs.add(ref["name"])
            refs |= {v["secret"]["secretName"] for v in pod.get("volumes", []) if "secret" in v}
    assert refs == {"leadstream-secrets", "leadstream-pgbouncer"}
    config = by_kind(prod_docs, "ConfigMap")["leadstream-config"]["data"]
    assert not any(k.endswith(("_API_KEY", "_SECRET", "_DATABASE_URL")) for k in config)


def test_monitoring_scrapes_the_contract_jobs_and_loads_the_tested_rules(prod_docs):
    monitors = by_kind(prod_docs, "ServiceMonitor")
    services = by_kind(prod_docs, "Service")
    jobs = set()
    for monitor in monitors.values():
        selector = monitor["spec"]["selector"]["matchLabels"]
        matched = [s for s in services.values() if selector.items() <= s["metadata"].get("labels", {}).items()]
        assert matched, monitor["metadata"]["name"]
        for service in matched:
            jobs.add(service["metadata"]["labels"][monitor["spec"]["jobLabel"]])
            ports = {p["name"] for p in service["spec"]["ports"]}
            assert {e["port"] for e in monitor["spec"]["endpoints"]} <= ports
    assert jobs == {"leadstream-main", "leadstream-mockup", "leadstream-lag-exporter"}
    rule = by_kind(prod_docs, "PrometheusRule")["leadstream"]
    assert rule["spec"]["groups"] == yaml.safe_load(ALERTS.read_text())["groups"]


def test_worker_egress_never_reaches_private_ranges_or_metadata(prod_docs):
    policy = by_kind(prod_docs, "NetworkPolicy")["leadstream-worker"]["spec"]
    internet = [r for r in policy["egress"] if any("ipBlock" in t for t in r.get("to", []))]
    assert len(internet) == 1
    block = internet[0]["to"][0]["ipBlock"]
    assert block["cidr"] == "0.0.0.0/0"
    assert {"10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "169.254.0.0/16"} <= set(block["except"])
    assert {p["port"] for p in internet[0]["ports"]} == {80, 443}
    assert "default-deny-ingress" in by_kind(prod_docs, "NetworkPolicy")


def pod_templates(docs: list[dict]) -> dict[str, dict]:
    """Every workload's pod template: StatefulSets, Deployments and CronJobs."""
    pods = {}
    for kind in ("StatefulSet", "Deployment"):
        pods |= {name: w["spec"]["template"] for name, w in by_kind(docs, kind).items()}
    for name, job in by_kind(docs, "CronJob").items():
        pods[name] = job["spec"]["jobTemplate"]["spec"]["template"]
    return pods


def admits(rules: list[dict], labels: dict) -> bool:
    """Whether a pod with `labels` is among the peers of `rules` (each a ``podSelector``)."""
    return any(r.get("podSelector", {}).get("matchLabels", {}).items() <= labels.items() for r in rules if r)


def test_every_pod_that_uses_kafka_is_a_peer_of_its_listener(prod_docs):
    """Strimzi turns the listener's networkPolicyPeers into a NetworkPolicy: a pod outside them cannot connect.
    The pods carry the label themselves (kustomize's common label reaches only the workloads' own metadata)."""
    [kafka] = by_kind(prod_docs, "Kafka").values()
    [listener] = kafka["spec"]["kafka"]["listeners"]
    peers = [p for p in listener["networkPolicyPeers"] if "podSelector" in p]
    only_postgres = {"leadstream-pgbouncer", "leadstream-db-prune"}
    clients = {name: pod for name, pod in pod_templates(prod_docs).items() if name not in only_postgres}
    assert {"leadstream-worker", "leadstream-mockup", "leadstream-lag-exporter", "leadstream-dlq-replay"} <= set(
        clients
    )
    for name, pod in clients.items():
        assert admits(peers, pod["metadata"]["labels"]), f"{name}: not a peer of Kafka's listener"


def test_the_dlq_replay_job_puts_back_only_transient_failures_with_a_cap(prod_docs):
    """Its args parse with the real command (a renamed option fails here), name only the transient reasons and
    every stage, and cap the replays; it is pinned, limited, hardened, and PgBouncer admits it."""
    import typer.main

    from leadstream.cli import cli
    from streams.topology import STAGES

    job = by_kind(prod_docs, "CronJob")["leadstream-dlq-replay"]
    assert job["spec"]["concurrencyPolicy"] == "Forbid"
    pod = job["spec"]["jobTemplate"]["spec"]["template"]
    [container] = pod["spec"]["containers"]
    assert container["args"][:2] == ["dlq", "replay"]
    replay = typer.main.get_command(cli).get_command(None, "dlq").get_command(None, "replay")  # type: ignore[attr-defined]
    params = replay.make_context("replay", list(container["args"][2:])).params
    assert set(params["stage"]) == set(STAGES)
    assert set(params["reason"]) == {"TransientProviderError", "ProviderUnavailable"}
    assert params["max_replays"] == 3 and params["since"] == "24h" and params["older_than"] == "15m"
    assert not params["force"]
    # the gauge that watches it asks the same question (`storage.dead_letters.UNATTENDED`)
    from leadstream.dlq import parse_since
    from storage.dead_letters import UNATTENDED

    now = datetime.now(UTC)
    assert set(params["reason"]) == set(UNATTENDED.reasons) and params["max_replays"] == UNATTENDED.max_replays
    assert [parse_since(params[k], now) for k in ("since", "older_than")] == [
        now - timedelta(seconds=UNATTENDED.since_s),
        now - timedelta(seconds=UNATTENDED.older_than_s),
    ]
    assert job["spec"]["schedule"] == f"*/{int(UNATTENDED.every_s // 60)} * * * *"
    image = container["image"]
    assert ":" in image.rsplit("/", 1)[-1] and not image.endswith(":latest")
    assert container["resources"]["limits"]["memory"] and container["securityContext"]["readOnlyRootFilesystem"]
    policies = by_kind(prod_docs, "NetworkPolicy")
    pgbouncer = policies["leadstream-pgbouncer"]["spec"]["ingress"][0]["from"]
    assert admits(pgbouncer, pod["metadata"]["labels"])
    assert "Egress" in policies["leadstream-dlq-replay"]["spec"]["policyTypes"]


def test_the_nightly_prune_applies_the_configured_retention_and_reaches_only_pgbouncer(prod_docs):
    """Its args parse with the real command and are not a dry run; the retention it applies is the ConfigMap's,
    which the settings accept; it is pinned, limited, hardened, and its egress is PgBouncer (and DNS) only."""
    import typer.main

    from config import RetentionSettings
    from leadstream.cli import cli

    job = by_kind(prod_docs, "CronJob")["leadstream-db-prune"]
    assert job["spec"]["concurrencyPolicy"] == "Forbid"
    minute, hour, *every_day = job["spec"]["schedule"].split()
    assert minute.isdigit() and hour.isdigit() and every_day == ["*", "*", "*"]  # once a night
    pod = job["spec"]["jobTemplate"]["spec"]["template"]
    [container] = pod["spec"]["containers"]
    assert container["args"][:2] == ["db", "prune"]
    prune = typer.main.get_command(cli).get_command(None, "db").get_command(None, "prune")  # type: ignore[attr-defined]
    assert not prune.make_context("prune", list(container["args"][2:])).params["dry_run"]
    config = by_kind(prod_docs, "ConfigMap")["leadstream-config"]
    prefix = "LEADSTREAM_RETENTION__"
    given = {k.removeprefix(prefix).lower(): v for k, v in config["data"].items() if k.startswith(prefix)}
    assert set(given) == set(RetentionSettings.model_fields)  # every horizon is stated where operators look
    RetentionSettings.model_validate(given)
    assert {"configMapRef": {"name": "leadstream-config"}} in container["envFrom"]
    image = container["image"]
    assert ":" in image.rsplit("/", 1)[-1] and not image.endswith(":latest")
    assert container["resources"]["limits"]["memory"] and container["securityContext"]["readOnlyRootFilesystem"]
    policies = by_kind(prod_docs, "NetworkPolicy")
    assert admits(policies["leadstream-pgbouncer"]["spec"]["ingress"][0]["from"], pod["metadata"]["labels"])
    own = policies["leadstream-db-prune"]
    assert own["spec"]["podSelector"]["matchLabels"].items() <= pod["metadata"]["labels"].items()
    assert "Egress" in own["spec"]["policyTypes"]
    reached = [peer for rule in own["spec"]["egress"] for peer in rule["to"]]
    assert {tuple(p["podSelector"]["matchLabels"].items()) for p in reached} == {
        (("k8s-app", "kube-dns"),),
        (("app.kubernetes.io/name", "leadstream-pgbouncer"),),
    }


def test_overlays_differ_only_where_meant(rendered):
    namespaces = {}
    for overlay, path in rendered.items():
        docs = [d for d in yaml.safe_load_all(path.read_text()) if d]
        namespaces[overlay] = {d["metadata"].get("namespace") for d in docs if d["kind"] != "Namespace"}
    assert namespaces == {"dev": {"leadstream-dev"}, "prod": {"leadstream"}}
    assert (ROOT / "k8s" / "base" / "kustomization.yaml").exists()
