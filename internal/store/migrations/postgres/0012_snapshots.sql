-- Record snapshots (opt-in per resource): the last observed version of a
-- record joins its per-record state, compressed (store.Seen.Snapshot);
-- NULL when the resource keeps none.
ALTER TABLE seen ADD COLUMN snapshot BYTEA;
-- An UPDATED's field diff, {"<field>": {"before": …, "after": …}}; '' when
-- none was computed.
ALTER TABLE events ADD COLUMN changed_fields TEXT NOT NULL DEFAULT '';
-- When a resource with snapshots completed its baseline scan (every
-- record observed once); NULL until then, and again once snapshots are off.
ALTER TABLE polls ADD COLUMN baseline_at TIMESTAMPTZ;
