"""The dashboards: committed JSON equals a fresh generation; queries use contract metrics; limits drawn."""

from __future__ import annotations

import re

import pytest

from ops import contract, promql
from ops import thresholds as th
from ops.generate import ROOT, expected_files, stale_files

DASHBOARDS = {d["uid"]: d for d in promql.load_all()}
METRIC = re.compile(r"\b(leadstream_[a-z0-9_]+)\b")


def test_committed_generated_files_equal_a_fresh_generation():
    assert stale_files() == [], "run `python -m ops.generate` and commit the result"
    names = sorted(p.name for p in expected_files())
    assert names == [
        "leadstream-email.json",
        "leadstream-kafka-lag.json",
        "leadstream-pipeline.json",
        "leadstream-providers.json",
        "prometheusrule.yaml",
    ]


def test_stale_check_notices_a_changed_file(tmp_path, monkeypatch):
    import ops.generate as gen

    copy = tmp_path / "leadstream-email.json"
    copy.write_text((gen.DASHBOARD_DIR / "leadstream-email.json").read_text().replace("email health", "e-mail health"))
    monkeypatch.setattr(gen, "DASHBOARD_DIR", tmp_path)
    assert copy in gen.stale_files()


def test_every_query_uses_only_contract_metrics():
    allowed = contract.series_names()
    targets = promql.targets(DASHBOARDS.values())
    assert len(targets) >= 40
    for t in targets:
        used = set(METRIC.findall(t.expr))
        assert used, f"{t.dashboard}/{t.panel_title}: no leadstream metric in {t.expr}"
        assert used <= allowed, f"{t.dashboard}/{t.panel_title}: not in METRICS.md: {sorted(used - allowed)}"


def test_every_query_expands_with_the_dashboard_variables():
    for dashboard in DASHBOARDS.values():
        values = promql.dashboard_variables(dashboard)
        for panel in promql.panels(dashboard):
            assert panel.targets
            for t in panel.targets:
                expanded = promql.expand(t.expr, step_s=15, range_s=3600, variables=values)
                assert "$" not in expanded, expanded


def test_panels_have_unique_ids_and_use_the_datasource_variable():
    for uid, dashboard in DASHBOARDS.items():
        raw = list(promql._walk_panels(dashboard["panels"]))
        ids = [p["id"] for p in raw]
        assert len(ids) == len(set(ids)), f"{uid}: duplicate panel ids"
        for p in raw:
            if p.get("targets"):
                assert p["datasource"] == {"type": "prometheus", "uid": "${datasource}"}, (uid, p["title"])


def _panel(uid: str, title: str) -> promql.Panel:
    matches = [p for p in promql.panels(DASHBOARDS[uid]) if p.title.startswith(title)]
    assert len(matches) == 1, f"{uid}: expected one panel titled {title!r}, got {[p.title for p in matches]}"
    return matches[0]


@pytest.mark.parametrize(
    "uid, title, limit",
    [
        ("leadstream-kafka-lag", "Main group: lag per replica", th.MAIN_LAG_THRESHOLD),
        ("leadstream-kafka-lag", "Mockup group (GPU): lag per replica", th.MOCKUP_LAG_THRESHOLD),
        ("leadstream-pipeline", "End-to-end latency p50 / p95 / p99", th.E2E_P95_TARGET_S),
        ("leadstream-email", "Bounce rate against the pause threshold", th.EMAIL_BOUNCE_PAUSE),
        ("leadstream-email", "Spam rate against the pause threshold", th.EMAIL_SPAM_PAUSE),
    ],
)
def test_operating_limits_are_drawn(uid, title, limit):
    panel = _panel(uid, title)
    assert limit in panel.thresholds
    assert panel.type == "timeseries"


def test_the_issue_panels_exist():
    wanted = {
        "leadstream-pipeline": [
            "Events consumed per stage",
            "End-to-end latency p50 / p95 / p99",
            "Leads ended per minute by terminal state",
            "Dead letters by stage and reason",
            "Retries by stage and error",
            "Deferrals by stage and reason",
        ],
        "leadstream-kafka-lag": ["Lag by partition", "Lag by topic"],
        "leadstream-providers": [
            "Calls by provider and outcome",
            "Call latency p95",
            "Spend over the last 24 h",
            "Daily budget left",
            "Circuit breakers",
            "Cache hit ratio",
        ],
        "leadstream-email": ["Emails sent per minute", "Outbox entries by status", "Sending", "Auto-pause"],
    }
    for uid, titles in wanted.items():
        for title in titles:
            _panel(uid, title)
    lag_queries = " ".join(t.expr for p in promql.panels(DASHBOARDS["leadstream-kafka-lag"]) for t in p.targets)
    assert "by (group, topic, partition)" in lag_queries


def test_lag_dashboard_groups_default_to_the_deployed_consumer_groups():
    values = promql.dashboard_variables(DASHBOARDS["leadstream-kafka-lag"])
    assert values == {"main_group": th.MAIN_GROUP, "mockup_group": th.MOCKUP_GROUP}


def test_generator_runs_as_a_module():
    import subprocess
    import sys

    result = subprocess.run([sys.executable, "-m", "ops.generate", "--check"], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
