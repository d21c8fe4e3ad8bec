-- One upstream pace across replicas (issue 20): the GCRA theoretical
-- arrival time of each upstream account, whose row is also the lock that
-- serializes the account's takes, and the account's leased in-flight
-- slots. A lease frees itself at expires_at: a crashed replica's slots
-- come back without anyone releasing them.
CREATE TABLE upstream_pace (
    account TEXT PRIMARY KEY,
    tat TIMESTAMP NOT NULL
);
CREATE TABLE upstream_slots (
    account TEXT NOT NULL,
    slot INTEGER NOT NULL,
    holder TEXT NOT NULL,
    expires_at TIMESTAMP NOT NULL,
    PRIMARY KEY (account, slot)
);
