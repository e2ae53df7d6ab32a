-- index-lock: dead_letters holds only failed messages (some tens of thousands a day at full rate): the index builds
--   in a short pause of dead-letter writes, which wait for it; on a table of millions create it first by hand with
--   CREATE INDEX CONCURRENTLY (docs/upgrades.md).
-- The unattended replay's backlog (storage.dead_letters.oldest_unattended_s), which every worker asks once a minute,
-- reads the last day's dead letters of the transient reasons only. Without this index each ask scans the whole
-- table, payloads included. `python perf/bench_dead_letter_backlog.py --rows N` (1.5 KB payloads; medians of two
-- runs each): without it 37-39 ms on 300,000 rows and 344-355 ms on a million, with it 15-18 ms and 51-56 ms.
CREATE INDEX IF NOT EXISTS dead_letters_reason_created_idx ON dead_letters (error_type, created_at);
