"""Campaign files: the default is valid; a bad one names the file, the line and the problem."""

from __future__ import annotations

import time

import pytest

from config.settings import DEFAULTS_DIR
from schemas.campaign import CampaignError, load_campaign


def test_default_campaign_is_the_documented_example():
    jobs = load_campaign(DEFAULTS_DIR / "campaign.yaml").jobs()
    assert sorted((j.zip, j.vertical) for j in jobs) == sorted(
        (z, v) for z in ("10002", "98908", "46032") for v in ("hvac", "plumber", "vet")
    )


def test_bad_campaign_reports_file_and_line(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("verticals: [hvac]\nmetros:\n  - name: Yakima\n    zips: [98908]\nmax_results: 5000\ncolour: red\n")
    with pytest.raises(CampaignError) as info:
        load_campaign(path)
    text = str(info.value)
    assert f"{path}:4: metros.0.zips.0" in text  # an unquoted ZIP is read as a number
    assert f"{path}:5: max_results" in text
    assert f"{path}:6: colour: Extra inputs are not permitted" in text
    path.write_text("verticals: [hvac\n")
    with pytest.raises(CampaignError, match=r"c.yaml:\d+: YAML syntax"):
        load_campaign(path)


def test_an_alias_bomb_in_a_campaign_fails_fast_with_file_and_line(tmp_path):
    lines = ["laughs:", "  - &a0 [x, x, x, x, x, x, x, x, x]"]
    lines += [f"  - &a{i} [{', '.join([f'*a{i - 1}'] * 9)}]" for i in range(1, 9)]
    path = tmp_path / "bomb.yaml"
    path.write_text("\n".join(lines) + "\n")
    started = time.process_time()
    with pytest.raises(CampaignError, match=r"bomb\.yaml:6: expands to more than 20,000 nodes"):
        load_campaign(path)
    assert time.process_time() - started < 1.0  # CPU time, never wall time
