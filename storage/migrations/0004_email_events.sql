-- index-lock: email_outbox_sent_at_idx on email_outbox (one row per email sent) holds its writes while it
--   builds; on a large outbox create it first by hand with CREATE INDEX CONCURRENTLY (docs/upgrades.md).
-- SendGrid Event Webhook: every event once, and the signatures already seen.
-- Applied by the migration runner in name order; no transaction statements here.

-- One row per (message, event, time): `sg_event_id` changes when SendGrid
-- retries a post, so it is kept for reference but is not the key.
CREATE TABLE IF NOT EXISTS email_events (
    id            BIGSERIAL PRIMARY KEY,
    sg_message_id TEXT NOT NULL,            -- '' when the event carries none
    event         TEXT NOT NULL,            -- processed, delivered, bounce, dropped, spamreport, ...
    event_at      TIMESTAMPTZ NOT NULL,     -- the event's own `timestamp`
    email         TEXT,
    bounce_type   TEXT,                     -- bounce events: 'bounce' (hard) or 'blocked' (soft)
    reason        TEXT,
    sg_event_id   TEXT,
    payload       JSONB NOT NULL,
    received_at   TIMESTAMPTZ NOT NULL DEFAULT now(),
    UNIQUE (sg_message_id, event, event_at)
);
CREATE INDEX IF NOT EXISTS email_events_kind_time ON email_events (event, event_at);

-- Replay guard: a signed webhook request is accepted once.
CREATE TABLE IF NOT EXISTS webhook_signatures (
    signature   TEXT PRIMARY KEY,
    signed_at   TIMESTAMPTZ NOT NULL,       -- the request's signed timestamp header
    received_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS webhook_signatures_signed_at ON webhook_signatures (signed_at);

-- Send guards count today's and the sliding window's sends by time.
CREATE INDEX IF NOT EXISTS email_outbox_sent_at_idx ON email_outbox (sent_at) WHERE status = 'sent';
