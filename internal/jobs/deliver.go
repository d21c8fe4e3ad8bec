package jobs

import (
	"context"
	"errors"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/pollhook/pollhook/internal/delivery"
	"github.com/pollhook/pollhook/internal/store"
)

// DeliveryConcurrencyDefault is how many notifications one callback
// receives at once while healthy (delivery.ConcurrencyDefault).
const DeliveryConcurrencyDefault = delivery.ConcurrencyDefault

// DeliverArgs names one callback whose outbox to drain: one job per
// callback, so a slow or dead receiver only ever holds its own job.
type DeliverArgs struct {
	CallbackID int64 `json:"callback_id"`
}

// Kind names the job.
func (DeliverArgs) Kind() string { return "deliver" }

// InsertOpts makes delivery jobs unique per callback.
func (DeliverArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{UniqueOpts: river.UniqueOpts{ByArgs: true, ByState: uniqueStates}}
}

type deliverWorker struct {
	river.WorkerDefaults[DeliverArgs]
	e *Engine
}

func (w *deliverWorker) Timeout(*river.Job[DeliverArgs]) time.Duration {
	return delivery.Budget + 2*delivery.TimeoutDefault
}

// Work drains the outbox, then sleeps until the next attempt is due, but
// never longer than delivery.IdleSleep, so that whatever wake-up went
// missing is made up for by one cheap query.
func (w *deliverWorker) Work(ctx context.Context, job *river.Job[DeliverArgs]) error {
	next, err := w.e.pipeline.Drain(ctx, job.Args.CallbackID)
	if errors.Is(err, delivery.ErrCallbackGone) {
		return river.JobCancel(err)
	} else if err != nil {
		return err
	}
	return river.JobSnooze(min(max(next, 0), delivery.IdleSleep))
}

// Enqueue schedules delivery for a callback in the caller's transaction
// (the one that adds its notifications), waking its job if it sleeps
// while the callback is healthy; a failing callback keeps its schedule.
// It is the outbox's Enqueue.
func (e *Engine) Enqueue(ctx context.Context, tx *store.Tx, callbackID int64) error {
	tx.AfterCommit(func() { e.pipeline.Wake(callbackID) })
	res, err := e.client.InsertTx(ctx, tx.SQL(), DeliverArgs{CallbackID: callbackID}, nil)
	if err != nil || !res.UniqueSkippedAsDuplicate {
		return err
	}
	switch {
	case sleeping(res.Job):
		cb, err := tx.GetCallback(ctx, 0, callbackID)
		if err != nil || cb.State != store.CallbackActive {
			return err
		}
		_, err = e.client.JobRetryTx(ctx, tx.SQL(), res.Job.ID)
		return err
	case res.Job.State == rivertype.JobStateRunning:
		// River cannot wake a running job, and the job may be about to
		// sleep: a small job wakes it once it does. It is inserted once
		// the transaction has committed, not in it: the insert above
		// holds the delivery job's row until the commit, and a
		// transaction holding two jobs' rows can deadlock with River's
		// completer, which finishes a batch of jobs in one statement, in
		// no set order. If the process stops in between, the running job
		// looks again within delivery.IdleSleep all the same.
		tx.AfterCommit(func() { e.wakeRunning(context.WithoutCancel(ctx), callbackID) })
	}
	return nil
}

// wakeRunning inserts the job that wakes a callback's running delivery job
// once it has gone to sleep.
func (e *Engine) wakeRunning(ctx context.Context, callbackID int64) {
	_, err := e.client.Insert(ctx, WakeArgs{CallbackID: callbackID}, &river.InsertOpts{ScheduledAt: time.Now().Add(wakeDelay)})
	if err != nil {
		e.log.Warn("delivery: could not insert the job that wakes a running delivery job; that job looks again within its idle sleep", "callback", callbackID, "err", err)
	}
}

// sleeping says whether a job waits for a later time: scheduled, or — when
// River snoozed it for less than its scheduler's interval — available but
// not before its scheduled time (a drained delivery job sleeps 2 s so).
func sleeping(job *rivertype.JobRow) bool {
	return job.State == rivertype.JobStateScheduled ||
		job.State == rivertype.JobStateAvailable && job.ScheduledAt.After(time.Now())
}

// wakeDelay is how soon a wake job looks at a delivery job that was running.
const wakeDelay = 300 * time.Millisecond

// WakeArgs wakes a callback's delivery job once it has gone to sleep.
type WakeArgs struct {
	CallbackID int64 `json:"callback_id"`
}

// Kind names the job.
func (WakeArgs) Kind() string { return "deliver_wake" }

// InsertOpts makes wake jobs unique per callback.
func (WakeArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{UniqueOpts: river.UniqueOpts{ByArgs: true, ByState: uniqueStates}}
}

type wakeWorker struct {
	river.WorkerDefaults[WakeArgs]
	e *Engine
}

// Work wakes the delivery job if it sleeps while its callback is healthy,
// or waits while it still runs.
func (w *wakeWorker) Work(ctx context.Context, job *river.Job[WakeArgs]) error {
	e := w.e
	res, err := e.client.Insert(ctx, DeliverArgs{CallbackID: job.Args.CallbackID}, nil)
	if err != nil || !res.UniqueSkippedAsDuplicate {
		return err
	}
	switch {
	case res.Job.State == rivertype.JobStateRunning:
		return river.JobSnooze(wakeDelay)
	case sleeping(res.Job):
		cb, err := e.cfg.Store.GetCallback(ctx, 0, job.Args.CallbackID)
		if err != nil || cb.State != store.CallbackActive {
			return err
		}
		_, err = e.client.JobRetry(ctx, res.Job.ID)
		return err
	}
	return nil
}

// PruneArgs is the periodic removal of what the retention period has
// passed.
type PruneArgs struct{}

// Kind names the job.
func (PruneArgs) Kind() string { return "prune" }

type pruneWorker struct {
	river.WorkerDefaults[PruneArgs]
	e *Engine
}

// Work deletes delivered notifications, their attempts and their events
// older than the retention period (undelivered notifications stay), and
// the console's expired sessions. The store prunes in small batches: a
// run cut short (the job's timeout, a shutdown) has deleted what it got
// to, and the next hour's goes on from there.
func (w *pruneWorker) Work(ctx context.Context, _ *river.Job[PruneArgs]) error {
	res, err := w.e.cfg.Store.Prune(ctx, store.PruneOptions{Before: w.e.cfg.Now().Add(-w.e.cfg.Retention),
		Pause: store.PrunePauseDefault})
	if res.Rows() > 0 {
		w.e.log.Info("pruned old events and notifications", "rows", res.Rows(), "batches", res.Batches(),
			"events", res.Events.Rows, "notifications", res.Notifications.Rows, "test_deliveries", res.TestDeliveries.Rows)
	}
	if err != nil {
		return err
	}
	s, err := w.e.cfg.Store.PruneSessions(ctx, time.Now())
	if err == nil && s > 0 {
		w.e.log.Info("pruned expired console sessions", "sessions", s)
	}
	return err
}
