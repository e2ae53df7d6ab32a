"""The settings: one typed object read from ``LEADSTREAM_*`` and validated at start (`config.settings`)."""

from config.settings import (
    DEFAULT_PROVIDERS,
    VERSION,
    WATERFALL_PROVIDERS,
    EmailSettings,
    ProviderConfig,
    Settings,
    SettingsError,
    check_worker_settings,
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
    "Settings",
    "SettingsError",
    "check_worker_settings",
    "describe_errors",
    "env_var",
    "get_settings",
    "load_settings",
    "parse_waterfall",
]
