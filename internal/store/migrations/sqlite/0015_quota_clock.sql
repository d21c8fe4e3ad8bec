-- Insightly's quota day ends at midnight UTC on its clock, not ours: the
-- upstream's clock less ours (milliseconds) when it stated the quota, so
-- that the pace resumes at its reset, not at ours.
ALTER TABLE accounts ADD COLUMN quota_clock_offset_ms BIGINT NOT NULL DEFAULT 0;
