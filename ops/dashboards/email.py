"""Email health: sends, outbox states, and the bounce and spam rates that drive the auto-pause."""

from __future__ import annotations

from grafana_foundation_sdk.builders import dashboard as db

from ops import thresholds as th
from ops.dashboards.panels import (
    RATE,
    Layout,
    Query,
    dashboard,
    series,
    single,
    states,
    value_mapping,
)


def email_health() -> db.Dashboard:
    lay = Layout()
    paused = [value_mapping({"0": ("sending", "green"), "1": ("PAUSED", "red")})]
    d = dashboard(
        "leadstream-email",
        "leadstream / email health",
        "Sends, outbox states, and the bounce and spam rates that drive the auto-pause.",
        ["email"],
    )
    d = d.with_row(db.Row("Deliverability guard").id(lay.take()))
    d = d.with_panel(
        single(
            lay,
            "Sending",
            "1 while the auto-pause holds sending.",
            [Query("max(leadstream_email_sending_paused)", "paused")],
            limits=[(1, "red")],
            mappings=paused,
        )
    )
    d = d.with_panel(
        single(
            lay,
            "Bounce rate",
            f"Hard bounces / sends over the guard's window; pauses above {th.EMAIL_BOUNCE_PAUSE:.0%}.",
            [Query("max(leadstream_email_bounce_rate)", "bounce rate")],
            unit="percentunit",
            limits=[(th.EMAIL_BOUNCE_PAUSE * 0.75, "orange"), (th.EMAIL_BOUNCE_PAUSE, "red")],
        )
    )
    d = d.with_panel(
        single(
            lay,
            "Spam rate",
            f"Spam reports / sends over the window; pauses above {th.EMAIL_SPAM_PAUSE:.1%}.",
            [Query("max(leadstream_email_spam_rate)", "spam rate")],
            unit="percentunit",
            limits=[(th.EMAIL_SPAM_PAUSE * 0.75, "orange"), (th.EMAIL_SPAM_PAUSE, "red")],
        )
    )
    d = d.with_panel(
        single(
            lay,
            "Emails sent (range)",
            "Accepted by SendGrid in the selected time range.",
            [Query("sum(increase(leadstream_emails_sent_total[$__range]))", "sent")],
        )
    )
    d = d.with_panel(
        series(
            lay,
            "Bounce rate against the pause threshold",
            f"Sending pauses while this is above {th.EMAIL_BOUNCE_PAUSE:.0%} (dashed).",
            [Query("max(leadstream_email_bounce_rate)", "bounce rate")],
            unit="percentunit",
            limits=[(th.EMAIL_BOUNCE_PAUSE, "red")],
        )
    )
    d = d.with_panel(
        series(
            lay,
            "Spam rate against the pause threshold",
            f"Sending pauses while this is above {th.EMAIL_SPAM_PAUSE:.1%} (dashed).",
            [Query("max(leadstream_email_spam_rate)", "spam rate")],
            unit="percentunit",
            limits=[(th.EMAIL_SPAM_PAUSE, "red")],
        )
    )
    d = d.with_panel(
        states(
            lay,
            "Auto-pause",
            "When the guard held sending.",
            [Query("max(leadstream_email_sending_paused)", "paused")],
            paused,
            width=24,
        )
    )
    d = d.with_row(db.Row("Sending and the outbox").id(lay.take()))
    d = d.with_panel(
        series(
            lay,
            "Emails sent per minute",
            "Accepted by SendGrid.",
            [Query(f"sum(rate(leadstream_emails_sent_total[{RATE}])) * 60", "sent/min")],
            width=8,
        )
    )
    d = d.with_panel(
        series(
            lay,
            "Outbox entries by status",
            "pending, sent, retryable, failed (from PostgreSQL; max over workers).",
            [Query("max by (status) (leadstream_email_outbox_entries)", "{{status}}")],
            width=8,
        )
    )
    d = d.with_panel(
        series(
            lay,
            "Email deferrals and dead letters",
            "Deferred (send cap, pause, window) and dead-lettered emails.",
            [
                Query(
                    f'sum by (reason) (rate(leadstream_stage_deferrals_total{{stage="email"}}[{RATE}]))',
                    "deferred {{reason}}",
                ),
                Query(
                    f'sum by (reason) (rate(leadstream_dead_letters_total{{stage="email"}}[{RATE}]))',
                    "dead letter {{reason}}",
                ),
            ],
            unit="ops",
            width=8,
        )
    )
    d = d.with_row(db.Row("The record against the email").id(lay.take()))
    d = d.with_panel(
        series(
            lay,
            "Emailed leads whose record says otherwise",
            "Sent in the last hour, the lead's record ended as another state: 0 while the email claim's fence holds "
            "(alert LeadstreamEmailRecordDisagrees; docs/operating.md, Two copies of one lead).",
            [Query("max(leadstream_email_sent_ended_otherwise)", "ended otherwise")],
            limits=[(1, "red")],
            width=24,
        )
    )
    return d
