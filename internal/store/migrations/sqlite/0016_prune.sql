-- Retention (issue 21): the hourly prune deletes in small batches, oldest
-- first, and each batch must find its rows without scanning the table.
-- Events by age alone (0010's indexes lead with the organization or the
-- instance); delivered notifications by age, the only ones pruned, so the
-- index holds nothing the prune must skip.
CREATE INDEX events_created ON events (created_at);
CREATE INDEX notifications_delivered_created ON notifications (created_at) WHERE status = 'delivered';
