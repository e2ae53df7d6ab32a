"""Every LEADSTREAM_* variable the deployment files set names a real setting.

Reads the settings object that exists: the `config` package once the settings refactor (#14)
lands, else `leadstream.settings`. Nested settings follow pydantic-settings: the prefix, then
field names joined by the nested delimiter (`__`), any key for a dict field
(`LEADSTREAM_PROVIDERS__<NAME>__RATE`).
"""

from __future__ import annotations

import importlib
import inspect
import re
import typing

from pydantic import BaseModel
from pydantic_settings import BaseSettings

from ops.generate import ROOT

# Set by the manifests, implemented later in this issue; remove a name once the setting exists.
PENDING = {}
# The nested names the settings refactor (#14) introduces; accepted only while `config` does not exist.
REFACTOR_14 = re.compile(
    r"^LEADSTREAM_(PROVIDERS__[A-Z0-9]+__(RATE|CACHE_TTL_S|COST_USD|DAILY_BUDGET_USD)|EMAIL__[A-Z0-9_]+)$"
)

SCANNED = ["k8s/**/*.yaml", "ops/**/*.yml", "ops/**/*.yaml", "ops/**/*.json", "Dockerfile"]
VARIABLE = re.compile(r"LEADSTREAM_(?:[A-Z0-9_]|<[A-Z]+>)+")


def settings_class() -> tuple[type[BaseSettings], str]:
    for module_name in ("config", "leadstream.settings"):
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name != module_name.split(".")[0] and exc.name != module_name:
                raise
            continue
        candidates = [
            obj
            for obj in vars(module).values()
            if inspect.isclass(obj) and issubclass(obj, BaseSettings) and obj is not BaseSettings
        ]
        if hasattr(module, "Settings"):
            candidates = [module.Settings]
        if candidates:
            return candidates[0], module_name
    raise AssertionError("no settings object found in `config` or `leadstream.settings`")


def _models(annotation) -> list:
    """The BaseModel classes inside an annotation (Optional[...], Union, Annotated unwrapped)."""
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        return _models(typing.get_args(annotation)[0])
    if origin in (typing.Union, getattr(__import__("types"), "UnionType", None)):
        return [m for arg in typing.get_args(annotation) for m in _models(arg)]
    if inspect.isclass(annotation) and issubclass(annotation, BaseModel):
        return [annotation]
    return []


def env_patterns(cls: type[BaseSettings]) -> list[re.Pattern]:
    """Regexes matching every environment variable `cls` reads."""
    config = cls.model_config
    prefix = (config.get("env_prefix") or "").upper()
    delimiter = config.get("env_nested_delimiter")
    patterns: list[str] = []

    def walk(model: type[BaseModel], path: str, depth: int) -> None:
        for name, field in model.model_fields.items():
            alias = field.validation_alias if isinstance(field.validation_alias, str) else field.alias
            key = re.escape((alias or name).upper())
            here = f"{path}{key}"
            patterns.append(here)
            if not delimiter or depth > 4:
                continue
            annotation = field.annotation
            nested = _models(annotation)
            if typing.get_origin(annotation) is dict:
                args = typing.get_args(annotation)
                for inner in _models(args[1]) if len(args) == 2 else []:
                    walk(inner, f"{here}{re.escape(delimiter)}[A-Z0-9_]+?{re.escape(delimiter)}", depth + 1)
            for inner in nested:
                walk(inner, f"{here}{re.escape(delimiter)}", depth + 1)

    walk(cls, re.escape(prefix), 0)
    return [re.compile(f"^{p}$") for p in patterns]


def used_variables() -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    for pattern in SCANNED:
        for path in ROOT.glob(pattern):
            for match in VARIABLE.findall(path.read_text()):
                name = re.sub(r"<[A-Z]+>", "GOOGLE", match)  # a placeholder in prose stands for any name
                found.setdefault(name, set()).add(str(path.relative_to(ROOT)))
    return found


def test_the_checker_knows_real_and_unknown_names():
    patterns = env_patterns(settings_class()[0])
    real = lambda name: any(p.match(name) for p in patterns)
    assert real("LEADSTREAM_KAFKA_BROKER") and real("LEADSTREAM_PARTITIONS")
    assert not real("LEADSTREAM_NOT_A_SETTING") and not real("LEADSTREAM_KAFKA_BROKERS")


def test_nested_settings_are_understood():
    class Provider(BaseModel):
        rate: str = ""

    class Email(BaseModel):
        bounce_pause: float = 0.02

    class Nested(BaseSettings):
        model_config = {"env_prefix": "LEADSTREAM_", "env_nested_delimiter": "__"}
        providers: dict[str, Provider] = {}
        email: Email = Email()
        maybe: Email | None = None

    patterns = env_patterns(Nested)
    real = lambda name: any(p.match(name) for p in patterns)
    assert real("LEADSTREAM_PROVIDERS__GOOGLE__RATE") and real("LEADSTREAM_EMAIL__BOUNCE_PAUSE")
    assert real("LEADSTREAM_MAYBE__BOUNCE_PAUSE")
    assert not real("LEADSTREAM_PROVIDERS__GOOGLE__RATES") and not real("LEADSTREAM_EMAIL__SPAM")


def test_every_leadstream_variable_in_k8s_and_ops_is_a_setting():
    cls, module = settings_class()
    patterns = env_patterns(cls)
    used = used_variables()
    assert len(used) >= 20, "the scan found too few variables: is it looking in the right place?"
    unknown, now_real = [], []
    for name, files in sorted(used.items()):
        real = any(p.match(name) for p in patterns)
        if name in PENDING:
            if real:
                now_real.append(name)
            continue
        if not real and not (module != "config" and REFACTOR_14.match(name)):
            unknown.append(f"{name} ({', '.join(sorted(files))})")
    assert not unknown, f"not settings of {module}.{cls.__name__}: " + "; ".join(unknown)
    assert not now_real, f"now real settings, drop them from PENDING: {now_real}"
