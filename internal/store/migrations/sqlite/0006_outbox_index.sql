-- A callback's outbox is read in seq order among its waiting rows only.
-- The old index (callback_id, status, seq) kept every delivered row too: on
-- PostgreSQL each delivery left a dead 'created' entry at the head of the
-- queue, and reading the next 64 walked them all (a bitmap scan, then a sort).
-- Partial indexes hold only what is still to be sent, in the order it is sent.
DROP INDEX notifications_pending;
CREATE INDEX notifications_waiting ON notifications (callback_id, seq) WHERE status IN ('created', 'retry');
CREATE INDEX notifications_undelivered ON notifications (callback_id, status) WHERE status <> 'delivered';
