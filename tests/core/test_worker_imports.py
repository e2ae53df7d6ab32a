"""What a worker imports before it joins its group: the SaaS SDKs that no stage calls before its first event
stay out (docs/operating.md, "Recovery": a restarted worker's start is part of every worker kill's stall).

Each case builds the app in a fresh interpreter, as `leadstream worker` does up to Faust's start, and
lists which of those packages are in `sys.modules`. No timing: what is imported, not how fast.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DEFERRED = ("openai", "ollama")  # providers.llm imports them at the first call

BUILD_APP = """
import json, sys
from config import load_settings
from leadstream.faustapp import create_app
create_app(load_settings(stages=sys.argv[1]))
print(json.dumps(sorted(name for name in sys.argv[2:] if name in sys.modules)))
"""


@pytest.mark.parametrize("stages", ["scrape,enrich,dedupe,score,email", "mockup"])
def test_a_built_worker_app_has_not_imported_the_llm_sdks(stages: str, tmp_path: Path) -> None:
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("LEADSTREAM_")},
        "PYTHONPATH": str(ROOT),
        "LEADSTREAM_EMAIL__UNSUBSCRIBE_SECRET": "a-test-secret-that-is-long-enough-0123456789",
        "LEADSTREAM_DEDUPE_LLM": "true",  # the judge is built; its client is made at its first call
        "LEADSTREAM_DATA_DIR": str(tmp_path / "data"),
        "LEADSTREAM_BLOB_DIR": str(tmp_path / "blobs"),
    }
    done = subprocess.run(
        [sys.executable, "-c", BUILD_APP, stages, *DEFERRED],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert json.loads(done.stdout.strip().splitlines()[-1]) == []
