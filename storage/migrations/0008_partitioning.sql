-- contract: rewrites leads and provider_calls into partitioned tables under an ACCESS EXCLUSIVE lock
--   (rename, copy, drop): no column changes, but every worker's writes wait for the copy. Run it with
--   the workers stopped or in a quiet window, never as part of a rolling upgrade (docs/upgrades.md).
-- Partitioning (docs/scaling.md), on an existing database:
--   * `leads` by HASH of geo_key, the stream's key (schemas/geo.py dedupe_key: the listing's US state),
--     16 partitions. The primary key becomes (geo_key, lead_id): the distribution column is in every
--     primary and unique key, as a distributed PostgreSQL (Citus) requires. No foreign key points at it.
--   * `provider_calls`, the largest audit table (one row per provider call), by RANGE of `at`, one
--     partition per month plus a default one: retention is `DROP TABLE provider_calls_yYYYYmMM`.
--
-- The rewrite copies every row under an ACCESS EXCLUSIVE lock, inside the migration's transaction:
-- fine up to a few million leads (seconds). Past that, do it online instead (docs/scaling.md).
-- Idempotent: it does nothing on a database where `leads` is already partitioned.

-- Monthly range partitions of `parent` from `months_back` before this month to `months_ahead` after;
-- returns how many it made. `migrate()` calls it on every run (each worker start), so next months exist
-- before rows arrive; rows outside every month land in the default partition.
CREATE OR REPLACE FUNCTION leadstream_month_partitions(parent regclass, months_back int, months_ahead int)
RETURNS int LANGUAGE plpgsql AS $fn$
DECLARE
    m date;
    part text;
    made int := 0;
BEGIN
    FOR k IN -months_back..months_ahead LOOP
        m := (date_trunc('month', now()) + make_interval(months => k))::date;
        part := format('%s_y%sm%s', (SELECT relname FROM pg_class WHERE oid = parent), to_char(m, 'YYYY'), to_char(m, 'MM'));
        IF to_regclass(part) IS NULL THEN
            EXECUTE format('CREATE TABLE %I PARTITION OF %s FOR VALUES FROM (%L) TO (%L)',
                           part, parent, m, (m + interval '1 month')::date);
            made := made + 1;
        END IF;
    END LOOP;
    RETURN made;
END
$fn$;

DO $$
DECLARE
    i int;
BEGIN
    IF (SELECT c.relkind FROM pg_class c WHERE c.oid = to_regclass('leads')) = 'r' THEN
        ALTER TABLE leads RENAME TO leads_unpartitioned;
        CREATE TABLE leads (LIKE leads_unpartitioned INCLUDING DEFAULTS INCLUDING GENERATED)
            PARTITION BY HASH (geo_key);
        ALTER TABLE leads ADD PRIMARY KEY (geo_key, lead_id);
        FOR i IN 0..15 LOOP
            EXECUTE format('CREATE TABLE leads_p%s PARTITION OF leads FOR VALUES WITH (MODULUS 16, REMAINDER %s)',
                           lpad(i::text, 2, '0'), i);
        END LOOP;
        INSERT INTO leads SELECT * FROM leads_unpartitioned;
        DROP TABLE leads_unpartitioned;
        CREATE INDEX leads_lead_idx ON leads (lead_id);          -- lookups by id alone (API, replay)
        CREATE INDEX leads_state_idx ON leads (state);
        CREATE INDEX leads_entity_idx ON leads (entity_id);
        CREATE INDEX leads_ingested_idx ON leads (ingested_at DESC, lead_id DESC);
    END IF;

    IF (SELECT c.relkind FROM pg_class c WHERE c.oid = to_regclass('provider_calls')) = 'r' THEN
        ALTER TABLE provider_calls RENAME TO provider_calls_unpartitioned;
        ALTER SEQUENCE provider_calls_id_seq OWNED BY NONE;
        CREATE TABLE provider_calls (
            id        bigint NOT NULL DEFAULT nextval('provider_calls_id_seq'),
            at        timestamptz NOT NULL DEFAULT now(),
            provider  text NOT NULL,
            operation text NOT NULL,
            cost_usd  numeric(12, 6) NOT NULL DEFAULT 0,
            hit       boolean NOT NULL DEFAULT false,
            lead_id   text,
            PRIMARY KEY (at, id)
        ) PARTITION BY RANGE (at);
        ALTER SEQUENCE provider_calls_id_seq OWNED BY provider_calls.id;
        CREATE TABLE provider_calls_default PARTITION OF provider_calls DEFAULT;
        PERFORM leadstream_month_partitions('provider_calls', 1, 3);
        INSERT INTO provider_calls SELECT id, at, provider, operation, cost_usd, hit, lead_id
            FROM provider_calls_unpartitioned;
        DROP TABLE provider_calls_unpartitioned;
        CREATE INDEX provider_calls_provider_at_idx ON provider_calls (provider, at);
    END IF;
END $$;
