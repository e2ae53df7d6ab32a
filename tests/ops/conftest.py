"""Fixtures for the operations checks: rendered overlays (once per session)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from ops import tools


@pytest.fixture(scope="session")
def rendered(tmp_path_factory) -> dict[str, Path]:
    """{overlay: path of its rendered multi-document YAML}; fails (never skips) without kustomize."""
    out = tmp_path_factory.mktemp("rendered")
    paths = {}
    for name in tools.OVERLAYS:
        try:
            text = tools.render_overlay(name)
        except tools.ToolMissing as exc:
            pytest.fail(str(exc))
        paths[name] = out / f"{name}.yaml"
        paths[name].write_text(text)
    return paths


@pytest.fixture(scope="session")
def prod_docs(rendered) -> list[dict]:
    return [d for d in yaml.safe_load_all(rendered["prod"].read_text()) if d]
