-- Who claimed a pending outbox key: the worker process (`streams.incarnation.PROCESS_ID`) that claimed,
-- stamped or took it over last. NULL: a worker of an earlier version (its key waits the fixed
-- reconcile_after_s, as before). With it, a key whose claimant is known to have ended is reconciled with
-- SendGrid at once instead of 30 s after its stamp (stages.email.delivery; docs/operating.md, "Recovery").
-- claimant_attempts: the claim (`attempts`) it was recorded with. A worker of an earlier version claims
-- or takes over without touching these two, so a claimant counts only while claimant_attempts = attempts.
ALTER TABLE email_outbox
    ADD COLUMN IF NOT EXISTS claimant text,
    ADD COLUMN IF NOT EXISTS claimant_attempts integer;

-- Worker processes known to have ended: a restarted worker that took its data directory's lock records
-- the process that held that lock before it (streams.incarnation). One row per worker restart, pruned
-- after 30 days.
CREATE TABLE IF NOT EXISTS ended_processes (
    process_id  text PRIMARY KEY,
    ended_by    text NOT NULL,               -- the process that took over its data directory
    recorded_at timestamptz NOT NULL DEFAULT now()
);
