package jobs

import (
	"context"
	"time"

	"github.com/pollhook/pollhook/internal/poller"
	"github.com/pollhook/pollhook/internal/store"
)

// The engine serves the API's polling endpoints (api.Polls): the status
// is package poller's view; a run asked for wakes the poll's job.

// Status describes an instance's polling.
func (e *Engine) Status(ctx context.Context, inst *store.Instance) (*poller.InstanceStatus, error) {
	return e.polls.Status(ctx, inst)
}

// RunNow asks for a run of one resource ("" for all) now, optionally
// backfilling from a date, and wakes the jobs. It returns how many
// resources it asked. While the instance's account is paused by its quota
// a run is refused (*poller.PausedError); a backfill is accepted, and
// waits for the pause to end.
func (e *Engine) RunNow(ctx context.Context, inst *store.Instance, resource string, backfill time.Time) (int, error) {
	if backfill.IsZero() {
		if err := e.polls.RunAllowed(ctx, inst); err != nil {
			return 0, err
		}
	}
	n := 0
	err := e.cfg.Store.InTx(ctx, func(tx *store.Tx) error {
		var err error
		if n, err = tx.RequestRun(ctx, inst.ID, resource, backfill, e.cfg.Now()); err != nil || n == 0 {
			return err
		}
		polls, err := tx.PollsOf(ctx, inst.ID)
		if err != nil {
			return err
		}
		for _, p := range polls {
			if resource == "" || p.Resource == resource {
				if err := e.ensureJob(ctx, tx, p); err != nil {
					return err
				}
			}
		}
		return nil
	})
	return n, err
}
