package jobs

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/riverqueue/river/rivertype"

	sim "github.com/pollhook/pollhook/internal/sim/insightly"
	"github.com/pollhook/pollhook/internal/store"
)

// addPolls gives the engine's store polls [from, to), four per instance,
// as the instance service would leave them before scheduling: no job yet.
func addPolls(t *testing.T, st *store.Store, like *store.Instance, from, to int) {
	t.Helper()
	ctx := context.Background()
	resources := []string{"accounts", "contacts", "leads", "opportunities"}
	for first := from; first < to; first += 400 {
		err := st.InTx(ctx, func(tx *store.Tx) error {
			for i := first; i < min(first+400, to); i += 4 {
				in := *like
				in.ID, in.Name, in.TokenHash, in.Config = 0, fmt.Sprint("bulk ", i), []byte(fmt.Sprint("bulk ", i)), nil
				if err := tx.CreateInstance(ctx, &in); err != nil {
					return err
				}
				if _, _, err := tx.SyncPolls(ctx, in.ID, resources[:min(4, to-i)], 5*time.Minute, time.Now()); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
}

// reconcileCounted runs a reconcile pass and counts what it cost.
func reconcileCounted(t *testing.T, e *Engine, st *store.Store) (Repaired, store.Counts) {
	t.Helper()
	before := st.Counts()
	r, err := e.Reconcile(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return r, st.Counts().Sub(before)
}

// finalize does to a job what an operator's cleanup or River itself might
// behind pollhook's back: delete it, or finalize it as completed or
// cancelled.
func finalize(t *testing.T, st *store.Store, jobID int64, how string) {
	t.Helper()
	ctx := context.Background()
	var err error
	if how == "deleted" {
		_, err = st.DB().ExecContext(ctx, st.Rebind(`DELETE FROM river_job WHERE id = ?`), jobID)
	} else {
		_, err = st.DB().ExecContext(ctx, st.Rebind(`UPDATE river_job SET state = ?, finalized_at = ? WHERE id = ?`),
			how, time.Now().UTC(), jobID)
	}
	if err != nil {
		t.Fatal(err)
	}
}

// A reconcile pass over healthy polls costs a constant handful of
// statements and no transaction, whatever their number; with k jobs
// lost, it recreates exactly those k, a batch per transaction.
func TestReconcileTouchesOnlyWhatDisagrees(t *testing.T) {
	onBothDatabases(t, func(t *testing.T, dsn string) {
		if dsn == "" {
			dsn = "sqlite:" + filepath.Join(t.TempDir(), "db")
		}
		testReconcileCost(t, dsn)
	})
}

func testReconcileCost(t *testing.T, dsn string) {
	e, st, in := engineOn(t, dsn)
	ctx := context.Background()
	const n = 2000

	// Polls without jobs (a database restored without the engine's
	// tables): all are given one, 500 per transaction.
	addPolls(t, st, in, 0, n)
	r, c := reconcileCounted(t, e, st)
	if r.PollJobs != n || r.PollLinks != n || c.Transactions != n/reconcileBatchDefault {
		t.Fatalf("%d polls without jobs: repaired %+v in %d transactions", n, r, c.Transactions)
	}

	healthy := func(polls int) store.Counts {
		t.Helper()
		r, c := reconcileCounted(t, e, st)
		if r != (Repaired{}) {
			t.Errorf("%d healthy polls: repaired %+v", polls, r)
		}
		t.Logf("%d healthy polls: %d statements, %d transactions", polls, c.Statements, c.Transactions)
		return c
	}
	atN := healthy(n)
	addPolls(t, st, in, n, 2*n)
	if r, _ := reconcileCounted(t, e, st); r.PollJobs != n {
		t.Fatalf("%d more polls: repaired %+v", n, r)
	}
	at2N := healthy(2 * n)
	if atN != at2N || atN.Transactions != 0 || atN.Statements > 5 {
		t.Errorf("a healthy pass cost %+v at %d polls, %+v at %d: want the same handful of statements, no transaction",
			atN, n, at2N, 2*n)
	}

	// Seven jobs lost behind pollhook's back; batches of 3.
	e.reconcileBatchSize = 3
	polls, err := st.AllPolls(ctx)
	if err != nil {
		t.Fatal(err)
	}
	lost := map[PollArgs]int64{}
	for i, how := range []string{"deleted", "deleted", "deleted", "completed", "completed", "cancelled", "cancelled"} {
		p := polls[i*500+i]
		finalize(t, st, p.JobID, how)
		lost[PollArgs{InstanceID: p.InstanceID, Resource: p.Resource}] = p.JobID
	}
	r, c = reconcileCounted(t, e, st)
	if r != (Repaired{PollJobs: 7, PollLinks: 7}) || c.Transactions != 3 {
		t.Errorf("7 lost jobs: repaired %+v in %d transactions, want 7 in 3", r, c.Transactions)
	}
	after, err := st.AllPolls(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for i, p := range after {
		old, wasLost := lost[PollArgs{InstanceID: p.InstanceID, Resource: p.Resource}]
		switch {
		case wasLost && p.JobID == old:
			t.Errorf("%d %s still records its lost job %d", p.InstanceID, p.Resource, old)
		case !wasLost && p.JobID != polls[i].JobID:
			t.Errorf("%d %s: job %d changed to %d", p.InstanceID, p.Resource, polls[i].JobID, p.JobID)
		}
		if wasLost {
			job, err := e.client.JobGet(ctx, p.JobID)
			if err != nil || job.Kind != "poll" || job.State != rivertype.JobStateAvailable {
				t.Errorf("%d %s: new job %d: %+v, %v", p.InstanceID, p.Resource, p.JobID, job, err)
			}
		}
	}
	if r, _ := reconcileCounted(t, e, st); r != (Repaired{}) {
		t.Errorf("the pass after the repair repaired %+v", r)
	}
}

// Callbacks with notifications to send and no live delivery job get one;
// the others are left alone.
func TestReconcileDeliveryJobs(t *testing.T) {
	onBothDatabases(t, func(t *testing.T, dsn string) {
		if dsn == "" {
			dsn = "sqlite:" + filepath.Join(t.TempDir(), "db")
		}
		e, st, in := engineOn(t, dsn)
		ctx := context.Background()
		for i := range 4 {
			cb, err := st.CallbackFor(ctx, in.OrgID, fmt.Sprintf("https://example.com/hook/%d", i))
			if err != nil {
				t.Fatal(err)
			}
			if i == 3 {
				continue // nothing to send
			}
			err = st.InTx(ctx, func(tx *store.Tx) error {
				nt := &store.Notification{ID: fmt.Sprint("n", i), OrgID: in.OrgID, InstanceID: in.ID, CallbackID: cb.ID,
					Resource: "contacts", Body: []byte(`{}`)}
				if err := tx.InsertNotification(ctx, nt, nil); err != nil {
					return err
				}
				if i == 0 {
					return e.Enqueue(ctx, tx, cb.ID) // the one whose job is live
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
		}
		r, c := reconcileCounted(t, e, st)
		if r != (Repaired{DeliverJobs: 2}) || c.Transactions != 1 {
			t.Errorf("repaired %+v in %d transactions, want 2 delivery jobs in 1", r, c.Transactions)
		}
		if r, _ := reconcileCounted(t, e, st); r != (Repaired{}) {
			t.Errorf("the second pass repaired %+v", r)
		}
		if got, err := st.CallbacksWithoutLiveDelivery(ctx); err != nil || len(got) != 0 {
			t.Errorf("callbacks still without a live delivery job: %v, %v", got, err)
		}
	})
}

// Polls whose jobs were lost run again once reconcile has recreated them.
func TestReconciledPollsRun(t *testing.T) {
	onBothDatabases(t, func(t *testing.T, dsn string) {
		r := newRigWith(t, sim.Config{Records: 3}, rigOptions{dsn: dsn})
		ctx := context.Background()
		v1 := r.create(r.sim.APIKey(), map[string]any{"contacts": map[string]any{}})
		v2 := r.create(r.sim.APIKey(), map[string]any{"contacts": map[string]any{}})
		finalize(t, r.st, r.pollRow(v1, "contacts").JobID, "deleted")
		finalize(t, r.st, r.pollRow(v2, "contacts").JobID, "completed")
		if rep, err := r.e.Reconcile(ctx); err != nil || rep != (Repaired{PollJobs: 2, PollLinks: 2}) {
			t.Fatalf("repaired %+v, %v", rep, err)
		}
		if err := r.e.Start(ctx); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { r.e.StopAndCancel(context.WithoutCancel(ctx)) })
		deadline := time.Now().Add(30 * time.Second)
		for r.pollRow(v1, "contacts").Runs == 0 || r.pollRow(v2, "contacts").Runs == 0 {
			if time.Now().After(deadline) {
				t.Fatalf("the recreated jobs did not run: runs %d, %d", r.pollRow(v1, "contacts").Runs, r.pollRow(v2, "contacts").Runs)
			}
			time.Sleep(100 * time.Millisecond)
		}
	})
}
