"""Turn CustomResourceDefinition YAML into the JSON schemas kubeconform reads.

kubeconform normally downloads CRD schemas at run time; here they are made from
CRD files that package registries ship (scripts/install-ops-tools gathers them)
and laid out as ``<dir>/<group>/<kind>_<version>.json``, the layout its
``-schema-location '<dir>/{{ .Group }}/{{ .ResourceKind }}_{{ .ResourceAPIVersion }}.json'``
template expects. In strict form every object that lists its properties and
does not opt out (``x-kubernetes-preserve-unknown-fields``) rejects unknown
fields, as the API server's pruning would drop them silently.

    python -m ops.crdschema OUT_DIR CRD.yaml [CRD.yaml ...]
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import yaml


def _convert(node, strict: bool):
    """OpenAPI v3 (Kubernetes flavour) → JSON Schema, recursively."""
    if isinstance(node, list):
        return [_convert(item, strict) for item in node]
    if not isinstance(node, dict):
        return node
    out = {}
    for key, value in node.items():
        if key in ("properties", "patternProperties", "definitions"):
            out[key] = {name: _convert(sub, strict) for name, sub in value.items()}
        else:
            out[key] = _convert(value, strict)
    if node.get("x-kubernetes-int-or-string"):
        # Kubernetes accepts 8080 or "http" here; OpenAPI has no type for that.
        out.pop("type", None)
        out.setdefault("anyOf", [{"type": "integer"}, {"type": "string"}])
        out.pop("format", None)
    if out.get("nullable") and isinstance(out.get("type"), str):
        out["type"] = [out["type"], "null"]
    out.pop("nullable", None)
    preserve = node.get("x-kubernetes-preserve-unknown-fields")
    if strict and "properties" in out and "additionalProperties" not in out and not preserve:
        out["additionalProperties"] = False
    return out


def schemas_from_crd(crd: dict, *, strict: bool = True) -> dict[tuple[str, str, str], dict]:
    """{(group, kind, version): JSON schema} for every served version of one CRD."""
    if crd.get("kind") != "CustomResourceDefinition":
        raise ValueError(f"not a CustomResourceDefinition: {crd.get('kind')!r}")
    spec = crd["spec"]
    group, kind = spec["group"], spec["names"]["kind"]
    out = {}
    for version in spec.get("versions") or []:
        schema = (version.get("schema") or {}).get("openAPIV3Schema")
        if schema is None or not version.get("served", True):
            continue
        converted = _convert(schema, strict)
        converted["$schema"] = "http://json-schema.org/draft-07/schema#"
        # kubeconform checks apiVersion/kind itself; the API server always has metadata.
        converted.setdefault("properties", {}).setdefault("metadata", {"type": "object"})
        out[(group, kind, version["name"])] = converted
    return out


def write_schemas(out_dir: str | Path, crd_files: list[str | Path], *, strict: bool = True) -> list[Path]:
    """Write ``<out_dir>/<group>/<kind lower>_<version>.json`` for every CRD document in `crd_files`."""
    written = []
    for path in crd_files:
        for doc in yaml.safe_load_all(Path(path).read_text()):
            if not doc or doc.get("kind") != "CustomResourceDefinition":
                continue
            for (group, kind, version), schema in schemas_from_crd(doc, strict=strict).items():
                target = Path(out_dir) / group / f"{kind.lower()}_{version}.json"
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_text(json.dumps(schema, indent=1, sort_keys=True))
                written.append(target)
    return written


def main(argv: list[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if len(args) < 2:
        print(__doc__, file=sys.stderr)
        return 2
    written = write_schemas(args[0], args[1:])
    for path in written:
        print(path)
    return 0 if written else 1


if __name__ == "__main__":
    raise SystemExit(main())
