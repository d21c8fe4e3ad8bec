-- When a run or a backfill was last asked for (issue 15): a window
-- clears a request only if it was made before the run that serves it
-- began, so a request made during a run survives that run's commit.
ALTER TABLE polls ADD COLUMN run_requested_at TIMESTAMPTZ;
ALTER TABLE polls ADD COLUMN backfill_requested_at TIMESTAMPTZ;
