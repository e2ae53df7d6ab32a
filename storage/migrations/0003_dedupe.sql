-- Dedupe: gray-zone pairs awaiting a human, and the audit log of every merge.
-- Applied by the migration runner in name order; no transaction statements here.

CREATE TABLE IF NOT EXISTS dedupe_review (
    id                  BIGSERIAL PRIMARY KEY,
    lead_id             TEXT NOT NULL,
    entity_id           TEXT NOT NULL,
    candidate_entity_id TEXT NOT NULL,
    probability         DOUBLE PRECISION,
    reason              TEXT,
    lead                JSONB NOT NULL DEFAULT '{}'::jsonb,
    candidate           JSONB NOT NULL DEFAULT '{}'::jsonb,
    status              TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'accepted', 'rejected')),
    created_at          TIMESTAMPTZ NOT NULL DEFAULT now(),
    decided_at          TIMESTAMPTZ,
    UNIQUE (lead_id, candidate_entity_id)
);
CREATE INDEX IF NOT EXISTS dedupe_review_pending ON dedupe_review (created_at) WHERE status = 'pending';

CREATE TABLE IF NOT EXISTS dedupe_merges (
    id               BIGSERIAL PRIMARY KEY,
    kind             TEXT NOT NULL CHECK (kind IN ('join', 'merge')),
    entity_id        TEXT NOT NULL,
    merged_entity_id TEXT,
    lead_id          TEXT,
    probability      DOUBLE PRECISION,
    matched_on       TEXT[] NOT NULL DEFAULT '{}',
    decided_by       TEXT NOT NULL,
    fields           JSONB NOT NULL DEFAULT '{}'::jsonb,
    created_at       TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS dedupe_merges_entity ON dedupe_merges (entity_id);
CREATE INDEX IF NOT EXISTS dedupe_merges_lead ON dedupe_merges (lead_id);
