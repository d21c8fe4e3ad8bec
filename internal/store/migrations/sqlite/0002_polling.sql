-- Polling (issue 5): one poll per (instance, resource) while events are on,
-- what it has reported, and the events.
CREATE TABLE polls (
    instance_id      INTEGER NOT NULL REFERENCES instances(id) ON DELETE CASCADE,
    resource         TEXT NOT NULL,
    interval_seconds INTEGER NOT NULL,
    cursor           TIMESTAMP NOT NULL,  -- upstream clock; only moves forward
    job_id           INTEGER,
    runs             INTEGER NOT NULL DEFAULT 0,
    failures         INTEGER NOT NULL DEFAULT 0,  -- consecutive
    events           INTEGER NOT NULL DEFAULT 0,
    last_run_at      TIMESTAMP,
    last_ok_at       TIMESTAMP,
    last_error       TEXT NOT NULL DEFAULT '',
    created_at       TIMESTAMP NOT NULL,
    PRIMARY KEY (instance_id, resource)
);

-- Dedupe: the last reported version of each object.
CREATE TABLE seen (
    instance_id  INTEGER NOT NULL,
    resource     TEXT NOT NULL,
    object_id    TEXT NOT NULL,
    updated      TIMESTAMP NOT NULL,
    hash         BLOB NOT NULL,
    created_sent INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (instance_id, resource, object_id),
    FOREIGN KEY (instance_id, resource) REFERENCES polls(instance_id, resource) ON DELETE CASCADE
);
CREATE INDEX seen_updated ON seen (instance_id, resource, updated);

CREATE TABLE events (
    seq           INTEGER PRIMARY KEY AUTOINCREMENT,
    id            TEXT NOT NULL UNIQUE,
    org_id        INTEGER NOT NULL,
    instance_id   INTEGER NOT NULL REFERENCES instances(id) ON DELETE CASCADE,
    resource      TEXT NOT NULL,
    object_id     TEXT NOT NULL,
    event_type    TEXT NOT NULL,
    event_date    TIMESTAMP NOT NULL,  -- the record's updated (or created) date
    poll_date     TIMESTAMP NOT NULL,  -- start of the poll run, upstream clock
    status        TEXT NOT NULL DEFAULT 'NEW',
    provider_data TEXT NOT NULL,       -- the record as the upstream sent it
    created_at    TIMESTAMP NOT NULL
);
CREATE INDEX events_instance ON events (instance_id, seq);
CREATE INDEX events_org ON events (org_id, seq);
