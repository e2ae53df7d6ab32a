-- Each lead's latest state and its one terminal outcome.
CREATE TABLE IF NOT EXISTS leads (
    lead_id      text PRIMARY KEY,
    geo_key      text NOT NULL,
    source       text,
    name         text,
    vertical     text,
    stage        text NOT NULL,          -- last stage that wrote this row
    stage_rank   integer NOT NULL,       -- order of that stage; older stages never overwrite newer
    state        text,                   -- terminal state; NULL while in flight; written once
    state_reason text,
    entity_id    text,
    score        double precision,
    tier         text,
    trace_id     text,
    ingested_at  timestamptz,
    updated_at   timestamptz NOT NULL DEFAULT now(),
    terminal_at  timestamptz,
    record       jsonb NOT NULL
);
CREATE INDEX IF NOT EXISTS leads_state_idx ON leads (state);
CREATE INDEX IF NOT EXISTS leads_entity_idx ON leads (entity_id);
CREATE INDEX IF NOT EXISTS leads_geo_idx ON leads (geo_key);

-- Messages that could not be processed: the reason and the original payload.
CREATE TABLE IF NOT EXISTS dead_letters (
    id          bigserial PRIMARY KEY,
    stage       text NOT NULL,
    lead_id     text,
    topic       text NOT NULL,
    kafka_partition integer NOT NULL,
    kafka_offset bigint NOT NULL,
    error_type  text NOT NULL,
    reason      text NOT NULL,
    attempts    integer NOT NULL,
    payload     bytea NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    UNIQUE (topic, kafka_partition, kafka_offset, stage)
);
