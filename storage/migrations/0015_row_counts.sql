-- What GET /v1/stats reads instead of counting every lead and dead letter (storage.row_counts): leads per terminal
-- state and dead letters. Leads are never pruned, so at 1,000 a minute a count grows by 1.4 million rows a day, and
-- every API process counted once a second.
-- Triggers append each change to row_count_deltas, never updating a row in place, so writers never wait on each
-- other for a counter. `storage.row_counts.fold` moves them into row_counts (every worker tries once a minute); a
-- reader sums both in one snapshot, so the counts are exact.
-- 0016 seeds row_counts from the tables as they are.
CREATE TABLE IF NOT EXISTS row_counts (counter text PRIMARY KEY, n bigint NOT NULL);
CREATE TABLE IF NOT EXISTS row_count_deltas (counter text NOT NULL, n bigint NOT NULL);

-- Leads: a row trigger that fires only when a lead's state changes (its WHEN clause), so the many writes that move a
-- lead to its next stage cost nothing; about one delta per lead. Dead letters: a statement trigger, so the prune's
-- chunk of 5,000 deletions is one delta (`added`: a statement's new rows, `gone`: its old ones).
CREATE OR REPLACE FUNCTION leadstream_count_lead_state() RETURNS trigger LANGUAGE plpgsql AS $fn$
BEGIN
    IF TG_OP <> 'INSERT' THEN
        IF OLD.state IS NOT NULL THEN
            INSERT INTO row_count_deltas (counter, n) VALUES ('state:' || OLD.state, -1);
        END IF;
    END IF;
    IF TG_OP <> 'DELETE' THEN
        IF NEW.state IS NOT NULL THEN
            INSERT INTO row_count_deltas (counter, n) VALUES ('state:' || NEW.state, 1);
        END IF;
    END IF;
    RETURN NULL;
END
$fn$;

CREATE OR REPLACE FUNCTION leadstream_count_dead_letters() RETURNS trigger LANGUAGE plpgsql AS $fn$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO row_count_deltas (counter, n) SELECT 'dead_letters', count(*) FROM added HAVING count(*) > 0;
    ELSE
        INSERT INTO row_count_deltas (counter, n) SELECT 'dead_letters', -count(*) FROM gone HAVING count(*) > 0;
    END IF;
    RETURN NULL;
END
$fn$;

CREATE OR REPLACE TRIGGER leads_count_inserted AFTER INSERT ON leads
    FOR EACH ROW WHEN (NEW.state IS NOT NULL) EXECUTE FUNCTION leadstream_count_lead_state();
CREATE OR REPLACE TRIGGER leads_count_updated AFTER UPDATE OF state ON leads
    FOR EACH ROW WHEN (OLD.state IS DISTINCT FROM NEW.state) EXECUTE FUNCTION leadstream_count_lead_state();
CREATE OR REPLACE TRIGGER leads_count_deleted AFTER DELETE ON leads
    FOR EACH ROW WHEN (OLD.state IS NOT NULL) EXECUTE FUNCTION leadstream_count_lead_state();
CREATE OR REPLACE TRIGGER dead_letters_count_inserted AFTER INSERT ON dead_letters
    REFERENCING NEW TABLE AS added FOR EACH STATEMENT EXECUTE FUNCTION leadstream_count_dead_letters();
CREATE OR REPLACE TRIGGER dead_letters_count_deleted AFTER DELETE ON dead_letters
    REFERENCING OLD TABLE AS gone FOR EACH STATEMENT EXECUTE FUNCTION leadstream_count_dead_letters();
