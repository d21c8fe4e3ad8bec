package jobs

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/pollhook/pollhook/internal/delivery"
	"github.com/pollhook/pollhook/internal/instance"
	"github.com/pollhook/pollhook/internal/store"
)

// Delivery defaults.
const (
	// DeliveryConcurrencyDefault is how many notifications one callback
	// receives at once while healthy: one, so each callback gets its
	// notifications in order. More raises throughput and gives up order.
	DeliveryConcurrencyDefault = 1
	// deliverIdle is how long a drained callback's job sleeps before
	// looking again; new notifications wake it at once. A notification
	// committed while the job is running cannot wake it (the job is not
	// asleep yet), so a job that just delivered looks again soon.
	deliverIdle     = 30 * time.Second
	deliverIdleBusy = 2 * time.Second
	// deliverHold is how long a job that has just delivered stays on,
	// waiting for more: a notification committed in this process wakes it
	// at once, one committed by another replica is seen within
	// deliverRecheck. A steady trickle is then sent within milliseconds
	// instead of waiting for River to fetch the job again.
	deliverHold    = 2 * time.Second
	deliverRecheck = 100 * time.Millisecond
	// deliverBatch is how many notifications one pass reads and records in
	// one transaction: the database work per notification shrinks, the
	// order stays.
	deliverBatch = 64
	// deliverBudget bounds one job run, so many busy callbacks share workers.
	deliverBudget = 30 * time.Second
)

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
	return deliverBudget + 2*delivery.TimeoutDefault
}

// Work drains the outbox, then sleeps until the next attempt is due, but
// never longer than deliverIdle, so that whatever wake-up went missing is
// made up for by one cheap query.
func (w *deliverWorker) Work(ctx context.Context, job *river.Job[DeliverArgs]) error {
	next, err := w.e.deliverOnce(ctx, job.Args.CallbackID)
	if err != nil {
		return err
	}
	return river.JobSnooze(min(max(next, 0), deliverIdle))
}

// Enqueue schedules delivery for a callback in the caller's transaction
// (the one that adds its notifications), waking its job if it sleeps
// while the callback is healthy; a failing callback keeps its schedule.
func (e *Engine) Enqueue(ctx context.Context, tx *store.Tx, callbackID int64) error {
	tx.AfterCommit(func() { e.wakers.signal(callbackID) })
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
		// sleep: a small job wakes it once it does.
		_, err := e.client.InsertTx(ctx, tx.SQL(), WakeArgs{CallbackID: callbackID},
			&river.InsertOpts{ScheduledAt: time.Now().Add(wakeDelay)})
		return err
	}
	return nil
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

// wakers lets a commit in this process wake the delivery job holding its
// callback at once.
type wakers struct {
	mu sync.Mutex
	ch map[int64]chan struct{}
}

func (w *wakers) signal(callbackID int64) {
	w.mu.Lock()
	defer w.mu.Unlock()
	select {
	case w.ch[callbackID] <- struct{}{}:
	default:
	}
}

// listen registers for a callback's signals until the returned func runs.
func (w *wakers) listen(callbackID int64) (<-chan struct{}, func()) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.ch == nil {
		w.ch = map[int64]chan struct{}{}
	}
	c := make(chan struct{}, 1)
	w.ch[callbackID] = c
	return c, func() {
		w.mu.Lock()
		defer w.mu.Unlock()
		if w.ch[callbackID] == c {
			delete(w.ch, callbackID)
		}
	}
}

// sendTarget is how one instance's notifications are sent.
type sendTarget struct {
	key     string // event.notification.signature.key
	headers http.Header
}

// deliverOnce drains a callback's outbox until it is empty, fails, or the
// run's budget is spent, and says how long to sleep.
//
// While the outbox is busy the run is a pipeline of passes: pass k+1 is
// read and sent while pass k's attempts are being recorded, so the
// receiver never waits for the database. Order holds (a pass is read
// after the last one sent, and sent only after the one before it was);
// a crash loses at most the two passes not yet recorded, which are sent
// again, under the same ids.
func (e *Engine) deliverOnce(ctx context.Context, callbackID int64) (time.Duration, error) {
	st := e.cfg.Store
	deadline := time.Now().Add(deliverBudget)
	targets := map[int64]*sendTarget{}
	idle := deliverIdle
	wake, stop := e.wakers.listen(callbackID)
	defer stop()
	var (
		active  time.Time       // when this run last sent something
		cb      *store.Callback // nil: read it again
		rec     recorder        // the pass being recorded
		after   int64           // the last seq sent while rec is busy
		counted func()          // uncounts this job from its organization's deliveries
	)
	defer func() {
		if counted != nil {
			counted()
		}
	}()
	for time.Now().Before(deadline) {
		if cb == nil {
			var err error
			cb, err = st.GetCallback(ctx, 0, callbackID)
			if errors.Is(err, store.ErrNotFound) {
				return 0, errors.Join(rec.wait(), river.JobCancel(errors.New("the callback is gone")))
			} else if err != nil {
				return 0, errors.Join(rec.wait(), err)
			}
		}
		now := e.cfg.Now()
		switch {
		case cb.State == store.CallbackSuspended:
			return 24 * time.Hour, rec.wait() // reactivation wakes it
		case cb.State == store.CallbackRetrying && cb.NextAttemptAt.After(now):
			return cb.NextAttemptAt.Sub(now), rec.wait()
		}
		if counted == nil {
			// Something to send, maybe: count the job against its
			// organization's cap (the callback names the organization, so
			// this costs no query), or give the worker back (fair.go).
			release, ok := e.orgs.tryAcquire(cb.OrgID, kindDeliver)
			if !ok {
				e.cfg.Metrics.Deferred(kindDeliver, "org_cap")
				return jittered(orgCapDelay, orgCapJitter), rec.wait()
			}
			counted = release
		}
		batch := deliverBatch
		if cb.State == store.CallbackRetrying {
			batch = 1 // the queue waits behind its head: no retry storm
		}
		pending, err := st.PendingNotifications(ctx, cb.ID, after, batch)
		if err != nil {
			return 0, errors.Join(rec.wait(), err)
		}
		if len(pending) == 0 {
			if rec.busy() {
				// Look again once the last pass is recorded, from the
				// start: a replay may have queued an older notification.
				if err := rec.wait(); err != nil {
					return 0, err
				}
				after = 0
				continue
			}
			hold := time.Until(active.Add(deliverHold))
			if active.IsZero() || hold <= 0 {
				return idle, nil
			}
			timer := time.NewTimer(min(hold, deliverRecheck))
			select {
			case <-ctx.Done():
			case <-wake:
			case <-timer.C:
			}
			timer.Stop()
			if ctx.Err() != nil {
				return 0, nil
			}
			cb = nil
			continue
		}
		idle, active = deliverIdleBusy, time.Now()
		results, failed := e.sendPass(ctx, cb, pending, targets, deadline)
		if ctx.Err() != nil {
			// Shutting down: record the deliveries that completed, so a
			// stop resends as little as possible; the rest is sent again
			// after the restart, same ids.
			sent := 0
			for sent < len(results) && results[sent].OK() {
				sent++
			}
			return 0, errors.Join(rec.wait(), e.record(context.WithoutCancel(ctx), pending[:sent], results[:sent], now))
		}
		if len(results) == 0 {
			break // the budget was spent before the first send
		}
		pending = pending[:len(results)]
		if err := rec.wait(); err != nil {
			return 0, err
		}
		if !failed && cb.State == store.CallbackActive {
			rec.start(func() error { return e.record(context.WithoutCancel(ctx), pending, results, now) })
			after = pending[len(pending)-1].Seq
			continue
		}
		// A failure or a recovery changes the callback: record first.
		after = 0
		if err := e.record(context.WithoutCancel(ctx), pending, results, now); err != nil {
			return 0, err
		}
		if failed {
			return e.callbackFailed(ctx, cb, pending, results, now)
		}
		cb.State, cb.Failures, cb.FirstFailureAt, cb.NextAttemptAt, cb.LastError = store.CallbackActive, 0, time.Time{}, time.Time{}, ""
		if err := st.UpdateCallback(ctx, cb); err != nil {
			return 0, err
		}
	}
	return 0, rec.wait() // budget spent: yield the worker, resume at once
}

// sendPass sends a pass in order, DeliveryConcurrency at a time, stopping
// at the first failure (the queue waits behind it), when the run's budget
// is spent or the job is stopped. It returns the results of what it
// sent, in order, and whether one failed.
func (e *Engine) sendPass(ctx context.Context, cb *store.Callback, pending []*store.Notification, targets map[int64]*sendTarget, deadline time.Time) ([]delivery.Result, bool) {
	results := make([]delivery.Result, len(pending))
	sent, failed := 0, false
	for sent < len(pending) && !failed && ctx.Err() == nil && time.Now().Before(deadline) {
		group := pending[sent:min(sent+e.cfg.DeliveryConcurrency, len(pending))]
		var wg sync.WaitGroup
		for j, n := range group {
			i := sent + j
			t, err := e.sendTarget(ctx, n.InstanceID, targets)
			if err != nil {
				results[i] = delivery.Result{Err: err.Error()}
				continue
			}
			wg.Go(func() {
				h := t.headers.Clone()
				delivery.Sign(h, t.key, n.ID, n.Body, time.Now())
				results[i] = e.sender.Send(ctx, cb.URL, h, n.Body)
			})
		}
		wg.Wait()
		for j := range group {
			failed = failed || !results[sent+j].OK()
		}
		sent += len(group)
	}
	return results[:sent], failed
}

// record writes a pass's attempts in one transaction and counts them.
func (e *Engine) record(ctx context.Context, pending []*store.Notification, results []delivery.Result, at time.Time) error {
	if len(pending) == 0 {
		return nil
	}
	record := make([]store.AttemptResult, len(pending))
	for i, n := range pending {
		r := results[i]
		status := store.NotificationDelivered
		if !r.OK() {
			status = store.NotificationRetry
		}
		record[i] = store.AttemptResult{Notification: n, Status: status,
			Attempt: store.Attempt{At: at, StatusCode: r.Status, Latency: r.Latency, Error: r.Err, Response: r.Response}}
	}
	if err := e.cfg.Store.InTx(ctx, func(tx *store.Tx) error { return tx.RecordAttempts(ctx, record) }); err != nil {
		return err
	}
	for i, n := range pending {
		if results[i].OK() {
			e.cfg.Metrics.Attempt("delivered", e.cfg.Now().Sub(n.CreatedAt))
		} else {
			e.cfg.Metrics.Attempt("failed", 0)
		}
	}
	return nil
}

// recorder records one pass in the background while the next is sent.
type recorder struct{ done chan error }

func (r *recorder) start(record func() error) {
	r.done = make(chan error, 1)
	go func() { r.done <- record() }()
}

func (r *recorder) busy() bool { return r.done != nil }

// wait waits for the pass being recorded, if any, and says how it went.
func (r *recorder) wait() error {
	if r.done == nil {
		return nil
	}
	err := <-r.done
	r.done = nil
	return err
}

// callbackFailed moves a callback along its retry schedule after a failed
// attempt, or suspends it: on a 410, or when the schedule is spent.
func (e *Engine) callbackFailed(ctx context.Context, cb *store.Callback, pending []*store.Notification, results []delivery.Result, now time.Time) (time.Duration, error) {
	st := e.cfg.Store
	var r delivery.Result
	for _, res := range results {
		if !res.OK() {
			r = res // the first failure in queue order
			break
		}
	}
	cb.Failures++
	if cb.FirstFailureAt.IsZero() {
		cb.FirstFailureAt = now
	}
	cb.LastError = describe(r)
	next, suspend := delivery.Next(e.cfg.Schedule, cb.Failures, cb.FirstFailureAt, now, r.RetryAfter, e.cfg.Jitter)
	if r.Gone() || suspend {
		cb.State, cb.SuspendedAt, cb.NextAttemptAt = store.CallbackSuspended, now, time.Time{}
		err := st.InTx(ctx, func(tx *store.Tx) error {
			if err := tx.UpdateCallback(ctx, cb); err != nil {
				return err
			}
			return tx.QueueAll(ctx, cb.ID)
		})
		e.log.Warn("callback suspended; its notifications are queued until it is reactivated", "callback", cb.ID, "reason", cb.LastError)
		e.cfg.Metrics.Suspended()
		return 24 * time.Hour, err
	}
	cb.State, cb.NextAttemptAt = store.CallbackRetrying, next
	if err := st.UpdateCallback(ctx, cb); err != nil {
		return 0, err
	}
	return next.Sub(now), nil
}

func describe(r delivery.Result) string {
	if r.Status == 0 {
		return r.Err
	}
	return strconv.Itoa(r.Status) + " " + http.StatusText(r.Status)
}

// sendTarget reads how an instance's notifications are signed and which
// extra headers they carry.
func (e *Engine) sendTarget(ctx context.Context, instanceID int64, cache map[int64]*sendTarget) (*sendTarget, error) {
	if t, ok := cache[instanceID]; ok {
		return t, nil
	}
	inst, err := e.cfg.Store.InstanceByID(ctx, instanceID)
	if err != nil {
		return nil, err
	}
	cfg, err := e.cfg.Instances.Config(inst)
	if err != nil {
		return nil, err
	}
	t := &sendTarget{key: cfg[instance.KeySignatureKey], headers: http.Header{}}
	for k, v := range parseHeaders(cfg[instance.KeyCallbackHeaders]) {
		t.headers.Set(k, v)
	}
	if u := cfg[instance.KeyBasicUsername]; u != "" {
		req := http.Request{Header: t.headers}
		req.SetBasicAuth(u, cfg[instance.KeyBasicPassword])
	}
	cache[instanceID] = t
	return t, nil
}

// parseHeaders reads event.notification.callback.headers: a JSON object,
// or "Name: value" pairs separated by newlines or semicolons.
func parseHeaders(s string) map[string]string {
	out := map[string]string{}
	s = strings.TrimSpace(s)
	if s == "" {
		return out
	}
	if strings.HasPrefix(s, "{") {
		json.Unmarshal([]byte(s), &out)
		return out
	}
	for part := range strings.FieldsFuncSeq(s, func(r rune) bool { return r == '\n' || r == ';' }) {
		if k, v, ok := strings.Cut(part, ":"); ok && strings.TrimSpace(k) != "" {
			out[strings.TrimSpace(k)] = strings.TrimSpace(v)
		}
	}
	return out
}

// Reactivate makes a suspended callback active again and redelivers its
// queue, in order, starting now.
func (e *Engine) Reactivate(ctx context.Context, orgID, callbackID int64) error {
	return e.cfg.Store.InTx(ctx, func(tx *store.Tx) error {
		if _, err := tx.GetCallback(ctx, orgID, callbackID); err != nil {
			return err
		}
		if err := tx.Reactivate(ctx, callbackID); err != nil {
			return err
		}
		return e.Enqueue(ctx, tx, callbackID)
	})
}

// Replay sends a notification again: same ids and body, new attempts.
func (e *Engine) Replay(ctx context.Context, orgID int64, id string) (*store.Notification, error) {
	var n *store.Notification
	err := e.cfg.Store.InTx(ctx, func(tx *store.Tx) error {
		var err error
		if n, err = tx.NotificationByID(ctx, orgID, id); err != nil {
			return err
		}
		if err := tx.Replay(ctx, n); err != nil {
			return err
		}
		return e.Enqueue(ctx, tx, n.CallbackID)
	})
	return n, err
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
// older than the retention period. Undelivered notifications stay.
func (w *pruneWorker) Work(ctx context.Context, _ *river.Job[PruneArgs]) error {
	n, err := w.e.cfg.Store.Prune(ctx, w.e.cfg.Now().Add(-w.e.cfg.Retention))
	if err == nil && n > 0 {
		w.e.log.Info("pruned old events and notifications", "rows", n)
	}
	return err
}
