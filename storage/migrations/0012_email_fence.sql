-- A lead whose email key is claimed can be ended only as emailed or by the email stage's dead letter
-- (storage.outbox, storage.records); a retryable refusal lifts the mark (nothing is in flight then).
-- Two copies of one lead (a redelivery after a rebalance) may part ways upstream: one enrichment found the
-- address, the other's provider call failed. Without this mark, the copy that never reached the email
-- could end the lead as disqualified while the other one's email went out. The claim sets it under the
-- row's lock; the record upserts read it on the row they lock. Workers of an earlier version neither set
-- nor read it (they keep the old first-end-wins rule) until the roll-out ends.
ALTER TABLE leads ADD COLUMN IF NOT EXISTS email_claimed boolean NOT NULL DEFAULT false;
