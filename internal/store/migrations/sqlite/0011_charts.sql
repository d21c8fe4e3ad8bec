-- The console's charts (events per hour by type, delivery latency and
-- failures per hour) read one organization's or one instance's rows in a
-- time range: these indexes bound each query by the range instead of
-- scanning the tables. Attempts carry no organization: their range is
-- read by time and joined to their notifications by key.
CREATE INDEX attempts_at ON attempts (at);
-- (events_org_created and events_instance_created, which the events charts
-- read, come with 0010.)
