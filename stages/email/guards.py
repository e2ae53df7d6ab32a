"""Deliverability guards: decide whether an email may be sent now, or how long to wait.

A refusal never drops the email: the caller keeps it queued and asks again
after `retry_after_s`. Checks, cheapest and most global first: sending paused
by a bounce or spam-report spike over the sliding window; the recipient's
local send window; the warm-up / daily cap; the per-domain daily cap. "Today"
is the sender's calendar day. Counts include sends claimed but not yet marked
sent (status `pending`), so parallel workers do not overshoot a cap by much.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from storage.db import Pool
from storage.email_events import EmailEvents
from storage.outbox import Outbox
from streams import metrics

PAUSE_RECHECK_S = 300.0

_STATE_ZONES = {
    "America/New_York": "CT DC DE FL GA IN MA MD ME MI NC NH NJ NY OH PA RI SC VA VT WV",
    "America/Chicago": "AL AR IA IL KS KY LA MN MO MS ND NE OK SD TN TX WI",
    "America/Denver": "CO MT NM UT WY ID",
    "America/Phoenix": "AZ",
    "America/Los_Angeles": "CA NV OR WA",
    "America/Anchorage": "AK",
    "Pacific/Honolulu": "HI",
    "America/Puerto_Rico": "PR VI",
    "Pacific/Guam": "GU MP",
    "Pacific/Pago_Pago": "AS",
}
STATE_TIMEZONES: dict[str, str] = {state: zone for zone, states in _STATE_ZONES.items() for state in states.split()}


def timezone_for_state(state: str) -> str:
    """The main IANA zone of a US state or territory (two-letter code). Raises KeyError for an unknown code."""
    return STATE_TIMEZONES[state.strip().upper()]


@dataclass(frozen=True)
class GuardDecision:
    allowed: bool
    reason: str | None = None
    retry_after_s: float = 0.0


ALLOW = GuardDecision(True)


class SendGuards:
    def __init__(
        self,
        pool: Pool,
        *,
        daily_cap: int,
        per_domain_daily_cap: int,
        warmup: list[int],
        first_send_date: date,
        window_start_hour: int = 9,
        window_end_hour: int = 17,
        bounce_pause: float = 0.02,
        spam_pause: float = 0.001,
        window_s: float = 3600,
        min_sample: int = 50,
        sender_tz: str = "UTC",
    ) -> None:
        if not 0 <= window_start_hour < window_end_hour <= 24:
            raise ValueError("send window must satisfy 0 <= start < end <= 24")
        self.outbox, self.events = Outbox(pool), EmailEvents(pool)
        self.daily_cap, self.per_domain_daily_cap = daily_cap, per_domain_daily_cap
        self.warmup, self.first_send_date = list(warmup), first_send_date
        self.window_start_hour, self.window_end_hour = window_start_hour, window_end_hour
        self.bounce_pause, self.spam_pause = bounce_pause, spam_pause
        self.window_s, self.min_sample = window_s, min_sample
        self.sender_zone = ZoneInfo(sender_tz)

    def cap_for(self, day: date) -> int:
        """Today's overall cap: the warm-up step for the first days, then the daily cap."""
        index = max((day - self.first_send_date).days, 0)
        return min(self.daily_cap, self.warmup[index]) if index < len(self.warmup) else self.daily_cap

    async def check(self, recipient: str, recipient_tz: str | None, now: datetime | None = None) -> GuardDecision:
        """May an email to `recipient` (in IANA zone `recipient_tz`, None → the sender's) go out at `now`?"""
        now = (now or datetime.now(UTC)).astimezone(UTC)
        decision = await self._health(now)
        if decision.allowed:
            decision = self._send_window(now, self._zone(recipient_tz))
        if decision.allowed:
            decision = await self._caps(recipient, now)
        return decision

    async def _health(self, now: datetime) -> GuardDecision:
        sent, bounced, spam = await self.events.rates(self.window_s, now=now)
        decision = self._judge(sent, bounced, spam)
        metrics.EMAIL_BOUNCE_RATE.set(bounced / sent if sent else 0.0)
        metrics.EMAIL_SPAM_RATE.set(spam / sent if sent else 0.0)
        metrics.EMAIL_SENDING_PAUSED.set(0 if decision.allowed else 1)
        return decision

    async def health(self, now: datetime | None = None) -> GuardDecision:
        """Is sending paused by the bounce/spam rates now? (Also sets the email rate gauges.)"""
        return await self._health((now or datetime.now(UTC)).astimezone(UTC))

    def _judge(self, sent: int, bounced: int, spam: int) -> GuardDecision:
        if sent < self.min_sample:
            return ALLOW
        retry = min(PAUSE_RECHECK_S, self.window_s)
        if bounced / sent > self.bounce_pause:
            return GuardDecision(
                False, f"paused: bounce rate {bounced / sent:.2%} over the last {self.window_s:g}s", retry
            )
        if spam / sent > self.spam_pause:
            return GuardDecision(False, f"paused: spam rate {spam / sent:.2%} over the last {self.window_s:g}s", retry)
        return ALLOW

    def _send_window(self, now: datetime, zone: ZoneInfo) -> GuardDecision:
        local = now.astimezone(zone)
        if self.window_start_hour <= local.hour < self.window_end_hour:
            return ALLOW
        day = local.date() if local.hour < self.window_start_hour else local.date() + timedelta(days=1)
        opens = datetime.combine(day, time(self.window_start_hour), tzinfo=zone)
        return GuardDecision(False, "outside the recipient's send window", (opens - now).total_seconds())

    async def _caps(self, recipient: str, now: datetime) -> GuardDecision:
        today = now.astimezone(self.sender_zone).date()
        day_start = datetime.combine(today, time(0), tzinfo=self.sender_zone)
        day_end = datetime.combine(today + timedelta(days=1), time(0), tzinfo=self.sender_zone)
        domain = recipient.strip().lower().rpartition("@")[2]
        total, to_domain = await self.outbox.sends_between(day_start, day_end, domain)
        until_tomorrow = (day_end - now).total_seconds()
        cap = self.cap_for(today)
        if total >= cap:
            kind = "warm-up cap" if cap < self.daily_cap else "daily cap"
            return GuardDecision(False, f"{kind} of {cap} reached", until_tomorrow)
        if to_domain >= self.per_domain_daily_cap:
            return GuardDecision(
                False, f"per-domain cap of {self.per_domain_daily_cap} reached for {domain}", until_tomorrow
            )
        return ALLOW

    def _zone(self, name: str | None) -> ZoneInfo:
        if not name:
            return self.sender_zone
        try:
            return ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            return self.sender_zone
