-- contract: rewrites email_events and dedupe_merges into month-partitioned tables under an ACCESS EXCLUSIVE
--   lock (rename, copy, drop). Columns, keys the code writes by, and ON CONFLICT targets are unchanged, so
--   both releases keep working afterwards; but their writes wait for the copy: run it with the workers
--   stopped or in a quiet window, as 0008 (docs/upgrades.md).
-- The two growing audit tables, partitioned by RANGE of time, one partition per month plus a default one
-- (as provider_calls in 0008): retention is `DROP TABLE email_events_yYYYYmMM`, not a DELETE that bloats.
--   * email_events by `event_at` (SendGrid's own event time), already in its unique key: the key stays
--     (sg_message_id, event, event_at), so a retried webhook post is still one row per event.
--   * dedupe_merges by `created_at`.
-- dead_letters stays unpartitioned on purpose: its unique key (topic, partition, offset, stage) is what makes
-- a re-delivered failure one row, and a time column in that key would break it; it holds failures only
-- (a few rows per thousand leads: docs/scaling.md) and dead_letter_replays references its id.
-- Idempotent: does nothing on a table that is already partitioned.

DO $$
BEGIN
    IF (SELECT c.relkind FROM pg_class c WHERE c.oid = to_regclass('email_events')) = 'r' THEN
        ALTER TABLE email_events RENAME TO email_events_unpartitioned;
        ALTER SEQUENCE email_events_id_seq OWNED BY NONE;
        CREATE TABLE email_events (LIKE email_events_unpartitioned INCLUDING DEFAULTS)
            PARTITION BY RANGE (event_at);
        ALTER SEQUENCE email_events_id_seq OWNED BY email_events.id;
        CREATE TABLE email_events_default PARTITION OF email_events DEFAULT;
        PERFORM leadstream_month_partitions('email_events', 1, 3);
        INSERT INTO email_events SELECT * FROM email_events_unpartitioned;
        DROP TABLE email_events_unpartitioned;  -- keys after the drop: they keep their names
        ALTER TABLE email_events ADD PRIMARY KEY (event_at, id);
        ALTER TABLE email_events ADD UNIQUE (sg_message_id, event, event_at);
        CREATE INDEX email_events_kind_time ON email_events (event, event_at);
    END IF;

    IF (SELECT c.relkind FROM pg_class c WHERE c.oid = to_regclass('dedupe_merges')) = 'r' THEN
        ALTER TABLE dedupe_merges RENAME TO dedupe_merges_unpartitioned;
        ALTER SEQUENCE dedupe_merges_id_seq OWNED BY NONE;
        CREATE TABLE dedupe_merges (LIKE dedupe_merges_unpartitioned INCLUDING DEFAULTS INCLUDING CONSTRAINTS)
            PARTITION BY RANGE (created_at);
        ALTER SEQUENCE dedupe_merges_id_seq OWNED BY dedupe_merges.id;
        CREATE TABLE dedupe_merges_default PARTITION OF dedupe_merges DEFAULT;
        PERFORM leadstream_month_partitions('dedupe_merges', 1, 3);
        INSERT INTO dedupe_merges SELECT * FROM dedupe_merges_unpartitioned;
        DROP TABLE dedupe_merges_unpartitioned;
        ALTER TABLE dedupe_merges ADD PRIMARY KEY (created_at, id);
        CREATE INDEX dedupe_merges_entity ON dedupe_merges (entity_id);
        CREATE INDEX dedupe_merges_lead ON dedupe_merges (lead_id);
    END IF;
END $$;
