-- One row per provider call that was answered (cost_usd > 0 when billed) or
-- served from the response cache (hit = true, cost 0). BudgetGuard sums a
-- provider's cost since UTC midnight against its daily cap.
CREATE TABLE IF NOT EXISTS provider_calls (
    id        bigserial PRIMARY KEY,
    at        timestamptz NOT NULL DEFAULT now(),
    provider  text NOT NULL,
    operation text NOT NULL,
    cost_usd  numeric(12, 6) NOT NULL DEFAULT 0,
    hit       boolean NOT NULL DEFAULT false,
    lead_id   text
);
CREATE INDEX IF NOT EXISTS provider_calls_provider_at_idx ON provider_calls (provider, at);
