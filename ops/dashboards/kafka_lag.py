"""Kafka lag per consumer group and partition, drawn against the KEDA lag targets."""

from __future__ import annotations

from grafana_foundation_sdk.builders import dashboard as db

from ops import thresholds as th
from ops.dashboards.panels import (
    RATE,
    Layout,
    Query,
    dashboard,
    group_variable,
    series,
)


def kafka_lag() -> db.Dashboard:
    lay = Layout()
    main, mock = "$main_group", "$mockup_group"
    d = (
        dashboard(
            "leadstream-kafka-lag",
            "leadstream / Kafka lag",
            "Consumer lag per group and partition, from the broker (the lag exporter), with the KEDA scaling targets.",
            ["kafka", "autoscaling"],
        )
        .with_variable(group_variable("main_group", "Main group", th.MAIN_GROUP))
        .with_variable(group_variable("mockup_group", "Mockup group", th.MOCKUP_GROUP))
    )
    d = d.with_row(db.Row("Lag against the autoscaling targets").id(lay.take()))
    for label, group, limit in (
        ("Main group", main, th.MAIN_LAG_THRESHOLD),
        ("Mockup group (GPU)", mock, th.MOCKUP_LAG_THRESHOLD),
    ):
        d = d.with_panel(
            series(
                lay,
                f"{label}: lag per replica (KEDA target {limit})",
                f"Total lag of the group divided by its live members. KEDA adds replicas while this stays above {limit} "
                "(replicas ≈ ceil(lag / target), at most the partition count).",
                [
                    Query(
                        f'sum(leadstream_kafka_consumer_lag{{group="{group}"}})'
                        f' / clamp_min(sum(leadstream_kafka_group_members{{group="{group}"}}), 1)',
                        "lag per replica",
                    )
                ],
                limits=[(limit, "red")],
            )
        )
    d = d.with_panel(
        series(
            lay,
            "Replicas KEDA would ask for",
            f"ceil(total lag / target), capped at {th.PARTITIONS} partitions; compare with the live members.",
            [
                Query(
                    f'clamp_max(ceil(sum(leadstream_kafka_consumer_lag{{group="{main}"}}) / {th.MAIN_LAG_THRESHOLD}), {th.PARTITIONS})',
                    "main wanted",
                ),
                Query(
                    f'clamp_max(ceil(sum(leadstream_kafka_consumer_lag{{group="{mock}"}}) / {th.MOCKUP_LAG_THRESHOLD}), {th.PARTITIONS})',
                    "mockup wanted",
                ),
                Query("sum by (group) (leadstream_kafka_group_members)", "{{group}} members"),
            ],
        )
    )
    d = d.with_panel(
        series(
            lay,
            "Lag growth per minute",
            "Positive while the group falls behind.",
            [Query("sum by (group) (deriv(leadstream_kafka_consumer_lag[5m])) * 60", "{{group}}")],
        )
    )

    d = d.with_row(db.Row("Per topic and partition").id(lay.take()))
    d = d.with_panel(
        series(
            lay,
            "Lag by topic",
            "Per group and topic.",
            [Query("sum by (group, topic) (leadstream_kafka_consumer_lag)", "{{group}} {{topic}}")],
        )
    )
    d = d.with_panel(
        series(
            lay,
            "Lag by partition",
            "A single hot partition means a skewed geography key, not too few workers.",
            [
                Query(
                    "sum by (group, topic, partition) (leadstream_kafka_consumer_lag)",
                    "{{group}} {{topic}}/{{partition}}",
                )
            ],
        )
    )
    d = d.with_panel(
        series(
            lay,
            "Produced messages per topic",
            "Log-end offset growth: what arrives.",
            [Query(f"sum by (topic) (rate(leadstream_kafka_log_end_offset[{RATE}]))", "{{topic}}")],
            unit="ops",
        )
    )
    d = d.with_panel(
        series(
            lay,
            "Committed messages per group",
            "Committed offset growth: what the group finishes.",
            [Query(f"sum by (group) (rate(leadstream_kafka_committed_offset[{RATE}]))", "{{group}}")],
            unit="ops",
        )
    )

    d = d.with_row(db.Row("Workers").id(lay.take()))
    d = d.with_panel(
        series(
            lay,
            "Partitions assigned per worker",
            "From each worker; replicas beyond the partition count idle.",
            [Query("sum by (instance, topic) (leadstream_worker_assigned_partitions)", "{{instance}} {{topic}}")],
        )
    )
    d = d.with_panel(
        series(
            lay,
            "Rebalances",
            "Every scale step is a rebalance; a steady stream of them means flapping.",
            [Query(f"sum by (instance) (increase(leadstream_worker_rebalances_total[{RATE}]))", "{{instance}}")],
        )
    )
    return d
