package poller

import (
	"context"
	"time"

	"github.com/pollhook/pollhook/internal/instance"
	"github.com/pollhook/pollhook/internal/pollconfig"
	"github.com/pollhook/pollhook/internal/store"
)

// Wanted is what an instance should poll: its resources and their
// interval (the refresh interval in units of unit), or nothing when
// events are off or the instance is disabled.
func Wanted(in *store.Instance, unit time.Duration) ([]string, time.Duration, error) {
	if !in.EventsEnabled || in.Disabled {
		return nil, 0, nil
	}
	raw, ok := in.ConfigValue(instance.KeyPollerConfig)
	if !ok {
		return nil, 0, nil
	}
	pc, err := pollconfig.Parse([]byte(raw), nil)
	if err != nil {
		return nil, 0, err
	}
	return pc.Names(), instance.PollInterval(in, unit), nil
}

// Sync makes an instance's polls match its configuration, in the
// caller's transaction: polls are added (their cursor starts now: no
// backfill), re-timed or removed. A change is a reason to try paused
// polls again (new credentials, a plan upgrade the operator just
// made…), so they resume. It returns the polls kept and removed.
func Sync(ctx context.Context, tx *store.Tx, in *store.Instance, unit time.Duration, now time.Time) (kept, removed []*store.Poll, err error) {
	resources, interval, err := Wanted(in, unit)
	if err != nil {
		return nil, nil, err
	}
	if kept, removed, err = tx.SyncPolls(ctx, in.ID, resources, interval, now); err != nil {
		return nil, nil, err
	}
	// A resource whose snapshots are off keeps no copy of its records (and
	// turned on again, starts from a new baseline).
	if len(kept) > 0 {
		raw, _ := in.ConfigValue(instance.KeyPollerConfig)
		pc, err := pollconfig.Parse([]byte(raw), nil)
		if err != nil {
			return nil, nil, err
		}
		for _, p := range kept {
			if r, ok := pc.Resources[p.Resource]; ok && !r.Snapshots {
				if err := tx.DropSnapshots(ctx, in.ID, p.Resource); err != nil {
					return nil, nil, err
				}
			}
		}
	}
	return kept, removed, tx.ResumePolls(ctx, in.ID)
}
