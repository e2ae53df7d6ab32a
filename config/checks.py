"""What a worker refuses to start with, and the settings as safe to print (`leadstream settings`)."""

from __future__ import annotations

import importlib.util
import ipaddress
from datetime import time
from typing import Any

from pydantic import BaseModel

from config.redact import redact
from config.sections import DEFAULT_UNSUBSCRIBE_SECRET, MIN_SECRET_CHARS
from config.settings import Settings, SettingsError, env_var

_NEW_SECRET = "python -c 'import secrets; print(secrets.token_urlsafe(32))'"


def worker_problems(settings: Settings) -> list[str]:
    """What a worker must not start with, though other commands may (`leadstream settings`, `ingest`):
    one line per problem, naming the variable. The demo sets its own values."""
    problems: list[str] = []
    token_variable = env_var(("web_token",))
    if settings.web_enabled and not settings.web_token and not _is_loopback(settings.web_bind):
        problems.append(
            f"{env_var(('web_bind',))}={settings.web_bind} serves table views (lead data) and metrics beyond this "
            f"host: set {token_variable} ({_NEW_SECRET}) or bind 127.0.0.1"
        )
    if settings.web_token and len(settings.web_token) < MIN_SECRET_CHARS:
        problems.append(
            f"{token_variable} has {len(settings.web_token)} characters; use a random one of at least "
            f"{MIN_SECRET_CHARS} ({_NEW_SECRET})"
        )
    if settings.event_loop == "uvloop" and importlib.util.find_spec("uvloop") is None:
        problems.append(
            f"{env_var(('event_loop',))}=uvloop but the uvloop package is not installed (pip install uvloop, "
            f"or {env_var(('event_loop',))}=asyncio)"
        )
    if settings.heartbeat_interval_s * 3 > settings.session_timeout_s:
        problems.append(
            f"{env_var(('heartbeat_interval_s',))}={settings.heartbeat_interval_s} is more than a third of "
            f"{env_var(('session_timeout_s',))}={settings.session_timeout_s}: one late heartbeat would drop the worker"
        )
    if "email" in settings.stages:
        secret = settings.email.unsubscribe_secret
        variable = env_var(("email", "unsubscribe_secret"))
        if secret == DEFAULT_UNSUBSCRIBE_SECRET:
            problems.append(
                f"{variable} is the default {DEFAULT_UNSUBSCRIBE_SECRET!r}: anyone could forge unsubscribe links. "
                f"Set a random one ({_NEW_SECRET})"
            )
        elif len(secret) < MIN_SECRET_CHARS:
            problems.append(
                f"{variable} has {len(secret)} characters; use a random one of at least {MIN_SECRET_CHARS} "
                f"({_NEW_SECRET})"
            )
    return problems


def _is_loopback(host: str) -> bool:
    if host.strip().lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip().strip("[]")).is_loopback
    except ValueError:
        return False  # a host name may resolve anywhere


def check_worker_settings(settings: Settings) -> None:
    """Raise `SettingsError` listing `worker_problems`, if any."""
    problems = worker_problems(settings)
    if problems:
        raise SettingsError("refusing to start a worker:\n  " + "\n  ".join(problems))


_SECRET_WORDS = frozenset({"key", "secret", "password", "token"})


def mask(name: str, value: Any) -> str:
    """A setting's value as safe to print: secrets as ***, and a password inside a URL as ***.

    A secret is a setting whose name ends in one of `_SECRET_WORDS` (``hunter_api_key``, ``web_token``):
    ``key_cache_s`` and ``unsubscribe_token_days`` are seconds and days, and are shown.
    """
    if value in (None, "", [], {}):
        return "" if value is None else str(value)
    if name.lower().rsplit("_", 1)[-1] in _SECRET_WORDS:
        return "***"
    return redact(str(value))


def listing(settings: Settings) -> list[tuple[str, str, str]]:
    """(variable, value as safe to print, description) for every setting, nested ones expanded."""
    rows: list[tuple[str, str, str]] = []

    def walk(model: BaseModel, loc: tuple[str, ...]) -> None:
        for name, field in type(model).model_fields.items():
            value = getattr(model, name)
            if isinstance(value, BaseModel):
                walk(value, (*loc, name))
            elif isinstance(value, dict) and value and all(isinstance(v, BaseModel) for v in value.values()):
                for key, item in value.items():
                    walk(item, (*loc, name, key))
            else:
                shown = value
                if isinstance(value, tuple) and value and all(isinstance(v, time) for v in value):
                    shown = "-".join(v.strftime("%H:%M") for v in value)
                elif isinstance(value, (list, tuple, frozenset)):
                    shown = ",".join(str(v) for v in (sorted(value) if isinstance(value, frozenset) else value))
                elif isinstance(value, dict):
                    shown = ";".join(f"{k}={','.join(v)}" for k, v in value.items())
                rows.append((env_var((*loc, name)), mask(name, shown), field.description or ""))

    walk(settings, ())
    return rows
