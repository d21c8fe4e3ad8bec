-- The web console's sign-in: a password per user (bcrypt, '' when none
-- is set: such a user cannot sign in) and sessions kept in the database,
-- so that any replica serves any request.
ALTER TABLE users ADD COLUMN password_hash TEXT NOT NULL DEFAULT '';

-- A session is known by the SHA-256 of its cookie's token, never the
-- token. A pending session is one whose address and password matched
-- users in several organizations: it holds the candidates' user ids
-- (comma-separated) and no user until one is chosen. Deleting a user or
-- an organization deletes its sessions.
CREATE TABLE console_sessions (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    token_hash   BLOB NOT NULL UNIQUE,
    user_id      INTEGER REFERENCES users(id) ON DELETE CASCADE,
    org_id       INTEGER REFERENCES organizations(id) ON DELETE CASCADE,
    pending      INTEGER NOT NULL DEFAULT 0,
    candidates   TEXT NOT NULL DEFAULT '',
    created_at   TIMESTAMP NOT NULL,
    expires_at   TIMESTAMP NOT NULL,
    last_seen_at TIMESTAMP NOT NULL
);
CREATE INDEX console_sessions_expiry ON console_sessions (expires_at);
CREATE INDEX console_sessions_user ON console_sessions (user_id);
CREATE INDEX users_email ON users (lower(email));
