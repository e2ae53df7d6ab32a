"""Fixtures of the scoring tests (helpers live in score_helpers.py)."""

from __future__ import annotations

import pytest
from score_helpers import dedent


@pytest.fixture
def write_rules(tmp_path):
    """Write YAML text to a file in tmp_path and return its path."""

    def write(text: str, name: str = "rules.yaml"):
        path = tmp_path / name
        path.write_text(dedent(text), encoding="utf-8")
        return path

    return write
