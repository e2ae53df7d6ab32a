"""Alert rules: promtool accepts and unit-tests them, and the unit tests can fail.

promtool comes from Debian's `prometheus` (scripts/install-deps); a machine
without it fails these tests rather than skipping them.
"""

from __future__ import annotations

import copy
import re
import subprocess
from pathlib import Path

import pytest
import yaml

from ops import contract, promconfig, tools
from ops.generate import ROOT

PROM = ROOT / "ops" / "prometheus"
RULES = yaml.safe_load((PROM / "alerts.yml").read_text())
TESTS = yaml.safe_load((PROM / "alerts_test.yml").read_text())
ALERTS = [r for g in RULES["groups"] for r in g["rules"] if "alert" in r]
ALERT_NAMES = sorted({r["alert"] for r in ALERTS})


def promtool(*args: str, cwd: Path = PROM) -> subprocess.CompletedProcess:
    try:
        binary = tools.promtool()
    except tools.ToolMissing as exc:
        pytest.fail(str(exc))
    return subprocess.run([binary, *args], cwd=cwd, capture_output=True, text=True)


def test_promtool_check_rules():
    result = promtool("check", "rules", "alerts.yml")
    assert result.returncode == 0, result.stdout + result.stderr
    found = int(re.search(r"SUCCESS: (\d+) rules found", result.stdout).group(1))
    assert found == sum(len(g["rules"]) for g in RULES["groups"]) == 25


def test_promtool_check_config():
    result = promtool("check", "config", "prometheus.yml")
    assert result.returncode == 0, result.stdout + result.stderr


def test_promtool_test_rules():
    result = promtool("test", "rules", "alerts_test.yml")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout


def _cases(alert: str) -> tuple[list, list]:
    firing, quiet = [], []
    for test in TESTS["tests"]:
        for case in test.get("alert_rule_test", []):
            if case["alertname"] == alert:
                (firing if case.get("exp_alerts") else quiet).append((test["name"], case["eval_time"]))
    return firing, quiet


@pytest.mark.parametrize("alert", ALERT_NAMES)
def test_every_alert_has_cases_that_fire_and_cases_that_must_not(alert):
    firing, quiet = _cases(alert)
    assert firing, f"{alert}: no test case where it fires"
    assert quiet, f"{alert}: no test case where it must stay quiet (exp_alerts: [])"


def _subset(alert: str, want_firing: bool) -> dict:
    """alerts_test.yml reduced to `alert`'s firing (or quiet) expectations."""
    tests = []
    for test in TESTS["tests"]:
        cases = [
            c
            for c in test.get("alert_rule_test", [])
            if c["alertname"] == alert and bool(c.get("exp_alerts")) == want_firing
        ]
        if cases:
            tests.append({**copy.deepcopy(test), "alert_rule_test": cases})
    return {**{k: v for k, v in TESTS.items() if k != "tests"}, "tests": tests}


def _mutated_rules(alert: str, expr: str) -> dict:
    rules = copy.deepcopy(RULES)
    for group in rules["groups"]:
        for rule in group["rules"]:
            if rule.get("alert") == alert:
                rule["expr"] = expr
                rule.pop("for", None)
    return rules


@pytest.mark.parametrize("alert", ALERT_NAMES)
def test_the_unit_tests_catch_a_broken_alert(alert, tmp_path):
    """An alert that never fires fails its firing cases; one that always fires fails its quiet cases."""
    for expr, want_firing, what in (("vector(1) > 2", True, "never fires"), ("vector(1)", False, "always fires")):
        (tmp_path / "alerts.yml").write_text(yaml.safe_dump(_mutated_rules(alert, expr), sort_keys=False))
        (tmp_path / "alerts_test.yml").write_text(yaml.safe_dump(_subset(alert, want_firing), sort_keys=False))
        result = promtool("test", "rules", "alerts_test.yml", cwd=tmp_path)
        assert result.returncode != 0, f"{alert} mutated to {expr!r} ({what}) still passes its tests"


@pytest.mark.parametrize("rule", ALERTS, ids=lambda r: r["alert"])
def test_every_alert_has_severity_summary_and_a_one_line_runbook(rule):
    assert rule["labels"]["severity"] in ("critical", "warning")
    runbook = rule["annotations"]["runbook"]
    assert runbook.strip() and "\n" not in runbook and len(runbook) < 300
    assert ":" in runbook, "runbook: what it means: what to do"
    assert rule["annotations"]["summary"].strip()


def test_rules_use_only_contract_metrics_and_jobs():
    allowed = contract.series_names()
    for group in RULES["groups"]:
        for rule in group["rules"]:
            used = set(re.findall(r"\b(leadstream_[a-z0-9_]+)\b", rule["expr"]))
            assert used <= allowed, f"{rule.get('alert') or rule.get('record')}: {sorted(used - allowed)}"
            for job in re.findall(r'job=~?"([^"]+)"', rule["expr"]):
                assert set(job.split("|")) <= set(contract.JOBS), job


def test_every_alert_is_explained_in_the_operating_guide():
    guide = (ROOT / "docs" / "operating.md").read_text()
    for alert in ALERT_NAMES:
        assert f"`{alert}`" in guide, f"docs/operating.md does not explain {alert}"


def test_scrape_jobs_match_the_contract():
    config = yaml.safe_load((PROM / "prometheus.yml").read_text())
    jobs = {c["job_name"] for c in config["scrape_configs"]}
    assert set(contract.JOBS) <= jobs
    assert config["rule_files"] == ["alerts.yml"]


def test_rendered_config_dir_passes_promtool_and_takes_more_targets(tmp_path):
    path = promconfig.render_config_dir(
        tmp_path / "prom", {"leadstream-main": ["127.0.0.1:7001"], "leadstream-lag-exporter": ["127.0.0.1:7002"]}
    )
    extra = promconfig.write_targets(
        path.parent, "leadstream-main", ["127.0.0.1:7003"], name="worker2", labels={"group": "main"}
    )
    assert extra.name == "leadstream-main-worker2.json"
    assert yaml.safe_load(extra.read_text()) == [{"targets": ["127.0.0.1:7003"], "labels": {"group": "main"}}]
    assert yaml.safe_load((path.parent / "targets" / "leadstream-mockup.json").read_text()) == [
        {"targets": [], "labels": {}}
    ]
    result = promtool("check", "config", str(path), cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    with pytest.raises(ValueError, match="unknown job"):
        promconfig.write_targets(path.parent, "leadstream-nope", [])
    with pytest.raises(ValueError, match="must match"):
        promconfig.write_targets(path.parent, "redis", [], name="../x")


def test_the_replay_alert_fires_where_the_dashboard_draws_its_line():
    """The dashboard's red line and the alert's threshold are one number (`ops.thresholds`), above what a running
    replay ever lets a letter wait (`storage.dead_letters.UNATTENDED`: its delay and its period)."""
    from ops import thresholds as th
    from storage.dead_letters import UNATTENDED

    [rule] = [r for r in ALERTS if r["alert"] == "LeadstreamDeadLetterReplayBehind"]
    assert rule["expr"].strip() == f"max(leadstream_dead_letters_unattended_oldest_seconds) > {th.DLQ_REPLAY_BEHIND_S}"
    assert UNATTENDED.older_than_s + 2 * UNATTENDED.every_s <= th.DLQ_REPLAY_BEHIND_S


def test_the_retention_alert_fires_where_the_dashboard_draws_its_line_after_two_missed_nights():
    """One number (`ops.thresholds`) for the alert and the dashboard's line; above the day a nightly prune lets
    rows stay due, so one late night does not fire it (tests/ops/test_ops_k8s.py: the CronJob runs nightly)."""
    from ops import thresholds as th

    [rule] = [r for r in ALERTS if r["alert"] == "LeadstreamRetentionBehind"]
    assert rule["expr"].strip() == f"max(leadstream_retention_overdue_seconds) > {th.RETENTION_OVERDUE_S}"
    assert th.RETENTION_OVERDUE_S >= 2 * 86400
