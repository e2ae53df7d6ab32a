-- The runner's "already ended?" check (storage.records.LeadRecords.ended), made before every event of every
-- stage: which of these lead ids have a terminal state. It cannot name the partition key (the geography is
-- in the payload, read after the check), so `lead_id = ANY($1)` was planned over all 16 partitions of `leads`
-- at every call (custom plans: planning cost more than running it, 0.28 of 0.43 ms; issue #9). Here each id
-- is looked up on its own by a statement whose plan PL/pgSQL keeps per server connection: `lead_id = $1` is
-- planned the same for any id (the lead_id index of each partition), so the kept plan is never a bad one,
-- as a kept plan of `= ANY($1)` can be (it does not know the list's length: on a 30,000-row table it chose
-- the state index, or a hash join over every terminal row). The same rows as the query it replaces.
CREATE OR REPLACE FUNCTION leads_ended(ids text[]) RETURNS TABLE (lead_id text)
    LANGUAGE plpgsql STABLE
AS $$
DECLARE
    one text;
BEGIN
    FOREACH one IN ARRAY ids LOOP
        RETURN QUERY SELECT l.lead_id FROM leads l WHERE l.lead_id = one AND l.state IS NOT NULL;
    END LOOP;
END
$$;
