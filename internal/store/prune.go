package store

import (
	"context"
	"time"
)

// PruneBatchDefault is how many rows one prune statement deletes: small
// enough that each statement holds SQLite's write lock for milliseconds,
// not the minutes one statement over a month of history takes, so that
// polls and deliveries committing meanwhile wait briefly instead of
// running out their busy timeout.
const PruneBatchDefault = 1000

// PrunePauseDefault is the wait between batches the server's prune
// takes: SQLite's busy handler sleeps at most 100 ms between tries, so a
// pause as long lets every writer waiting on a batch in before the next
// one (bench prune: back to back, commits waited up to seconds).
const PrunePauseDefault = 100 * time.Millisecond

// PruneUnbatched as PruneOptions.BatchSize deletes each table in one
// statement (the prune before batches; the benchmark compares it).
const PruneUnbatched = -1

// PruneOptions says what Prune deletes and in what steps.
type PruneOptions struct {
	Before time.Time // what was recorded before this is pruned
	// BatchSize is the most rows one statement deletes; 0 means
	// PruneBatchDefault, PruneUnbatched one statement per table.
	BatchSize int
	// Pause is a wait between batches, leaving the database to other
	// writers; 0 goes straight on.
	Pause time.Duration
	// AfterBatch, when set, is told after each batch what the table
	// (events, notifications, test_deliveries) has lost so far: for
	// progress, and to time the batches.
	AfterBatch func(table string, c PruneCount)
}

// PruneCount is what Prune deleted from one table.
type PruneCount struct {
	Rows    int64
	Batches int // statements that deleted rows
}

// PruneResult is what Prune deleted, table by table (attempts go with
// their notifications and are not counted).
type PruneResult struct {
	Events, Notifications, TestDeliveries PruneCount
}

// Rows is the rows deleted from all tables.
func (r PruneResult) Rows() int64 {
	return r.Events.Rows + r.Notifications.Rows + r.TestDeliveries.Rows
}

// Batches is the statements that deleted rows, all tables together.
func (r PruneResult) Batches() int {
	return r.Events.Batches + r.Notifications.Batches + r.TestDeliveries.Batches
}

// Prune deletes what is older than o.Before: events whose notification
// was delivered or that had none, delivered notifications (with their
// attempts), and test deliveries. Undelivered notifications and their
// events are never pruned: nothing is dropped before it is sent.
//
// It deletes in batches, oldest first, each batch one statement (its own
// transaction), events before the notifications they point to, so that a
// prune stopped at any point leaves nothing dangling and the next one
// goes on from there. It stops between batches when ctx ends and returns
// what it deleted until then with ctx's error.
func (s *Store) Prune(ctx context.Context, o PruneOptions) (PruneResult, error) {
	if o.BatchSize == 0 {
		o.BatchSize = PruneBatchDefault
	}
	before := o.Before.UTC()
	var res PruneResult
	if err := s.batches(ctx, o, "events", &res.Events, s.pruneEvents(ctx, before, o.BatchSize)); err != nil {
		return res, err
	}
	if err := s.batches(ctx, o, "notifications", &res.Notifications, s.pruneOldest(ctx, `notifications`, `seq`,
		`status = 'delivered' AND created_at < ?`, `created_at`, before, o.BatchSize)); err != nil {
		return res, err
	}
	err := s.batches(ctx, o, "test_deliveries", &res.TestDeliveries, s.pruneOldest(ctx, `test_deliveries`, `id`, `at < ?`, `at`, before, o.BatchSize))
	return res, err
}

// batches runs batch until it deletes less than a full batch (at once
// when unbatched), counting table's rows into c, pausing o.Pause between
// batches, and stopping early when ctx ends.
func (s *Store) batches(ctx context.Context, o PruneOptions, table string, c *PruneCount, batch func() (int64, error)) error {
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		n, err := batch()
		if err != nil {
			return err
		}
		if n > 0 {
			c.Rows += n
			c.Batches++
			if o.AfterBatch != nil {
				o.AfterBatch(table, *c)
			}
		}
		if o.BatchSize == PruneUnbatched || n < int64(o.BatchSize) {
			return nil
		}
		if o.Pause > 0 {
			t := time.NewTimer(o.Pause)
			select {
			case <-ctx.Done():
				t.Stop()
				return ctx.Err()
			case <-t.C:
			}
		}
	}
}

// prunableEvents selects the events Prune deletes, recorded in
// [?, ?): those without a notification, or whose notification was
// delivered. The scalar subquery reads one notification by primary key
// for each event the batch walks: PostgreSQL planned an EXISTS under the
// OR as a hash of every delivered notification, built again by every
// batch (1.6 s a batch at 250,000 notifications).
const prunableEvents = `created_at >= ? AND created_at < ? AND (notification_id IS NULL OR
	(SELECT n.status FROM notifications n WHERE n.seq = events.notification_id) = 'delivered')`

// pruneEvents deletes a batch of events a call, oldest first, walking
// the index events_created from where the last batch ended: the events
// it keeps (an undelivered notification's, possibly a suspended
// callback's month of backlog) are passed over once, not by every batch.
// Every prunable event older than the last batch's newest is gone, so
// the next batch starts at that instant.
func (s *Store) pruneEvents(ctx context.Context, before time.Time, limit int) func() (int64, error) {
	var from time.Time
	if limit == PruneUnbatched {
		return func() (int64, error) {
			return rowsAffected(s.exec(ctx, `DELETE FROM events WHERE `+prunableEvents, from, before))
		}
	}
	return func() (int64, error) {
		rows, err := s.query(ctx, `DELETE FROM events WHERE seq IN (SELECT seq FROM events WHERE `+prunableEvents+`
			ORDER BY created_at LIMIT ?) RETURNING created_at`, from, before, limit)
		if err != nil {
			return 0, err
		}
		defer rows.Close()
		var n int64
		for rows.Next() {
			var at time.Time
			if err := rows.Scan(&at); err != nil {
				return n, s.d.wrap(err)
			}
			if at.After(from) {
				from = at
			}
			n++
		}
		return n, s.d.wrap(rows.Err())
	}
}

// pruneOldest deletes a batch of table's rows matching where (its one
// parameter is before) a call, oldest by the indexed column at first.
// Every row of such a batch is deleted, so each batch starts again at the
// head of the index.
func (s *Store) pruneOldest(ctx context.Context, table, key, where, at string, before time.Time, limit int) func() (int64, error) {
	if limit == PruneUnbatched {
		return func() (int64, error) {
			return rowsAffected(s.exec(ctx, `DELETE FROM `+table+` WHERE `+where, before))
		}
	}
	return func() (int64, error) {
		return rowsAffected(s.exec(ctx, `DELETE FROM `+table+` WHERE `+key+` IN (SELECT `+key+` FROM `+table+` WHERE `+where+`
			ORDER BY `+at+` LIMIT ?)`, before, limit))
	}
}

func rowsAffected(res interface{ RowsAffected() (int64, error) }, err error) (int64, error) {
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}
