-- The console's charts (events per hour by type, delivery latency and
-- failures per hour) read one organization's or one instance's rows in a
-- time range: these indexes bound each query by the range instead of
-- scanning the tables. Attempts carry no organization: their range is
-- read by time and joined to their notifications by key.
CREATE INDEX events_org_created ON events (org_id, created_at);
CREATE INDEX events_instance_created ON events (instance_id, created_at);
CREATE INDEX attempts_at ON attempts (at);
