-- The runner's "already ended?" check (storage.records.LeadRecords.ended), made before every event of every
-- stage: which of these lead ids have a terminal state. It cannot name the partition key (the geography is
-- in the payload, read after the check), so `lead_id = ANY($1)` was planned over all 16 partitions of `leads`
-- at every call (custom plans: planning cost more than running it, 0.28 of 0.43 ms; issue #9). Here each id
-- of a short list is looked up on its own by a statement whose plan PL/pgSQL keeps per server connection:
-- `lead_id = $1` is planned the same for any id (the lead_id index of each partition), so the kept plan is
-- never a bad one, as a kept plan of `= ANY($1)` can be (it does not know the list's length: on a 30,000-row
-- table it chose the state index, or a hash join over every terminal row). A long list (a backlog's batch)
-- is cheaper as one `= ANY` planned for it, as before (PostgreSQL CPU on 30,000 rows: 64 ids 2.5 ms looked
-- up one by one against 4.5 as one query, 256 ids 10 against 5). The same rows as the query it replaces.
CREATE OR REPLACE FUNCTION leads_ended(ids text[]) RETURNS TABLE (lead_id text)
    LANGUAGE plpgsql STABLE
AS $$
DECLARE
    one text;
BEGIN
    IF cardinality(ids) > 128 THEN
        RETURN QUERY EXECUTE 'SELECT l.lead_id FROM leads l WHERE l.lead_id = ANY ($1) AND l.state IS NOT NULL'
            USING ids;
        RETURN;
    END IF;
    FOREACH one IN ARRAY ids LOOP
        RETURN QUERY SELECT l.lead_id FROM leads l WHERE l.lead_id = one AND l.state IS NOT NULL;
    END LOOP;
END
$$;
