"""The workers' event loop: uvloop by default, the standard library's with LEADSTREAM_EVENT_LOOP=asyncio, on both
start paths (`faust -A app worker` imports app.py; `leadstream worker` calls the same `use_event_loop`). The loop
policy is process-wide, so each case runs in a fresh interpreter."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

LOOP_KINDS = "import asyncio; print(type(app.loop).__module__, type(asyncio.new_event_loop()).__module__)"


def _loop_kinds(code: str, tmp_path: Path, **env: str) -> list[str]:
    environment = {key: value for key, value in os.environ.items() if key != "LEADSTREAM_EVENT_LOOP"}
    environment.update(
        LEADSTREAM_STAGES="dedupe", LEADSTREAM_OTLP_ENDPOINT="", LEADSTREAM_DATA_DIR=str(tmp_path), **env
    )
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=environment, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.split()


@pytest.mark.parametrize(
    ("setting", "kind"), [(None, "uvloop"), ("uvloop", "uvloop"), ("asyncio", "asyncio.unix_events")]
)
def test_the_faust_start_path_runs_on_the_configured_loop(tmp_path, setting, kind):
    env = {"LEADSTREAM_EVENT_LOOP": setting} if setting else {}
    assert _loop_kinds(f"from app import app; {LOOP_KINDS}", tmp_path, **env) == [kind, kind]


def test_the_worker_command_s_loop_choice_is_the_same_function(tmp_path):
    code = (
        "from config import load_settings; from leadstream.faustapp import create_app, use_event_loop; "
        "settings = load_settings(); use_event_loop(settings); app = create_app(settings); " + LOOP_KINDS
    )
    assert _loop_kinds(code, tmp_path) == ["uvloop", "uvloop"]
    assert _loop_kinds(code, tmp_path, LEADSTREAM_EVENT_LOOP="asyncio") == ["asyncio.unix_events"] * 2
