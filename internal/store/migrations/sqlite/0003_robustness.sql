-- Robustness (issue 6): pauses, run statistics, control, delete detection,
-- shared quota state.
ALTER TABLE polls ADD COLUMN failing_since TIMESTAMP;
ALTER TABLE polls ADD COLUMN paused_reason TEXT NOT NULL DEFAULT '';
ALTER TABLE polls ADD COLUMN run_now INTEGER NOT NULL DEFAULT 0;
ALTER TABLE polls ADD COLUMN backfill_from TIMESTAMP;
ALTER TABLE polls ADD COLUMN last_duration_ms BIGINT NOT NULL DEFAULT 0;
ALTER TABLE polls ADD COLUMN last_pages INTEGER NOT NULL DEFAULT 0;
ALTER TABLE polls ADD COLUMN last_records INTEGER NOT NULL DEFAULT 0;
ALTER TABLE polls ADD COLUMN last_created INTEGER NOT NULL DEFAULT 0;
ALTER TABLE polls ADD COLUMN last_updated INTEGER NOT NULL DEFAULT 0;
ALTER TABLE polls ADD COLUMN last_deleted INTEGER NOT NULL DEFAULT 0;
ALTER TABLE polls ADD COLUMN last_scan_at TIMESTAMP;
ALTER TABLE polls ADD COLUMN last_scan_status TEXT NOT NULL DEFAULT '';
ALTER TABLE events ADD COLUMN backfill INTEGER NOT NULL DEFAULT 0;
ALTER TABLE instances ADD COLUMN invalid_reason TEXT NOT NULL DEFAULT '';

-- IDs known to exist, for delete detection (only for resources with deletes on).
CREATE TABLE known_ids (
    instance_id BIGINT NOT NULL,
    resource    TEXT NOT NULL,
    object_id   TEXT NOT NULL,
    PRIMARY KEY (instance_id, resource, object_id),
    FOREIGN KEY (instance_id, resource) REFERENCES polls(instance_id, resource) ON DELETE CASCADE
);

-- What each upstream account said of its daily quota, shared by replicas.
CREATE TABLE accounts (
    account         TEXT PRIMARY KEY,
    quota_limit     INTEGER NOT NULL DEFAULT 0,
    quota_remaining INTEGER NOT NULL DEFAULT -1,
    quota_reset_at  TIMESTAMP,
    updated_at      TIMESTAMP NOT NULL
);
