-- Delivery marks the events a notification carries NOTIFIED by notification:
-- without this index every delivery scanned the events table.
CREATE INDEX events_notification ON events (notification_id);
