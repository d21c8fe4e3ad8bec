-- The poller's state model (issue 14).
-- A cursor is anchored once a run has set it from the upstream's clock;
-- before that it holds our clock at enable time. Polls that have run are
-- anchored already.
ALTER TABLE polls ADD COLUMN cursor_anchored BOOLEAN NOT NULL DEFAULT FALSE;
UPDATE polls SET cursor_anchored = TRUE WHERE last_ok_at IS NOT NULL;
-- The earliest date a normal window reports: the enable time on the
-- upstream's clock, set by the first window. A wider overlap or poll
-- delay later re-reads further back without reporting what changed before
-- polling began (only a backfill does).
ALTER TABLE polls ADD COLUMN report_floor TIMESTAMPTZ;
-- Polls that ran before this version: when they were created (our clock;
-- far enough back that no overlap reaches it).
UPDATE polls SET report_floor = created_at WHERE last_ok_at IS NOT NULL;
-- The window a run is working through, committed page by page so that a
-- crash or a timeout resumes it where it stopped: what is read (from, and
-- our clock at its start for URL templates), what is reported (compare,
-- normal: older than normal is marked backfill), the cursor it leads to
-- (the upstream's clock at its first answer), and the element's resume
-- position. window_start IS NULL: no window open.
ALTER TABLE polls ADD COLUMN window_from TIMESTAMPTZ;
ALTER TABLE polls ADD COLUMN window_compare TIMESTAMPTZ;
ALTER TABLE polls ADD COLUMN window_normal TIMESTAMPTZ;
ALTER TABLE polls ADD COLUMN window_start TIMESTAMPTZ;
ALTER TABLE polls ADD COLUMN window_run_at TIMESTAMPTZ;
ALTER TABLE polls ADD COLUMN window_position TEXT NOT NULL DEFAULT '';
ALTER TABLE polls ADD COLUMN window_backfill BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE polls ADD COLUMN window_pages INTEGER NOT NULL DEFAULT 0;
ALTER TABLE polls ADD COLUMN window_records INTEGER NOT NULL DEFAULT 0;
ALTER TABLE polls ADD COLUMN window_created INTEGER NOT NULL DEFAULT 0;
ALTER TABLE polls ADD COLUMN window_updated INTEGER NOT NULL DEFAULT 0;
-- Per-record state is no longer pruned to the window: it lasts while the
-- record is known to exist, so the index on its date has no reader.
DROP INDEX seen_updated;
