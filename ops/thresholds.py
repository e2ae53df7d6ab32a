"""The operating numbers that dashboards, alerts and manifests must agree on.

One place, so a change shows up everywhere: the lag dashboard draws the KEDA
targets, ``tests/ops`` checks the ScaledObjects use them, and the email panels
draw the auto-pause thresholds that the worker settings default to.
"""

from __future__ import annotations

# Consumer groups (Faust app ids) as deployed: k8s/base sets LEADSTREAM_APP_ID to these.
MAIN_GROUP = "leadstream"
MOCKUP_GROUP = "leadstream-mockup"

# KEDA Kafka scaler `lagThreshold`: target lag *per replica* (replicas ≈ ceil(lag / threshold)).
MAIN_LAG_THRESHOLD = 500
MOCKUP_LAG_THRESHOLD = 2000  # the design's "GPU group bursts when its queue passes 2,000"

# Partitions of every lead topic (LEADSTREAM_PARTITIONS); the ceiling on useful replicas.
PARTITIONS = 12

# Design target: p95 end-to-end latency under 30 s.
E2E_P95_TARGET_S = 30

# The email stage pauses sending above these rates (settings email bounce/spam pause defaults).
EMAIL_BOUNCE_PAUSE = 0.02
EMAIL_SPAM_PAUSE = 0.001

# The unattended dead-letter replay (k8s/base/dlq-replay.yaml, storage.dead_letters.UNATTENDED) takes transient
# dead letters 15 min old every 30 min: none waits 45 min while it runs; the alert fires past 90 min.
DLQ_REPLAY_BEHIND_S = 5400

# The nightly prune (k8s/base/db-prune.yaml, `leadstream.retention`) keeps what is due under a day overdue; the
# alert fires past two days: two nights missed.
RETENTION_OVERDUE_S = 2 * 86400

# Availability SLO: 99.9 % of leads end in a non-dead-letter terminal state within 5 minutes.
SLO_TARGET = 0.999
SLO_LATENCY_BOUND_S = 300
