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

-- The claim's fast path in one call (storage.dedupe_phones): under the number's lock, store the claim when the
-- number has no live candidate of another state (no decision to make), else answer why not and store nothing
-- ('claimed': the lead's own claim is there; 'others': a listing of another state may be its twin; the caller
-- then decides in a transaction of its own). 'listed': the entity is listed at the number already. Its commit
-- is asynchronous: a PostgreSQL crash may lose the last few hundred milliseconds of claims (a twin then found
-- no more), never a worker's.
CREATE OR REPLACE FUNCTION dedupe_phone_claim_alone(
    p_phone text, p_lead text, p_geo text, p_entity text, p_first text, p_profile jsonb, p_seen double precision,
    p_cutoff double precision, p_sweep integer
) RETURNS text LANGUAGE plpgsql AS $fn$
BEGIN
    PERFORM set_config('synchronous_commit', 'off', true);
    PERFORM pg_advisory_xact_lock(7240532, hashtext(p_phone));
    DELETE FROM dedupe_phones WHERE phone = p_phone AND seen < p_cutoff;
    IF EXISTS (SELECT 1 FROM dedupe_phones WHERE phone = p_phone AND lead_id = p_lead) THEN
        RETURN 'claimed';
    END IF;
    IF EXISTS (SELECT 1 FROM dedupe_phones WHERE phone = p_phone AND geo <> p_geo AND twin_entity IS NULL) THEN
        RETURN 'others';
    END IF;
    IF EXISTS (SELECT 1 FROM dedupe_phones WHERE phone = p_phone AND geo = p_geo AND entity_id = p_entity) THEN
        RETURN 'listed';
    END IF;
    INSERT INTO dedupe_phones (phone, lead_id, geo, entity_id, first, profile, seen)
        VALUES (p_phone, p_lead, p_geo, p_entity, p_first, p_profile, p_seen);
    DELETE FROM dedupe_phones WHERE ctid = ANY(ARRAY(
        SELECT ctid FROM dedupe_phones WHERE seen < p_cutoff LIMIT p_sweep FOR UPDATE SKIP LOCKED));
    RETURN 'stored';
END
$fn$;
