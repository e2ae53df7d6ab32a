"""The settings: typed nested values from LEADSTREAM_* variables, validated at start with clear messages."""

from __future__ import annotations

from datetime import time

import pytest

from config import SettingsError, load_settings
from config.checks import listing


@pytest.fixture
def env(monkeypatch):
    for name in ("LEADSTREAM_STAGES", "LEADSTREAM_PROVIDERS", "LEADSTREAM_MOCKUP_TIERS", "LEADSTREAM_ENRICH_WATERFALL"):
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def test_one_provider_field_keeps_every_other_default(env):
    env.setenv("LEADSTREAM_PROVIDERS__HUNTER__RATE", "50/second")
    providers = load_settings().providers
    assert providers["hunter"].rate == "50/second"
    assert providers["hunter"].cost_usd == 0.01 and providers["hunter"].cache_ttl_s == 604800
    assert providers["google"].rate == "10/second" and providers["google"].cost_usd == 0.032


def test_a_provider_json_value_merges_with_the_defaults(env):
    env.setenv("LEADSTREAM_PROVIDERS", '{"google": {"daily_budget_usd": 50}, "ollama": {"rate": "2/second"}}')
    providers = load_settings().providers
    assert providers["google"].daily_budget_usd == 50.0 and providers["google"].rate == "10/second"
    assert providers["ollama"].rate == "2/second" and providers["ollama"].cache_ttl_s == 0
    assert providers["yelp"].rate == "5/second"


def test_email_mini_formats_are_parsed_once(env):
    env.setenv("LEADSTREAM_EMAIL__WARMUP", "10, 20,40")
    env.setenv("LEADSTREAM_EMAIL__SEND_WINDOW", "8-24")
    env.setenv("LEADSTREAM_EMAIL__FIRST_SEND_DATE", "2026-03-01")
    email = load_settings().email
    assert email.warmup == [10, 20, 40]
    assert email.send_window == (time(8), time(0)) and email.window_hours == (8, 24)
    assert str(email.first_send_date) == "2026-03-01"


async def test_the_email_claim_waits_are_settings_the_stage_is_built_with(env):
    from stages.email.build import build_email

    env.setenv("LEADSTREAM_EMAIL__SETTLE_AFTER_DEATH_S", "5")
    env.setenv("LEADSTREAM_EMAIL__CLAIM_POLL_S", "0.5")
    settings = load_settings()
    stage = await build_email(settings, pool=None)  # type: ignore[arg-type]  # nothing is queried here
    assert (stage.delivery.settle_after_death_s, stage.delivery.poll_s) == (5.0, 0.5)


async def test_the_phone_directorys_keys_are_settings_the_dedupe_stage_is_built_with(env):
    from stages.dedupe.build import build_dedupe
    from stages.dedupe.engine import EntityResolver

    env.setenv("LEADSTREAM_DEDUPE_LLM", "false")
    for street, town, kinds in (
        ("false", "true", {"phone", "name_city"}),
        ("true", "false", {"phone", "name_street"}),
        ("true", "true", {"phone", "name_street", "name_city"}),
    ):
        env.setenv("LEADSTREAM_DEDUPE_NAME_STREET_KEYS", street)
        env.setenv("LEADSTREAM_DEDUPE_NAME_CITY_KEYS", town)
        stage = await build_dedupe(load_settings(), pool=None, resolver=EntityResolver({}))  # type: ignore[arg-type]
        assert stage.phones is not None and stage.phones.kinds == kinds
    env.setenv("LEADSTREAM_DEDUPE_PHONE_DIRECTORY", "false")
    assert (await build_dedupe(load_settings(), pool=None, resolver=EntityResolver({}))).phones is None  # type: ignore[arg-type]


def test_stages_tiers_and_waterfall_are_parsed(env):
    env.setenv("LEADSTREAM_STAGES", "score, email")
    env.setenv("LEADSTREAM_MOCKUP_TIERS", "A,B")
    env.setenv("LEADSTREAM_ENRICH_WATERFALL", "email=hunter,website;performance=http")
    s = load_settings()
    assert s.stages == ("score", "email") and s.mockup_tiers == frozenset({"A", "B"})
    assert s.enrich_waterfall == {"email": ["hunter", "website"], "performance": ["http"]}
    assert load_settings(stages="all").stage_list == ["scrape", "enrich", "dedupe", "score", "mockup", "email"]


@pytest.mark.parametrize(
    ("variable", "value", "problem"),
    [
        ("LEADSTREAM_PROVIDERS__HUNTER__RATE", "fifty", "LEADSTREAM_PROVIDERS__HUNTER__RATE: 'fifty' is not a rate"),
        ("LEADSTREAM_PARTITIONS", "0", "LEADSTREAM_PARTITIONS: Input should be greater than or equal to 1"),
        (
            "LEADSTREAM_FETCH_MAX_WAIT_MS",
            "5000",
            "LEADSTREAM_FETCH_MAX_WAIT_MS: Input should be less than or equal to 1500",
        ),
        ("LEADSTREAM_STAGES", "scrape,mokup", "LEADSTREAM_STAGES: unknown stages ['mokup']"),
        ("LEADSTREAM_EVENT_LOOP", "trio", "LEADSTREAM_EVENT_LOOP: String should match pattern"),
        (
            "LEADSTREAM_EMAIL__SENDER_TZ",
            "Mars/Olympus",
            "LEADSTREAM_EMAIL__SENDER_TZ: 'Mars/Olympus' is not an IANA time zone",
        ),
        ("LEADSTREAM_EMAIL__SEND_WINDOW", "17-9", "LEADSTREAM_EMAIL__SEND_WINDOW: the window must end after it starts"),
        ("LEADSTREAM_EMAIL__WARMUP", "50,lots", "LEADSTREAM_EMAIL__WARMUP: Input should be a valid integer"),
        (
            "LEADSTREAM_ENRICH_WATERFALL",
            "email=hunter,clearbit",
            "LEADSTREAM_ENRICH_WATERFALL: email: unknown providers ['clearbit']",
        ),
        ("LEADSTREAM_ENRICH_WATERFALL", "phone=website", "LEADSTREAM_ENRICH_WATERFALL: unknown field 'phone'"),
        (
            "LEADSTREAM_PROVIDER_RATE_LIMITS",
            "hunter=5/second",
            "LEADSTREAM_PROVIDER_RATE_LIMITS is now LEADSTREAM_PROVIDERS__<NAME>__RATE",
        ),
    ],
)
def test_a_bad_value_names_the_variable_and_the_problem(env, variable, value, problem):
    env.setenv(variable, value)
    with pytest.raises(SettingsError) as caught:
        load_settings()
    message = str(caught.value)
    assert problem in message
    assert message.count("\n  ") == 1  # one problem, one line


def test_listing_names_nested_variables_and_masks_secrets(env):
    env.setenv("LEADSTREAM_DATABASE_URL", "postgresql://app:hunter2@db:5432/leads")
    env.setenv("LEADSTREAM_HUNTER_API_KEY", "abc123")
    rows = {variable: value for variable, value, _ in listing(load_settings())}
    assert rows["LEADSTREAM_DATABASE_URL"] == "postgresql://app:***@db:5432/leads"
    assert rows["LEADSTREAM_HUNTER_API_KEY"] == "***"
    assert rows["LEADSTREAM_EMAIL__UNSUBSCRIBE_SECRET"] == "***"
    assert rows["LEADSTREAM_API__KEY_CACHE_S"] not in ("***", "")  # a duration named after keys, not a secret
    assert rows["LEADSTREAM_EMAIL__UNSUBSCRIBE_TOKEN_DAYS"] not in ("***", "")
    assert rows["LEADSTREAM_PROVIDERS__GOOGLE__COST_USD"] == "0.032"
    assert rows["LEADSTREAM_EMAIL__SEND_WINDOW"] == "09:00-17:00"
    assert rows["LEADSTREAM_FETCH_MAX_WAIT_MS"] == "250"
    assert "hunter2" not in repr(rows) and "abc123" not in repr(rows)


def test_a_worker_refuses_uvloop_when_it_is_not_installed(env):
    import importlib.util

    from config.checks import worker_problems

    env.setenv("LEADSTREAM_EVENT_LOOP", "uvloop")
    settings = load_settings()
    real = importlib.util.find_spec
    env.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "uvloop" else real(name, *a))
    assert any(
        "LEADSTREAM_EVENT_LOOP=uvloop but the uvloop package is not installed" in p for p in worker_problems(settings)
    )
