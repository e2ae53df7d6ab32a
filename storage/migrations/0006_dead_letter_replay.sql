-- index-lock: dead_letters holds only failed messages (few rows): its two indexes build in a short pause
--   of dead-letter writes; on a large table create them first with CREATE INDEX CONCURRENTLY (docs/upgrades.md).
-- Dead letters keep the whole original message, so it can be put back exactly as it came
-- (`leadstream dlq replay`): its key and headers next to the payload already stored.
-- PostgreSQL's bytea takes up to 1 GB and TOASTs (compresses, stores out of line) anything over
-- ~2 KB, so a 1 MB Kafka message is an ordinary row.
ALTER TABLE dead_letters
    ADD COLUMN IF NOT EXISTS message_key bytea,
    ADD COLUMN IF NOT EXISTS header_names bytea[] NOT NULL DEFAULT '{}',  -- UTF-8, bytes: a name may hold NUL
    ADD COLUMN IF NOT EXISTS header_values bytea[] NOT NULL DEFAULT '{}',
    ADD COLUMN IF NOT EXISTS payload_sha256 text;
CREATE INDEX IF NOT EXISTS dead_letters_stage_created_idx ON dead_letters (stage, created_at);
CREATE INDEX IF NOT EXISTS dead_letters_lead_idx ON dead_letters (lead_id);

-- One row per dead letter put back on its topic: the claim is what makes a replay happen once.
-- `claimed` until the broker has the message, then `sent` with where it went.
CREATE TABLE IF NOT EXISTS dead_letter_replays (
    dead_letter_id  bigint PRIMARY KEY REFERENCES dead_letters (id) ON DELETE CASCADE,
    status          text NOT NULL CHECK (status IN ('claimed', 'sent')),
    topic           text NOT NULL,
    kafka_partition integer,
    kafka_offset    bigint,
    forced          boolean NOT NULL DEFAULT false,
    previous_state  text,              -- the lead's terminal state the replay cleared (NULL: none)
    previous_reason text,
    claimed_at      timestamptz NOT NULL DEFAULT now(),
    sent_at         timestamptz
);
