package jobs

import (
	"context"
	"errors"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/pollhook/pollhook/internal/fair"
	"github.com/pollhook/pollhook/internal/poller"
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

// Work runs one poll when it is due. Upstream failures never fail the
// job (River would give up on it after its attempts and polling would
// stop): the poller records them and the job snoozes.
func (w *pollWorker) Work(ctx context.Context, job *river.Job[PollArgs]) error {
	next, err := w.e.pollOnce(ctx, job.Args)
	if errors.Is(err, poller.ErrRemoved) {
		return river.JobCancel(err)
	} else if err != nil {
		return err
	}
	return river.JobSnooze(max(next, 0))
}

// pollOnce runs the poll if it is due and says how long to sleep. A due
// poll goes on only if the run will not hold a worker waiting (package
// fair); until it really starts, no run is counted and a requested run
// stays requested.
func (e *Engine) pollOnce(ctx context.Context, a PollArgs) (time.Duration, error) {
	due, err := e.polls.Check(ctx, a.InstanceID, a.Resource)
	if err != nil {
		return 0, err
	}
	if due.Wait > 0 {
		return due.Wait, nil
	}
	release, ok := e.orgs.TryAcquire(due.Inst.OrgID, fair.Poll)
	if !ok {
		e.polls.Deferred("org_cap")
		return fair.Jittered(fair.OrgCapDelay, fair.OrgCapJitter), nil
	}
	defer release()
	return e.polls.Run(ctx, due)
}
