package jobs

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/pollhook/pollhook/internal/element/insightly"
	"github.com/pollhook/pollhook/internal/store"
)

// Polls timed from an out-of-bound interval before the upgrade (every
// 52 s) take the clamped interval at the next reconcile, which runs at
// start; polls of other instances are left alone.
func TestReconcileRepairsOverflowedIntervals(t *testing.T) {
	t.Parallel()
	e, st, in := engineOn(t, "sqlite:"+filepath.Join(t.TempDir(), "db"))
	ctx := context.Background()
	def := string(insightly.NewElement(insightly.Options{}).DefaultPollerConfig())
	setConfig(in, def, "5")
	save(t, e, st, in)
	other := *in
	other.ID, other.TokenHash, other.Config = 0, []byte("other"), nil
	setConfig(&other, def, "7")
	if err := st.CreateInstance(ctx, &other); err != nil {
		t.Fatal(err)
	}
	save(t, e, st, &other)
	// What the old code stored: the overflowed interval on the polls, the
	// unbounded value in the configuration.
	setConfig(in, def, "153722867280912931")
	err := st.InTx(ctx, func(tx *store.Tx) error {
		if err := tx.UpdateInstance(ctx, in); err != nil {
			return err
		}
		_, _, err := tx.SyncPolls(ctx, in.ID, []string{"accounts", "contacts", "leads", "opportunities"}, 52*time.Second, time.Now())
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := (&reconcileWorker{e: e}).Work(ctx, nil); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		id   int64
		want time.Duration
	}{{in.ID, 10080 * time.Minute}, {other.ID, 7 * time.Minute}} {
		polls, err := st.PollsOf(ctx, tc.id)
		if err != nil || len(polls) != 4 {
			t.Fatalf("instance %d: %d polls, %v", tc.id, len(polls), err)
		}
		for _, p := range polls {
			if p.Interval != tc.want {
				t.Errorf("instance %d %s: interval %s, want %s", tc.id, p.Resource, p.Interval, tc.want)
			}
		}
	}
}
