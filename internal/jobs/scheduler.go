package jobs

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"math/rand/v2"
	"slices"
	"strconv"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/pollhook/pollhook/internal/instance"
	"github.com/pollhook/pollhook/internal/poller"
	"github.com/pollhook/pollhook/internal/store"
)

var _ instance.Scheduler = (*Engine)(nil)

// InstanceSaved makes the instance's polls match its configuration, in the
// caller's transaction (poller.Sync), and gives every remaining poll a
// live job. A job whose
// poll is removed cancels itself when it next wakes; one whose interval
// changed is woken now to take the new interval.
func (e *Engine) InstanceSaved(ctx context.Context, tx *store.Tx, in *store.Instance) error {
	polls, removed, err := poller.Sync(ctx, tx, in, e.cfg.IntervalUnit, e.cfg.Now())
	if err != nil {
		return err
	}
	e.polls.Forget(in.Account) // its account's pace follows the change at once
	for _, p := range polls {
		if err := e.ensureJob(ctx, tx, p); err != nil {
			return err
		}
	}
	return e.cancelJobs(ctx, tx, removed)
}

// InstanceDeleted removes the instance's polls and cancels their jobs,
// before the instance itself goes.
func (e *Engine) InstanceDeleted(ctx context.Context, tx *store.Tx, in *store.Instance) error {
	_, removed, err := tx.SyncPolls(ctx, in.ID, nil, 0, e.cfg.Now())
	if err != nil {
		return err
	}
	e.polls.Forget(in.Account)
	return e.cancelJobs(ctx, tx, removed)
}

// cancelJobs cancels removed polls' jobs. A job running meanwhile finishes
// its run, finds its poll gone at commit, writes nothing and stops. (A job
// missed here would cancel itself when it next woke.)
func (e *Engine) cancelJobs(ctx context.Context, tx *store.Tx, removed []*store.Poll) error {
	for _, p := range removed {
		if p.JobID == 0 {
			continue
		}
		if _, err := e.client.JobCancelTx(ctx, tx.SQL(), p.JobID); err != nil && !errors.Is(err, river.ErrNotFound) {
			return err
		}
	}
	return nil
}

// ensureJob inserts the poll's job unless it exists, and wakes an existing
// snoozed one so a changed interval applies at once. A new poll's first
// run is spread over FirstPollSpread, when set.
func (e *Engine) ensureJob(ctx context.Context, tx *store.Tx, p *store.Poll) error {
	var opts *river.InsertOpts
	if spread := min(e.cfg.FirstPollSpread, p.Interval); p.Runs == 0 && spread > 0 {
		// The cursor starts now whenever the first run happens, so a
		// change is still reported within one interval.
		opts = &river.InsertOpts{ScheduledAt: time.Now().Add(rand.N(spread))}
	}
	res, err := e.client.InsertTx(ctx, tx.SQL(), PollArgs{InstanceID: p.InstanceID, Resource: p.Resource}, opts)
	if err != nil {
		return err
	}
	if res.UniqueSkippedAsDuplicate && res.Job.State == rivertype.JobStateScheduled {
		if _, err := e.client.JobRetryTx(ctx, tx.SQL(), res.Job.ID); err != nil {
			return err
		}
	}
	if res.Job.ID != p.JobID {
		return tx.SetPollJob(ctx, p.InstanceID, p.Resource, res.Job.ID)
	}
	return nil
}

// ReconcileArgs is the periodic repair of schedules.
type ReconcileArgs struct{}

// Kind names the job.
func (ReconcileArgs) Kind() string { return "reconcile" }

type reconcileWorker struct {
	river.WorkerDefaults[ReconcileArgs]
	e *Engine
}

// Work runs one reconcile pass and says what it repaired. On PostgreSQL it
// also refreshes the statistics of River's job table: without them
// River's scheduler, which makes due jobs available, plans its statement
// over every waiting job as if there were few, and at 20,000 polls took
// 18 s a call or ran into its timeout (the polling bench at saturation:
// 190 polls/s, 506 with the statistics kept; docs/BENCHMARKS.md).
func (w *reconcileWorker) Work(ctx context.Context, _ *river.Job[ReconcileArgs]) error {
	if err := w.e.cfg.Store.Analyze(ctx, "river_job"); err != nil {
		w.e.log.Warn("reconcile: refreshing the job table's statistics", "err", err)
	}
	r, err := w.e.Reconcile(ctx)
	if err != nil {
		return err
	}
	level := slog.LevelDebug
	if r != (Repaired{}) {
		level = slog.LevelInfo
	}
	w.e.log.Log(ctx, level, "reconcile: repaired schedules", "poll_jobs_recreated", r.PollJobs,
		"polls_relinked", r.PollLinks, "delivery_jobs_recreated", r.DeliverJobs)
	return nil
}

// Repaired is what a reconcile pass repaired.
type Repaired struct {
	PollJobs    int // poll jobs inserted
	PollLinks   int // polls whose recorded job changed: to a new job, or to a live one they had lost track of
	DeliverJobs int // delivery jobs inserted
}

// reconcileBatchDefault is how many jobs one reconcile transaction
// inserts: large enough that repairing every poll of a database restored
// without the engine's tables takes few transactions, small enough that
// none holds SQLite's write lock for long.
const reconcileBatchDefault = 500

// Reconcile gives every poll a live job, and every callback with
// notifications to send a delivery job: a job lost to an operator's
// cleanup, a bug, or a database copied without the engine's tables is
// recreated within one reconcile interval. Orphaned jobs need no repair:
// they cancel themselves. It runs every few minutes over every poll, so
// it first asks the store, in one query each, which polls and callbacks
// lack a live job, and touches only those, in batches: when all is well
// a pass costs a few statements and no transaction, however many polls
// there are.
func (e *Engine) Reconcile(ctx context.Context) (Repaired, error) {
	if err := e.retimeUnboundedIntervals(ctx); err != nil {
		e.log.Warn("reconcile: re-timing polls of out-of-bound refresh intervals", "err", err)
	}
	var r Repaired
	var err error
	if r.PollJobs, r.PollLinks, err = e.repairPollJobs(ctx); err != nil {
		return r, err
	}
	r.DeliverJobs, err = e.repairDeliverJobs(ctx)
	return r, err
}

func (e *Engine) reconcileBatch() int { return cmp.Or(e.reconcileBatchSize, reconcileBatchDefault) }

// repairPollJobs gives the polls without a live job one, a batch per
// transaction. A poll whose job exists after all (inserted since the
// query, or recorded wrongly) gets that job's id: River's uniqueness
// returns it instead of inserting another.
func (e *Engine) repairPollJobs(ctx context.Context) (inserted, relinked int, err error) {
	polls, err := e.cfg.Store.PollsWithoutLiveJob(ctx)
	if err != nil {
		return 0, 0, err
	}
	for batch := range slices.Chunk(polls, e.reconcileBatch()) {
		err := e.cfg.Store.InTx(ctx, func(tx *store.Tx) error {
			n, m, err := e.insertPollJobs(ctx, tx, batch)
			inserted, relinked = inserted+n, relinked+m
			return err
		})
		if err != nil {
			return inserted, relinked, err
		}
	}
	return inserted, relinked, nil
}

// insertPollJobs inserts the polls' jobs in one statement and records
// each poll's job where it changed.
func (e *Engine) insertPollJobs(ctx context.Context, tx *store.Tx, polls []store.PollJob) (inserted, relinked int, err error) {
	params := make([]river.InsertManyParams, len(polls))
	for i, p := range polls {
		params[i] = river.InsertManyParams{Args: PollArgs{InstanceID: p.InstanceID, Resource: p.Resource}}
	}
	results, err := e.client.InsertManyTx(ctx, tx.SQL(), params)
	if err != nil {
		return 0, 0, err
	}
	// Results are matched by their arguments: the order of rows an
	// INSERT returns is not promised.
	jobs := make(map[PollArgs]int64, len(results))
	for _, res := range results {
		var a PollArgs
		if err := json.Unmarshal(res.Job.EncodedArgs, &a); err != nil {
			return 0, 0, err
		}
		jobs[a] = res.Job.ID
		if !res.UniqueSkippedAsDuplicate {
			inserted++
		}
	}
	for _, p := range polls {
		if id := jobs[PollArgs{InstanceID: p.InstanceID, Resource: p.Resource}]; id != p.JobID {
			if err := tx.SetPollJob(ctx, p.InstanceID, p.Resource, id); err != nil {
				return 0, 0, err
			}
			relinked++
		}
	}
	return inserted, relinked, nil
}

// repairDeliverJobs gives the callbacks with notifications to send and no
// live delivery job one, a batch per transaction.
func (e *Engine) repairDeliverJobs(ctx context.Context) (inserted int, err error) {
	callbacks, err := e.cfg.Store.CallbacksWithoutLiveDelivery(ctx)
	if err != nil {
		return 0, err
	}
	for batch := range slices.Chunk(callbacks, e.reconcileBatch()) {
		err := e.cfg.Store.InTx(ctx, func(tx *store.Tx) error {
			params := make([]river.InsertManyParams, len(batch))
			for i, id := range batch {
				params[i] = river.InsertManyParams{Args: DeliverArgs{CallbackID: id}}
			}
			results, err := e.client.InsertManyTx(ctx, tx.SQL(), params)
			for _, res := range results {
				if !res.UniqueSkippedAsDuplicate {
					inserted++
				}
			}
			return err
		})
		if err != nil {
			return inserted, err
		}
	}
	return inserted, nil
}

// retimeUnboundedIntervals gives the clamped interval to the polls of
// instances whose stored refresh interval exceeds the bound: before it
// existed, minutes × unit could overflow and such an instance was polled
// every few seconds. Their polls are re-timed once (as by an instance
// save, which also resumes paused polls); an instance whose polls already
// have the interval is left alone.
func (e *Engine) retimeUnboundedIntervals(ctx context.Context) error {
	// Every value above the bound has more digits than the bound less one.
	ids, err := e.cfg.Store.InstancesWithLongConfigValue(ctx, instance.KeyRefreshInterval, len(strconv.Itoa(instance.MaxRefreshInterval))-1)
	if err != nil {
		return err
	}
	for _, id := range ids {
		err := e.cfg.Store.InTx(ctx, func(tx *store.Tx) error {
			in, err := tx.InstanceByID(ctx, id)
			if errors.Is(err, store.ErrNotFound) {
				return nil
			} else if err != nil {
				return err
			}
			resources, interval, err := poller.Wanted(in, e.cfg.IntervalUnit)
			if err != nil || len(resources) == 0 {
				return nil // nothing to poll, or a configuration whose polls report why they cannot run
			}
			// Polls keep whole seconds.
			polls, err := tx.PollsOf(ctx, id)
			if err != nil || !slices.ContainsFunc(polls, func(p *store.Poll) bool { return p.Interval/time.Second != interval/time.Second }) {
				return err
			}
			e.log.Info("reconcile: re-timed the polls of an instance whose refresh interval exceeds the bound",
				"instance", id, "interval", interval)
			return e.InstanceSaved(ctx, tx, in)
		})
		if err != nil {
			return err
		}
	}
	return nil
}
