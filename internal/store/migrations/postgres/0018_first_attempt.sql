-- A first-try success is kept on its notification's row, not as an
-- attempts row (issue 21): most deliveries succeed at once, and the row
-- with its three index entries was most of the database's work per
-- delivery. Store.Attempts lists it as the first attempt. first_attempt_at
-- is NULL when the first attempt did not succeed (it is then an attempts
-- row, like every later one).
ALTER TABLE notifications ADD COLUMN first_attempt_at TIMESTAMPTZ;
ALTER TABLE notifications ADD COLUMN first_status_code INTEGER NOT NULL DEFAULT 0;
ALTER TABLE notifications ADD COLUMN first_latency_ms INTEGER NOT NULL DEFAULT 0;
ALTER TABLE notifications ADD COLUMN first_response TEXT NOT NULL DEFAULT '';  -- the first 2 KB
-- The charts read an organization's inline attempts by time, as they
-- read attempts through attempts_at.
CREATE INDEX notifications_first_attempt ON notifications (org_id, first_attempt_at) WHERE first_attempt_at IS NOT NULL;
