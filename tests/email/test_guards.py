"""Deliverability guards on real PostgreSQL: caps, warm-up, per-domain caps, send
windows across time zones, and the bounce/spam pause that lifts by itself."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from stages.email.events import EventStore, SendGridEvent
from stages.email.guards import STATE_TIMEZONES, SendGuards, timezone_for_state

pytestmark = pytest.mark.services

NOW = datetime(2026, 6, 10, 15, 0, tzinfo=UTC)  # a Wednesday: 11:00 in New York, 08:00 in Los Angeles
TODAY = date(2026, 6, 10)
NY = "America/New_York"


def guards(pool, **overrides) -> SendGuards:
    options = dict(
        daily_cap=1000, per_domain_daily_cap=1000, warmup=[], first_send_date=TODAY - timedelta(days=30), sender_tz=NY
    )
    options.update(overrides)
    return SendGuards(pool, **options)


_SEQ = iter(range(10**9))


async def sends(pool, count: int, at: datetime, *, domain: str = "example.com", status: str = "sent") -> None:
    """`count` outbox rows to distinct recipients at `domain`, sent (or claimed, for pending) at `at`."""
    base = next(_SEQ) * 100_000
    await pool.execute(
        """INSERT INTO email_outbox (idempotency_key, lead_id, campaign_step, recipient, status, claimed_at, sent_at)
           SELECT 'ld' || i || ':intro', 'ld' || i, 'intro', 'owner' || i || '@' || $2::text, $3::text,
                  $4::timestamptz, CASE WHEN $3::text = 'sent' THEN $4::timestamptz END
           FROM generate_series($1::int + 1, $1::int + $5) AS i""",
        base,
        domain,
        status,
        at,
        count,
    )


async def events(pool, kind: str, count: int, at: datetime, bounce_type: str | None = None) -> None:
    await EventStore(pool).record(
        [SendGridEvent(f"m{next(_SEQ)}", kind, at, f"x{i}@example.com", bounce_type=bounce_type) for i in range(count)]
    )


def seconds_until_midnight_ny(now: datetime) -> float:
    tomorrow = now.astimezone(ZoneInfo(NY)).date() + timedelta(days=1)
    return (datetime.combine(tomorrow, datetime.min.time(), tzinfo=ZoneInfo(NY)) - now).total_seconds()


# --- caps -------------------------------------------------------------------------------------------------------


async def test_warmup_caps_grow_day_by_day_then_daily_cap_applies(pool):
    guard = guards(pool, daily_cap=6, warmup=[2, 4], first_send_date=TODAY)
    assert [guard.cap_for(TODAY + timedelta(days=d)) for d in range(4)] == [2, 4, 6, 6]
    assert (await guard.check("a@one.com", NY, now=NOW)).allowed
    await sends(pool, 2, NOW - timedelta(hours=1))
    decision = await guard.check("a@one.com", NY, now=NOW)
    assert not decision.allowed and "warm-up cap of 2" in decision.reason
    assert decision.retry_after_s == pytest.approx(seconds_until_midnight_ny(NOW))  # 13 h: 11:00 → midnight NY
    tomorrow = NOW + timedelta(days=1)
    assert (await guard.check("a@one.com", NY, now=tomorrow)).allowed  # yesterday's sends do not count
    await sends(pool, 4, tomorrow - timedelta(hours=2))
    assert "warm-up cap of 4" in (await guard.check("a@one.com", NY, now=tomorrow)).reason
    later = NOW + timedelta(days=5)
    await sends(pool, 5, later - timedelta(hours=1))
    assert (await guard.check("a@one.com", NY, now=later)).allowed
    await sends(pool, 1, later - timedelta(minutes=5), status="pending")  # in flight counts too
    decision = await guard.check("a@one.com", NY, now=later)
    assert not decision.allowed and decision.reason == "daily cap of 6 reached"


async def test_day_is_the_senders_calendar_day(pool):
    guard = guards(pool, daily_cap=3)
    # 03:00 UTC on the 10th is still the 9th (23:00) in New York: those sends belong to yesterday.
    await sends(pool, 3, datetime(2026, 6, 10, 3, 0, tzinfo=UTC))
    assert (await guard.check("a@b.com", NY, now=NOW)).allowed
    await sends(pool, 3, datetime(2026, 6, 10, 5, 0, tzinfo=UTC))  # 01:00 on the 10th in New York
    assert not (await guard.check("a@b.com", NY, now=NOW)).allowed


async def test_per_domain_cap_blocks_only_that_domain(pool):
    guard = guards(pool, per_domain_daily_cap=2)
    await sends(pool, 2, NOW - timedelta(hours=3), domain="acme.com")
    await sends(pool, 1, NOW - timedelta(hours=3), domain="other.com")
    decision = await guard.check("Boss@ACME.com", NY, now=NOW)
    assert not decision.allowed and "acme.com" in decision.reason
    assert decision.retry_after_s == pytest.approx(seconds_until_midnight_ny(NOW))
    assert (await guard.check("boss@other.com", NY, now=NOW)).allowed
    assert (await guard.check("boss@acme.co", NY, now=NOW)).allowed


# --- send window --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("tz", "allowed", "retry_h"),
    [
        ("America/New_York", True, 0),  # 11:00
        ("America/Chicago", True, 0),  # 10:00
        ("America/Los_Angeles", False, 1),  # 08:00 → opens at 09:00
        ("Pacific/Honolulu", False, 4),  # 05:00
        ("Europe/London", True, 0),  # 16:00
        ("Europe/Berlin", False, 16),  # 17:00 → closed until 09:00 tomorrow
        ("Asia/Tokyo", False, 9),  # 00:00 on the 11th
    ],
)
async def test_send_window_follows_the_recipients_zone(pool, tz, allowed, retry_h):
    decision = await guards(pool).check("a@b.com", tz, now=NOW)
    assert decision.allowed is allowed
    assert decision.retry_after_s == pytest.approx(retry_h * 3600)
    if not allowed:
        assert decision.reason == "outside the recipient's send window"


async def test_unknown_zone_uses_the_senders(pool):
    guard = guards(pool)
    evening = datetime(2026, 6, 10, 22, 30, tzinfo=UTC)  # 18:30 in New York, 15:30 in Los Angeles
    for tz in (None, "", "Not/AZone"):
        decision = await guard.check("a@b.com", tz, now=evening)
        assert not decision.allowed and decision.retry_after_s == pytest.approx(14.5 * 3600)
    assert (await guard.check("a@b.com", "America/Los_Angeles", now=evening)).allowed


def test_state_timezones():
    assert timezone_for_state("TX") == "America/Chicago"
    assert timezone_for_state(" az ") == "America/Phoenix"
    assert timezone_for_state("NY") == "America/New_York"
    assert timezone_for_state("CA") == "America/Los_Angeles"
    assert timezone_for_state("HI") == "Pacific/Honolulu"
    assert len({s for s in STATE_TIMEZONES if s not in ("PR", "VI", "GU", "MP", "AS")}) == 51  # 50 states + DC
    for zone in set(STATE_TIMEZONES.values()):
        ZoneInfo(zone)
    with pytest.raises(KeyError):
        timezone_for_state("ZZ")


# --- bounce and spam pause -----------------------------------------------------------------------------------------


async def test_bounce_spike_pauses_and_sending_resumes_when_it_clears(pool):
    guard = guards(pool, window_s=3600, min_sample=50)
    await sends(pool, 100, NOW - timedelta(minutes=50))
    await events(pool, "bounce", 2, NOW - timedelta(minutes=45), bounce_type="bounce")
    assert (await guard.check("a@b.com", NY, now=NOW)).allowed  # 2 % is not above 2 %
    await events(pool, "bounce", 5, NOW - timedelta(minutes=40), bounce_type="blocked")  # soft: not counted
    assert (await guard.check("a@b.com", NY, now=NOW)).allowed
    await events(pool, "bounce", 1, NOW - timedelta(minutes=30), bounce_type="bounce")
    decision = await guard.check("a@b.com", NY, now=NOW)
    assert not decision.allowed and decision.reason.startswith("paused: bounce rate 3.00%")
    assert 0 < decision.retry_after_s <= 3600
    # Clean sends keep flowing in the sliding window; once the bounces age out, sending resumes by itself.
    await sends(pool, 100, NOW + timedelta(minutes=10))
    assert not (await guard.check("a@b.com", NY, now=NOW + timedelta(minutes=12))).allowed  # 3 / 100 still in window
    assert (await guard.check("a@b.com", NY, now=NOW + timedelta(minutes=20))).allowed  # 1 / 100


async def test_spam_spike_pauses_and_resumes(pool):
    guard = guards(pool, window_s=3600, min_sample=50, daily_cap=5000)
    await sends(pool, 500, NOW - timedelta(minutes=30))
    assert (await guard.check("a@b.com", NY, now=NOW)).allowed
    await events(pool, "spamreport", 1, NOW - timedelta(minutes=10))  # 1 / 500 = 0.2 % > 0.1 %
    decision = await guard.check("a@b.com", NY, now=NOW)
    assert not decision.allowed and decision.reason.startswith("paused: spam rate 0.20%")
    await sends(pool, 1000, NOW + timedelta(minutes=5))  # 1 / 1500 = 0.067 %
    assert (await guard.check("a@b.com", NY, now=NOW + timedelta(minutes=6))).allowed


async def test_no_pause_below_the_minimum_sample(pool):
    guard = guards(pool, window_s=3600, min_sample=50)
    await sends(pool, 10, NOW - timedelta(minutes=30))
    await events(pool, "bounce", 5, NOW - timedelta(minutes=20), bounce_type="bounce")
    assert (await guard.check("a@b.com", NY, now=NOW)).allowed
    await sends(pool, 40, NOW - timedelta(minutes=10))  # 5 / 50 = 10 %
    assert not (await guard.check("a@b.com", NY, now=NOW)).allowed
