package jobs

import (
	"context"
	"testing"

	sim "github.com/pollhook/pollhook/internal/sim/insightly"
	"github.com/pollhook/pollhook/internal/store"
	"github.com/pollhook/pollhook/internal/testdb"
)

// A transaction that adds notifications while the callback's delivery job
// runs holds that job's row only: the job that wakes it is inserted after
// the commit. A transaction holding both rows deadlocked with River's
// completer, which finishes a batch of jobs in one statement in no set
// order (seen in the PostgreSQL soak). Row locks are PostgreSQL's, so the
// test runs there.
func TestEnqueueLocksOneJobRow(t *testing.T) {
	r := newRigWith(t, sim.Config{Records: 0, DailyQuota: -1}, rigOptions{dsn: testdb.FreshSchema(t, testdb.PostgresURL(t))})
	ctx := context.Background()
	r.create(r.sim.APIKey(), map[string]any{"contacts": map[string]any{}})
	cb, err := r.st.CallbackFor(ctx, r.caller.Org.ID, "http://127.0.0.1:1/hook")
	if err != nil {
		t.Fatal(err)
	}
	enqueue := func(during func()) {
		t.Helper()
		if err := r.st.InTx(ctx, func(tx *store.Tx) error {
			if err := r.e.Enqueue(ctx, tx, cb.ID); err != nil {
				return err
			}
			during()
			return nil
		}); err != nil {
			t.Fatal(err)
		}
	}
	count := func(kind string) (n int) {
		t.Helper()
		if err := r.st.DB().QueryRowContext(ctx, `SELECT count(*) FROM river_job WHERE kind = $1`, kind).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	enqueue(func() {})
	if _, err := r.st.DB().ExecContext(ctx, `UPDATE river_job SET state = 'running', attempt = 1, attempted_at = now() WHERE kind = 'deliver'`); err != nil {
		t.Fatal(err)
	}
	enqueue(func() {})
	if n := count("deliver_wake"); n != 1 {
		t.Fatalf("wake jobs after the commit: %d, want 1", n)
	}
	// Again, with the wake job there: the transaction must not lock it.
	enqueue(func() {
		other, err := r.st.DB().BeginTx(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		defer other.Rollback()
		if _, err := other.ExecContext(ctx, `SELECT id FROM river_job WHERE kind = 'deliver_wake' FOR UPDATE NOWAIT`); err != nil {
			t.Errorf("the wake job's row is locked by the enqueuing transaction: %v", err)
		}
		if _, err := other.ExecContext(ctx, `SELECT id FROM river_job WHERE kind = 'deliver' FOR UPDATE NOWAIT`); err == nil {
			t.Errorf("the delivery job's row is not locked by the enqueuing transaction; the test no longer tests what it says")
		}
	})
	if n := count("deliver_wake"); n != 1 {
		t.Fatalf("wake jobs after a second enqueue: %d, want 1 (unique per callback)", n)
	}
}
