-- Delivery (issue 7): one callback per (organization, URL) with its
-- failure state, notifications in an outbox, every attempt on record.
CREATE TABLE callbacks (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    org_id           INTEGER NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    url              TEXT NOT NULL,
    state            TEXT NOT NULL DEFAULT 'active',  -- active, retrying, suspended
    failures         INTEGER NOT NULL DEFAULT 0,      -- consecutive failed attempts
    first_failure_at TIMESTAMP,
    next_attempt_at  TIMESTAMP,
    suspended_at     TIMESTAMP,
    last_error       TEXT NOT NULL DEFAULT '',
    created_at       TIMESTAMP NOT NULL,
    UNIQUE (org_id, url)
);

CREATE TABLE notifications (
    seq          INTEGER PRIMARY KEY AUTOINCREMENT,
    id           TEXT NOT NULL UNIQUE,     -- Elements-Webhook-Id and webhook-id
    org_id       INTEGER NOT NULL,
    instance_id  INTEGER NOT NULL REFERENCES instances(id) ON DELETE CASCADE,
    callback_id  INTEGER NOT NULL REFERENCES callbacks(id) ON DELETE CASCADE,
    resource     TEXT NOT NULL,
    body         BLOB NOT NULL,           -- the exact bytes sent and signed
    status       TEXT NOT NULL DEFAULT 'created',  -- created, retry, queued, delivered
    attempts     INTEGER NOT NULL DEFAULT 0,
    created_at   TIMESTAMP NOT NULL,
    updated_at   TIMESTAMP NOT NULL,
    delivered_at TIMESTAMP
);
CREATE INDEX notifications_pending ON notifications (callback_id, status, seq);
CREATE INDEX notifications_instance ON notifications (instance_id, seq);

CREATE TABLE attempts (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    notification_id INTEGER NOT NULL REFERENCES notifications(seq) ON DELETE CASCADE,
    at              TIMESTAMP NOT NULL,
    status_code     INTEGER NOT NULL DEFAULT 0,  -- 0: no response
    latency_ms      INTEGER NOT NULL,
    error           TEXT NOT NULL DEFAULT '',
    response        TEXT NOT NULL DEFAULT ''      -- the first 2 KB
);
CREATE INDEX attempts_notification ON attempts (notification_id, id);

ALTER TABLE events ADD COLUMN notification_id INTEGER;
