"""The email stage: compose, then send at most once per idempotency key (see README, email compliance).

    templates/     the email's HTML and plain-text parts
    delivery.py    Composer (copy per vertical, unsubscribe token) and EmailDelivery (outbox → SendGrid)
    guards.py      deliverability guards: caps, warm-up, send window, auto-pause on bounces and spam
    events.py      SendGrid's event webhook: parse, decide suppressions, record once
    stage.py       EmailStage: every lead ends here
    build.py       build_email(settings, pool): wired from the settings
Tables (outbox, suppressions, events): storage.outbox, storage.email_events. HTTP endpoints: leadstream.webhooks.
"""
