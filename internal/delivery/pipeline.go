package delivery

import (
	"cmp"
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/pollhook/pollhook/internal/fair"
	"github.com/pollhook/pollhook/internal/instance"
	"github.com/pollhook/pollhook/internal/metrics"
	"github.com/pollhook/pollhook/internal/store"
)

// Pipeline defaults.
const (
	// ConcurrencyDefault is how many notifications one callback receives
	// at once while healthy: one, so each callback gets its notifications
	// in order. More raises throughput and gives up order.
	ConcurrencyDefault = 1
	// Budget bounds one delivery run, so many busy callbacks share
	// workers; a run's job may take Budget plus two send timeouts.
	Budget = 30 * time.Second
	// IdleSleep is how long a drained callback's job sleeps before looking
	// again; new notifications wake it at once. A notification committed
	// while the run is going cannot wake it (the job is not asleep yet),
	// so a run that just delivered looks again soon (idleSleepBusy).
	IdleSleep     = 30 * time.Second
	idleSleepBusy = 2 * time.Second
	// hold is how long a run that has just delivered stays on, waiting
	// for more: a notification committed in this process wakes it at
	// once, one committed by another replica is seen within recheck. A
	// steady trickle is then sent within milliseconds instead of waiting
	// for the job to be fetched again.
	hold    = 2 * time.Second
	recheck = 100 * time.Millisecond
	// batch is how many notifications one pass reads and records in one
	// transaction: the database work per notification shrinks, the order
	// stays.
	batch = 64
	// suspendedSleep is how long a suspended callback's job sleeps:
	// reactivation wakes it.
	suspendedSleep = 24 * time.Hour
)

// ErrCallbackGone means the callback a run was asked to drain no longer
// exists: its job has nothing left to do.
var ErrCallbackGone = errors.New("delivery: the callback is gone")

// Config wires a pipeline.
type Config struct {
	Store     *store.Store
	Instances *instance.Service // signature keys and extra headers, decrypted
	Sender    *Sender
	Log       *slog.Logger
	// Now is our clock; tests move it.
	Now         func() time.Time
	Concurrency int             // per callback; default ConcurrencyDefault
	Schedule    []time.Duration // retry offsets from the first failure; default ScheduleDefault
	Jitter      func() float64  // default Jitter
	// Orgs caps the deliveries one organization runs at once; nil: no cap.
	Orgs    *fair.Orgs
	Metrics *metrics.Metrics
}

// Pipeline sends each callback's queue in order: passes of up to 64
// notifications, recorded while the next is sent; a failure stops the
// queue behind it, retried on the schedule, until delivered or the
// callback is suspended.
type Pipeline struct {
	cfg    Config
	log    *slog.Logger
	wakers wakers

	// Set by tests: a run's budget (default Budget), and a hook run
	// before each pass is recorded (to make recording slow).
	budget    time.Duration
	recording func()
}

// NewPipeline fills in cfg's defaults.
func NewPipeline(cfg Config) *Pipeline {
	cfg.Concurrency = cmp.Or(cfg.Concurrency, ConcurrencyDefault)
	if cfg.Schedule == nil {
		cfg.Schedule = ScheduleDefault
	}
	if cfg.Jitter == nil {
		cfg.Jitter = Jitter
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Sender == nil {
		cfg.Sender = NewSender(false, 0)
	}
	return &Pipeline{cfg: cfg, log: cmp.Or(cfg.Log, slog.New(slog.DiscardHandler)), budget: Budget}
}

// Wake tells the run draining a callback in this process, if any, that
// its queue has grown; call it once the notifications are committed.
func (p *Pipeline) Wake(callbackID int64) { p.wakers.signal(callbackID) }

// Drain sends a callback's queue until it is empty, fails, or the run's
// budget is spent, and says how long its job should sleep before the
// next run (0: at once). ErrCallbackGone ends the job.
func (p *Pipeline) Drain(ctx context.Context, callbackID int64) (sleep time.Duration, err error) {
	r := p.newRun(callbackID)
	defer func() { err = errors.Join(err, r.close()) }()
	return r.drain(ctx)
}

// run is one Drain. Its pipeline of passes means a pass may still be
// recording when the run ends, by whichever exit: close waits for it,
// and gives back the run's place in its organization's cap.
type run struct {
	p          *Pipeline
	callbackID int64
	deadline   time.Time
	targets    targets
	wake       <-chan struct{}
	unlisten   func()

	cb      *store.Callback // nil: read it again
	idle    time.Duration   // how long to sleep once drained
	active  time.Time       // when this run last sent something
	rec     recorder        // the pass being recorded
	after   int64           // the last seq sent while rec is busy
	release func()          // uncounts this run from its organization's deliveries
}

func (p *Pipeline) newRun(callbackID int64) *run {
	r := &run{p: p, callbackID: callbackID, deadline: time.Now().Add(p.budget), idle: IdleSleep,
		targets: targets{store: p.cfg.Store, instances: p.cfg.Instances}}
	r.wake, r.unlisten = p.wakers.listen(callbackID)
	return r
}

func (r *run) close() error {
	err := r.rec.wait()
	if r.release != nil {
		r.release()
	}
	r.unlisten()
	return err
}

// drain is the run's loop. While the queue is busy it is a pipeline of
// passes: pass k+1 is read and sent while pass k's attempts are being
// recorded, so the receiver never waits for the database. Order holds (a
// pass is read after the last one sent, and sent only after the one
// before it was recorded); a crash loses at most the two passes not yet
// recorded, which are sent again, under the same ids.
func (r *run) drain(ctx context.Context) (time.Duration, error) {
	p, st := r.p, r.p.cfg.Store
	for time.Now().Before(r.deadline) {
		if r.cb == nil {
			cb, err := st.GetCallback(ctx, 0, r.callbackID)
			if errors.Is(err, store.ErrNotFound) {
				return 0, ErrCallbackGone
			} else if err != nil {
				return 0, err
			}
			r.cb = cb
		}
		now := p.cfg.Now()
		switch {
		case r.cb.State == store.CallbackSuspended:
			return suspendedSleep, nil
		case r.cb.State == store.CallbackRetrying && r.cb.NextAttemptAt.After(now):
			return r.cb.NextAttemptAt.Sub(now), nil
		}
		if !r.admitted() {
			p.cfg.Metrics.Deferred(string(fair.Deliver), "org_cap")
			return fair.Jittered(fair.OrgCapDelay, fair.OrgCapJitter), nil
		}
		size := batch
		if r.cb.State == store.CallbackRetrying {
			size = 1 // the queue waits behind its head: no retry storm
		}
		pending, err := st.PendingNotifications(ctx, r.cb.ID, r.after, size)
		if err != nil {
			return 0, err
		}
		if len(pending) == 0 {
			if r.rec.busy() {
				// Look again once the last pass is recorded, from the
				// start: a replay may have queued an older notification.
				if err := r.rec.wait(); err != nil {
					return 0, err
				}
				r.after = 0
				continue
			}
			if sleep, again := r.holdOn(ctx); !again {
				return sleep, nil
			}
			continue
		}
		r.idle, r.active = idleSleepBusy, time.Now()
		results, failed := p.sendPass(ctx, r.cb, pending, &r.targets, r.deadline)
		if ctx.Err() != nil {
			// Shutting down: record the deliveries that completed, so a
			// stop resends as little as possible; the rest is sent again
			// after the restart, same ids.
			sent := 0
			for sent < len(results) && results[sent].OK() {
				sent++
			}
			return 0, errors.Join(r.rec.wait(), p.record(context.WithoutCancel(ctx), pending[:sent], results[:sent], now))
		}
		if len(results) == 0 {
			break // the budget was spent before the first send
		}
		pending = pending[:len(results)]
		if err := r.rec.wait(); err != nil {
			return 0, err
		}
		if !failed && r.cb.State == store.CallbackActive {
			r.rec.start(func() error { return p.record(context.WithoutCancel(ctx), pending, results, now) })
			r.after = pending[len(pending)-1].Seq
			continue
		}
		// A failure or a recovery changes the callback: record first.
		r.after = 0
		if err := p.record(context.WithoutCancel(ctx), pending, results, now); err != nil {
			return 0, err
		}
		if failed {
			return p.failed(ctx, r.cb, results, now)
		}
		if err := p.recovered(ctx, r.cb); err != nil {
			return 0, err
		}
	}
	return 0, nil // budget spent: yield the worker, resume at once
}

// admitted counts the run against its organization's cap of deliveries
// once it has something to send (the callback names the organization, so
// this costs no query), and says whether it may go on.
func (r *run) admitted() bool {
	if r.release != nil || r.p.cfg.Orgs == nil {
		return true
	}
	release, ok := r.p.cfg.Orgs.TryAcquire(r.cb.OrgID, fair.Deliver)
	r.release = release
	return ok
}

// holdOn keeps a run that has just delivered on for a moment, waiting for
// more, and says whether to look again, or else how long to sleep.
func (r *run) holdOn(ctx context.Context) (sleep time.Duration, again bool) {
	wait := time.Until(r.active.Add(hold))
	if r.active.IsZero() || wait <= 0 {
		return r.idle, false
	}
	timer := time.NewTimer(min(wait, recheck))
	defer timer.Stop()
	select {
	case <-ctx.Done():
		return 0, false // stopping: resume at once, elsewhere
	case <-r.wake:
	case <-timer.C:
	}
	r.cb = nil
	return 0, true
}

// sendPass sends a pass in order, Concurrency at a time, stopping at the
// first failure (the queue waits behind it), when the run's budget is
// spent or the job is stopped. It returns the results of what it sent,
// in order, and whether one failed.
func (p *Pipeline) sendPass(ctx context.Context, cb *store.Callback, pending []*store.Notification, ts *targets, deadline time.Time) ([]Result, bool) {
	results := make([]Result, len(pending))
	sent, failed := 0, false
	for sent < len(pending) && !failed && ctx.Err() == nil && time.Now().Before(deadline) {
		group := pending[sent:min(sent+p.cfg.Concurrency, len(pending))]
		var wg sync.WaitGroup
		for j, n := range group {
			i := sent + j
			t, err := ts.get(ctx, n.InstanceID)
			if err != nil {
				results[i] = Result{Err: err.Error()}
				continue
			}
			wg.Go(func() {
				h := t.headers.Clone()
				Sign(h, t.key, n.ID, n.Body, time.Now())
				results[i] = p.cfg.Sender.Send(ctx, cb.URL, h, n.Body)
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

// record writes a pass's attempts in one transaction and counts them. A
// notification replayed while it was being sent keeps its new status
// (store.AttemptResult's version check), so it goes out again.
func (p *Pipeline) record(ctx context.Context, pending []*store.Notification, results []Result, at time.Time) error {
	if len(pending) == 0 {
		return nil
	}
	if p.recording != nil {
		p.recording()
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
	if err := p.cfg.Store.InTx(ctx, func(tx *store.Tx) error { return tx.RecordAttempts(ctx, record) }); err != nil {
		return err
	}
	for i, n := range pending {
		if results[i].OK() {
			p.cfg.Metrics.Attempt("delivered", p.cfg.Now().Sub(n.CreatedAt))
		} else {
			p.cfg.Metrics.Attempt("failed", 0)
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

// recovered makes a callback that was retrying active again.
func (p *Pipeline) recovered(ctx context.Context, cb *store.Callback) error {
	cb.State, cb.Failures, cb.FirstFailureAt, cb.NextAttemptAt, cb.LastError = store.CallbackActive, 0, time.Time{}, time.Time{}, ""
	return p.cfg.Store.UpdateCallback(ctx, cb)
}

// failed moves a callback along its retry schedule after a failed
// attempt, or suspends it: on a 410, or when the schedule is spent. It
// says how long the callback's job sleeps.
func (p *Pipeline) failed(ctx context.Context, cb *store.Callback, results []Result, now time.Time) (time.Duration, error) {
	st := p.cfg.Store
	var r Result
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
	next, suspend := Next(p.cfg.Schedule, cb.Failures, cb.FirstFailureAt, now, r.RetryAfter, p.cfg.Jitter)
	if r.Gone() || suspend {
		cb.State, cb.SuspendedAt, cb.NextAttemptAt = store.CallbackSuspended, now, time.Time{}
		err := st.InTx(ctx, func(tx *store.Tx) error {
			if err := tx.UpdateCallback(ctx, cb); err != nil {
				return err
			}
			return tx.QueueAll(ctx, cb.ID)
		})
		p.log.Warn("callback suspended; its notifications are queued until it is reactivated", "callback", cb.ID, "reason", cb.LastError)
		p.cfg.Metrics.Suspended()
		return suspendedSleep, err
	}
	cb.State, cb.NextAttemptAt = store.CallbackRetrying, next
	if err := st.UpdateCallback(ctx, cb); err != nil {
		return 0, err
	}
	return next.Sub(now), nil
}

func describe(r Result) string {
	if r.Status == 0 {
		return r.Err
	}
	return strconv.Itoa(r.Status) + " " + http.StatusText(r.Status)
}
