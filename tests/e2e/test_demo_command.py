"""The first command a new user runs: `leadstream demo` on the embedded broker (tansu) and PostgreSQL
(pgserver), as the README says, with its default worker groups (several processes)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = [pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]


def test_leadstream_demo_200_leads_on_the_embedded_services(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("LEADSTREAM_")}  # nothing given: all embedded
    env["PYTHONPATH"] = str(ROOT)
    result = subprocess.run(
        [sys.executable, "-m", "leadstream", "demo", "--leads", "200", "--json", "--timeout", "420"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr[-4000:]
    summary = json.loads(result.stdout.strip().splitlines()[-1])
    assert summary["lost"] == 0 and summary["in_flight"] == 0, summary
    assert summary["leads_in"] >= 200  # the generated leads, plus what the scrape jobs found
    assert sum(summary["terminal"].values()) == summary["leads_in"], summary
    assert summary["terminal"].get("emailed", 0) > 0 and summary["terminal"].get("duplicate", 0) > 0, summary
    assert summary["duplicate_emails"] == 0 and summary["recipients_emailed_twice"] == 0
    assert summary["sent_not_emailed"] == 0, summary
    assert set(summary["stages_visited"]) >= {"scrape", "enrich", "dedupe", "score", "email"}
    assert summary["workers"]["main"] >= 1 and summary["workers"]["mockup"] >= 1
    assert {"enrich", "dedupe", "score", "email"} <= set(summary["stage_busy_s"])  # read from each worker's /metrics
    assert all(summary["events_per_batch"][stage] >= 1.0 for stage in ("dedupe", "score")), summary
    assert summary["phone_claims"] > 0, summary  # the phone directory is on by default, on the embedded stack too
