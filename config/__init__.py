"""The settings: one typed object read from ``LEADSTREAM_*`` and validated at start (`config.settings`; its nested parts in `config.sections`, worker checks and the listing in `config.checks`)."""

from config.checks import check_worker_settings
from config.sections import DEFAULT_PROVIDERS, EmailSettings, ProviderConfig, RetentionSettings
from config.settings import (
    VERSION,
    WATERFALL_PROVIDERS,
    Settings,
    SettingsError,
    describe_errors,
    env_var,
    get_settings,
    load_settings,
    parse_waterfall,
)

__all__ = [
    "DEFAULT_PROVIDERS",
    "VERSION",
    "WATERFALL_PROVIDERS",
    "EmailSettings",
    "ProviderConfig",
    "RetentionSettings",
    "Settings",
    "SettingsError",
    "check_worker_settings",
    "describe_errors",
    "env_var",
    "get_settings",
    "load_settings",
    "parse_waterfall",
]
