-- The dedupe stage's phone directory (stages.dedupe.phone_look, storage.dedupe_phones): one claim per lead at
-- its local phone, shared by all partitions, so twins that the partition key puts in two states still meet.
-- A claim is read only while it is younger than the entity retention (seen is the stage's clock, epoch
-- seconds); expired claims are deleted as claims go by (dedupe_phones_seen).
CREATE TABLE IF NOT EXISTS dedupe_phones (
    phone       TEXT NOT NULL,
    lead_id     TEXT NOT NULL,
    geo         TEXT NOT NULL,
    entity_id   TEXT NOT NULL,
    first       TEXT NOT NULL,
    profile     JSONB NOT NULL,
    seen        DOUBLE PRECISION NOT NULL,
    twin_entity TEXT,
    twin_first  TEXT,
    PRIMARY KEY (phone, lead_id)
);
CREATE INDEX IF NOT EXISTS dedupe_phones_seen ON dedupe_phones (seen);
