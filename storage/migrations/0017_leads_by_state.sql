-- index-lock: one index on leads, whose build holds the table's writes: 3.2-3.7 s on 3 million leads
--   (perf/bench_lead_pages.py). On a larger table build it first by hand with CREATE INDEX CONCURRENTLY on each
--   partition (docs/upgrades.md); then IF NOT EXISTS skips it here.
-- GET /v1/leads?state=S pages newest first. Without this index each of the 16 partitions' branches scanned
-- ingested_at backwards, filtering on the state, until it found a page or reached its end: a state that a partition
-- holds few or none of (dead-lettered leads of one region, suppressions) read every lead of it.
-- `perf/bench_lead_pages.py`, 3 million leads, the dead-lettered ones in two regions of 50: `state=dead_lettered` took
-- 269-272 ms and as much PostgreSQL CPU per page, growing with the table; with the index 0.54-0.61 ms.
CREATE INDEX IF NOT EXISTS leads_state_ingested_idx ON leads (state, ingested_at DESC, lead_id DESC);
