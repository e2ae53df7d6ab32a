"""No credential reaches output: API keys in logged request URLs, passwords in connection URLs
(`leadstream settings` and any log line), bearer tokens."""

from __future__ import annotations

import logging

import pytest

from config.checks import listing
from config.redact import redact
from config.settings import load_settings
from providers.emailfinder import HunterClient
from providers.pagespeed import PageSpeedClient
from simulator.websites import domain_for_profile

PSI_KEY = "AIzaSyD-pagespeed-secret-0123456789"
HUNTER_KEY = "sim-hunter-key-0123456789"


async def test_provider_keys_never_appear_in_httpx_request_logs(fresh_sim, caplog) -> None:
    base_url, sim = fresh_sim
    caplog.set_level(logging.INFO)
    pagespeed = PageSpeedClient(base_url, api_key=PSI_KEY, timeout_s=5)
    hunter = HunterClient(base_url, HUNTER_KEY, timeout_s=5)
    try:
        await pagespeed.run(f"http://{domain_for_profile(sim.config.seed, 'nextjs')}/")
        await hunter.domain_search("acmeplumbing.com")
    finally:
        await pagespeed.aclose()
        await hunter.aclose()
    requests = [r.getMessage() for r in caplog.records if r.name == "httpx"]
    assert len(requests) == 2  # the lines are still there, with the URLs
    assert "runPagespeed?" in requests[0] and "&key=***" in requests[0]
    assert "domain-search?" in requests[1] and "api_key=***" in requests[1]
    assert PSI_KEY not in caplog.text and HUNTER_KEY not in caplog.text


def test_any_log_line_is_redacted(caplog) -> None:
    caplog.set_level(logging.INFO)
    log = logging.getLogger("leadstream.test.redaction")
    log.info("connecting to %s", "postgresql://app:hunter2@db:5432/leads?sslmode=require")
    log.warning("redis at redis://:s3cr3t-pw@cache:6379/0 and %s", {"url": "http://x/?token=abc.def&page=2"})
    log.error("upstream answered for Authorization: Bearer eyJhbGciOi.payload.sig")
    text = caplog.text
    for secret in ("hunter2", "s3cr3t-pw", "abc.def", "eyJhbGciOi"):
        assert secret not in text
    assert "postgresql://app:***@db:5432/leads?sslmode=require" in text and "page=2" in text


def test_a_redacted_record_still_formats_under_the_workers_log_formatter() -> None:
    """Workers log through mode's formatter, which wraps non-tuple args: a redacted record must still format
    (it once printed "--- Logging error --- not all arguments converted" for every httpx request line)."""
    from mode.utils.logging import ExtensionFormatter

    record = logging.getLogger("httpx").makeRecord(
        "httpx", logging.INFO, __file__, 1, "HTTP Request: %s %s", ("GET", "http://x/?api_key=abc"), None
    )
    text = ExtensionFormatter(fmt="%(message)s").format(record)
    assert text.endswith("HTTP Request: GET http://x/?api_key=***")


@pytest.mark.parametrize(
    ("given", "shown"),
    [
        ("postgresql://app:hunter2@db:5432/leads", "postgresql://app:***@db:5432/leads"),
        (
            "postgresql://app@db/leads?password=hunter2&sslmode=require",
            "postgresql://app@db/leads?password=***&sslmode=require",
        ),
        ("redis://:hunter2@cache:6379/0", "redis://:***@cache:6379/0"),
        ("kafka://u:hunter2@k1:9092;kafka://u:hunter2@k2:9092", "kafka://u:***@k1:9092;kafka://u:***@k2:9092"),
        ("https://api.example/v1?key=hunter2", "https://api.example/v1?key=***"),
        ("http://proxy.example:3128", "http://proxy.example:3128"),
    ],
)
def test_redact_masks_every_url_credential_shape(given: str, shown: str) -> None:
    assert redact(given) == shown


def test_settings_listing_masks_passwords_inside_urls(monkeypatch) -> None:
    monkeypatch.setenv("LEADSTREAM_DATABASE_URL", "postgresql://app@db/leads?password=hunter2")
    monkeypatch.setenv("LEADSTREAM_REDIS_URL", "redis://default:hunter2@cache:6379/0")
    monkeypatch.setenv("LEADSTREAM_KAFKA_BROKER", "kafka://u:hunter2@k1:9092;kafka://u:hunter2@k2:9092")
    monkeypatch.setenv("LEADSTREAM_WEB_PROXY", "http://scraper:hunter2@proxy:3128")
    rows = {variable: value for variable, value, _ in listing(load_settings())}
    assert "hunter2" not in repr(rows)
    assert rows["LEADSTREAM_REDIS_URL"] == "redis://default:***@cache:6379/0"
