-- Organizations, users and element instances (issue 4).
CREATE TABLE organizations (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    name        TEXT NOT NULL,
    secret_hash BLOB NOT NULL UNIQUE,
    created_at  TIMESTAMP NOT NULL
);

CREATE TABLE users (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    org_id      INTEGER NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    email       TEXT NOT NULL,
    first_name  TEXT NOT NULL DEFAULT '',
    last_name   TEXT NOT NULL DEFAULT '',
    secret_hash BLOB NOT NULL UNIQUE,
    created_at  TIMESTAMP NOT NULL,
    UNIQUE (org_id, email)
);

CREATE TABLE instances (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    org_id         INTEGER NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    user_id        INTEGER NOT NULL REFERENCES users(id),
    element_key    TEXT NOT NULL,
    name           TEXT NOT NULL,
    tags           TEXT NOT NULL DEFAULT '[]',
    token_hash     BLOB NOT NULL UNIQUE,
    token_sealed   TEXT NOT NULL,
    valid          INTEGER NOT NULL DEFAULT 1,
    disabled       INTEGER NOT NULL DEFAULT 0,
    events_enabled INTEGER NOT NULL DEFAULT 0,
    account        TEXT NOT NULL DEFAULT '',
    created_at     TIMESTAMP NOT NULL,
    updated_at     TIMESTAMP NOT NULL
);
CREATE INDEX instances_org ON instances (org_id, id);

CREATE TABLE instance_config (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    instance_id INTEGER NOT NULL REFERENCES instances(id) ON DELETE CASCADE,
    key         TEXT NOT NULL,
    value       TEXT NOT NULL,
    secret      INTEGER NOT NULL DEFAULT 0,
    UNIQUE (instance_id, key)
);
