-- Event filters (GET /instances/events?since=…&resource=…): events by when
-- pollhook recorded them, per organization and per instance, and an
-- instance's events of one resource in seq order. The type filter and the
-- delivery-status filter (through notifications' primary key) narrow what
-- these indexes select.
CREATE INDEX events_org_created ON events (org_id, created_at);
CREATE INDEX events_instance_created ON events (instance_id, created_at);
CREATE INDEX events_instance_resource ON events (instance_id, resource, seq);

-- Test notifications (POST /instances/{id}/callback-test): sent out of band,
-- never in the outbox; each one is recorded here, pruned with the retention
-- like attempts.
CREATE TABLE test_deliveries (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    org_id          INTEGER NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    instance_id     INTEGER NOT NULL REFERENCES instances(id) ON DELETE CASCADE,
    url             TEXT NOT NULL,
    notification_id TEXT NOT NULL,            -- Elements-Webhook-Id and webhook-id of the test
    resource        TEXT NOT NULL DEFAULT '',
    body            BLOB NOT NULL,            -- the exact bytes sent and signed
    signature       TEXT NOT NULL DEFAULT '', -- the Elements-Webhook-Signature sent
    at              TIMESTAMP NOT NULL,
    status_code     INTEGER NOT NULL DEFAULT 0,  -- 0: no response
    latency_ms      INTEGER NOT NULL DEFAULT 0,
    error           TEXT NOT NULL DEFAULT '',
    response        TEXT NOT NULL DEFAULT ''     -- the first 2 KB
);
CREATE INDEX test_deliveries_instance ON test_deliveries (instance_id, id);
CREATE INDEX test_deliveries_at ON test_deliveries (at);
