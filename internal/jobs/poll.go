package jobs

import (
	"context"
	"errors"
	"strconv"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/pollhook/pollhook/internal/instance"
	"github.com/pollhook/pollhook/internal/pollconfig"
	"github.com/pollhook/pollhook/internal/poller"
	"github.com/pollhook/pollhook/internal/store"
)

// PollArgs names one (instance, resource) to poll. The job runs, snoozes
// until the next run is due, and so on; it cancels itself once the poll
// is gone (resource removed, events off, instance disabled or deleted).
type PollArgs struct {
	InstanceID int64  `json:"instance_id"`
	Resource   string `json:"resource"`
}

// Kind names the job.
func (PollArgs) Kind() string { return "poll" }

// uniqueStates are the states in which a poll job counts as existing:
// every live state, so that a running or snoozed job is never doubled,
// but not completed or cancelled ones, so a poll removed and added again
// gets a new job.
var uniqueStates = []rivertype.JobState{rivertype.JobStateAvailable, rivertype.JobStatePending,
	rivertype.JobStateRunning, rivertype.JobStateScheduled, rivertype.JobStateRetryable}

// InsertOpts makes poll jobs unique per (instance, resource).
func (PollArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{UniqueOpts: river.UniqueOpts{ByArgs: true, ByState: uniqueStates}}
}

type pollWorker struct {
	river.WorkerDefaults[PollArgs]
	e *Engine
}

func (w *pollWorker) Timeout(*river.Job[PollArgs]) time.Duration { return w.e.cfg.PollTimeout }

// retryDelay is how long a failed poll waits: doubling from 30 s with
// consecutive failures, never longer than the interval itself.
func retryDelay(failures int, interval time.Duration) time.Duration {
	d := 30 * time.Second << min(max(failures-1, 0), 10)
	return min(d, interval)
}

// Work runs one poll when it is due. Upstream failures never fail the
// job (River would give up on it after its attempts and polling would
// stop): they are recorded on the poll and the job snoozes.
func (w *pollWorker) Work(ctx context.Context, job *river.Job[PollArgs]) error {
	e, a := w.e, job.Args
	st := e.cfg.Store
	inst, err := st.InstanceByID(ctx, a.InstanceID)
	if errors.Is(err, store.ErrNotFound) {
		return river.JobCancel(errors.New("the instance was deleted"))
	} else if err != nil {
		return err
	}
	p, err := st.GetPoll(ctx, a.InstanceID, a.Resource)
	if errors.Is(err, store.ErrNotFound) {
		return river.JobCancel(errors.New("the resource is no longer polled"))
	} else if err != nil {
		return err
	}
	now := e.cfg.Now()
	if !p.LastRunAt.IsZero() {
		due := p.LastRunAt.Add(p.Interval)
		if p.Failures > 0 {
			due = p.LastRunAt.Add(retryDelay(p.Failures, p.Interval))
		}
		if due.After(now) {
			return river.JobSnooze(due.Sub(now))
		}
	}
	target, err := e.target(inst, a.Resource)
	if err != nil {
		// The stored configuration cannot be used (a key that no longer
		// decrypts, say): say so on the poll and try again later.
		st.PollFailed(ctx, a.InstanceID, a.Resource, now, err.Error())
		return river.JobSnooze(retryDelay(p.Failures+1, p.Interval))
	}
	stats, err := e.runner.Run(ctx, target)
	switch {
	case errors.Is(err, poller.ErrRemoved):
		return river.JobCancel(err)
	case err != nil:
		if ctx.Err() != nil {
			return river.JobSnooze(0) // shutting down: resume at once elsewhere
		}
		e.log.Warn("poll failed", "instance", a.InstanceID, "resource", a.Resource, "err", err)
		return river.JobSnooze(retryDelay(p.Failures+1, p.Interval))
	}
	e.log.Debug("polled", "instance", a.InstanceID, "resource", a.Resource, "records", stats.Read,
		"events", stats.Events, "pages", stats.Pages)
	return river.JobSnooze(max(now.Add(p.Interval).Sub(e.cfg.Now()), time.Second))
}

// target prepares a poll of one resource of an instance.
func (e *Engine) target(inst *store.Instance, resource string) (poller.Target, error) {
	raw, _ := inst.ConfigValue(instance.KeyPollerConfig)
	pc, err := pollconfig.Parse([]byte(raw), nil)
	if err != nil {
		return poller.Target{}, err
	}
	r, ok := pc.Resources[resource]
	if !ok {
		return poller.Target{}, errors.New("resource " + strconv.Quote(resource) + " is not in the poller configuration")
	}
	compiled, err := r.Compile()
	if err != nil {
		return poller.Target{}, err
	}
	conn, err := e.cfg.Instances.Open(inst)
	if err != nil {
		return poller.Target{}, err
	}
	return poller.Target{OrgID: inst.OrgID, InstanceID: inst.ID, Resource: resource, Conn: conn, Config: compiled}, nil
}
