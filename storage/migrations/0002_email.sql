-- The outbox: a send is claimed here under a unique key before it is made,
-- so a redelivered message or a restarted worker never sends a key twice.
CREATE TABLE IF NOT EXISTS email_outbox (
    idempotency_key text PRIMARY KEY,     -- lead id + campaign step
    lead_id         text NOT NULL,
    campaign_step   text NOT NULL,
    recipient       text NOT NULL,
    status          text NOT NULL,        -- pending | sent | retryable | failed
    attempts        integer NOT NULL DEFAULT 1,
    message_id      text,
    last_error      text,
    claimed_at      timestamptz NOT NULL DEFAULT now(),
    sent_at         timestamptz
);
CREATE INDEX IF NOT EXISTS email_outbox_status_idx ON email_outbox (status);
-- One email per person per campaign step, even across leads (a chain's branches
-- share an inbox): a second lead's claim for the same address fails here.
CREATE UNIQUE INDEX IF NOT EXISTS email_outbox_recipient_step_key ON email_outbox (recipient, campaign_step);

-- Addresses and domains that must never be emailed (unsubscribes, bounces,
-- spam reports, blocklist). `pattern` is an address, a domain, or *.domain.
CREATE TABLE IF NOT EXISTS suppressions (
    pattern    text PRIMARY KEY,
    reason     text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);
