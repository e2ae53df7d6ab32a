-- index-lock: leads_ingested_idx (leads) and email_outbox_lead_idx hold those tables' writes while they
--   build; on a large database create them first with CREATE INDEX CONCURRENTLY (docs/upgrades.md).
-- The HTTP API (leadstream api): hashed API keys, and each lead's stage history.
-- Applied by the migration runner in name order; no transaction statements here.

-- Only a SHA-256 of each key is stored (keys are 256-bit random tokens, so a fast hash is enough:
-- there is nothing to brute-force). `key_id` is the key's public prefix, used to find the row.
CREATE TABLE IF NOT EXISTS api_keys (
    key_id       text PRIMARY KEY,
    name         text NOT NULL,
    key_sha256   text NOT NULL,
    scopes       text[] NOT NULL CHECK (scopes <@ ARRAY['ingest', 'read', 'admin']::text[]),
    rate         text,                  -- per-key rate limit (`100/second`); NULL: the API's default
    created_at   timestamptz NOT NULL DEFAULT now(),
    revoked_at   timestamptz
);

-- When each lead first reached each stage (the API's stage history). Keyed and partitioned like
-- `leads` (0008): by the lead's geography, the stream's key, so a lead's rows live together and a
-- distributed PostgreSQL can colocate them with the lead (geo_key in the primary key).
CREATE TABLE IF NOT EXISTS lead_stages (
    geo_key  text NOT NULL,
    lead_id  text NOT NULL,
    stage    text NOT NULL,
    at       timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (geo_key, lead_id, stage)
) PARTITION BY HASH (geo_key);
DO $$
BEGIN
    FOR i IN 0..15 LOOP
        EXECUTE format('CREATE TABLE IF NOT EXISTS lead_stages_p%s PARTITION OF lead_stages '
                       'FOR VALUES WITH (MODULUS 16, REMAINDER %s)', lpad(i::text, 2, '0'), i);
    END LOOP;
END $$;
CREATE INDEX IF NOT EXISTS lead_stages_lead_idx ON lead_stages (lead_id);

-- GET /v1/leads pages newest first by (ingested_at, lead_id).
CREATE INDEX IF NOT EXISTS leads_ingested_idx ON leads (ingested_at DESC, lead_id DESC);
CREATE INDEX IF NOT EXISTS email_outbox_lead_idx ON email_outbox (lead_id);
