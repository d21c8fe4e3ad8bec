package storetest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/pollhook/pollhook/internal/store"
)

// pruneFixture is a month of history in miniature, recorded in two
// generations, old (before cutoff) and new, each with:
//
//	10 events without a notification (e-none-*)
//	 6 delivered notifications (n-done-*) of 2 events each (e-done-*),
//	   each with an attempt, every other one with a failed attempt first
//	 3 undelivered notifications, created, retry and queued (n-wait-*),
//	   of 2 events each (e-wait-*)
//	 2 test deliveries
//
// and 2 old events (e-late-*) carried by a new delivered notification
// (n-late). Events of all kinds are recorded interleaved, so that the
// events a prune keeps lie among those it deletes.
type pruneFixture struct {
	cutoff time.Time
	org    *store.Organization
	in     *store.Instance
	kept   []string // the events a complete prune keeps
}

// The batch size the tests prune with: the old generation's 24 prunable
// events take 4 batches (7, 7, 7, 3).
const pruneBatch = 7

func newPruneFixture(t *testing.T, s *store.Store) *pruneFixture {
	t.Helper()
	ctx := context.Background()
	o, u := seed(t, s, "acme")
	fx := &pruneFixture{org: o, in: newInstance(o, u, "A")}
	if err := s.CreateInstance(ctx, fx.in); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.SyncPolls(ctx, fx.in.ID, []string{"contacts"}, time.Minute, time.Now()); err != nil {
		t.Fatal(err)
	}
	cb, err := s.CallbackFor(ctx, o.ID, "https://hooks.example/x")
	if err != nil {
		t.Fatal(err)
	}
	old := fx.generation(t, s, cb, "old")
	// Timestamps are microseconds: the cutoff lies strictly between the
	// generations.
	time.Sleep(2 * time.Millisecond)
	fx.cutoff = time.Now()
	time.Sleep(2 * time.Millisecond)
	fx.generation(t, s, cb, "new")
	fx.notify(t, s, cb, "n-late", store.NotificationDelivered, false, old["late"])
	for i, at := range []time.Time{fx.cutoff.Add(-time.Hour), fx.cutoff.Add(-time.Minute), time.Now(), time.Now().Add(time.Second)} {
		d := &store.TestDelivery{OrgID: o.ID, InstanceID: fx.in.ID, URL: cb.URL, NotificationID: fmt.Sprintf("t%d", i),
			Body: []byte("{}"), At: at}
		if err := s.InsertTestDelivery(ctx, d); err != nil {
			t.Fatal(err)
		}
	}
	return fx
}

// generation records one generation's events and notifications; it
// returns the event seqs by kind (none, done, wait, late).
func (fx *pruneFixture) generation(t *testing.T, s *store.Store, cb *store.Callback, gen string) map[string][]int64 {
	t.Helper()
	ctx := context.Background()
	kinds := map[string]int{"none": 10, "done": 12, "wait": 6}
	if gen == "old" {
		kinds["late"] = 2
	}
	var order []string
	for left := true; left; {
		left = false
		for _, k := range []string{"none", "done", "wait", "late"} {
			if kinds[k] > 0 {
				kinds[k]--
				order = append(order, k)
				left = true
			}
		}
	}
	seqs := map[string][]int64{}
	err := s.InTx(ctx, func(tx *store.Tx) error {
		r := &store.RunResult{InstanceID: fx.in.ID, Resource: "contacts", Cursor: time.Now(), RunAt: time.Now()}
		for i, k := range order {
			id := fmt.Sprintf("e-%s-%s-%02d", k, gen, i)
			r.Events = append(r.Events, &store.Event{ID: id, OrgID: fx.org.ID, InstanceID: fx.in.ID, Resource: "contacts",
				ObjectID: id, Type: store.EventCreated, Date: time.Now(), PollDate: time.Now(), Status: "CREATED", ProviderData: "{}"})
		}
		if err := tx.CommitRun(ctx, r); err != nil {
			return err
		}
		for i, e := range r.Events {
			seqs[order[i]] = append(seqs[order[i]], e.Seq)
			if gen == "new" || order[i] == "wait" {
				fx.kept = append(fx.kept, e.ID)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 6 {
		fx.notify(t, s, cb, fmt.Sprintf("n-done-%s-%d", gen, i), store.NotificationDelivered, i%2 == 0, seqs["done"][2*i:2*i+2])
	}
	for i, status := range []string{store.NotificationCreated, store.NotificationRetry, store.NotificationQueued} {
		fx.notify(t, s, cb, fmt.Sprintf("n-wait-%s-%d", gen, i), status, false, seqs["wait"][2*i:2*i+2])
	}
	return seqs
}

// notify stores a notification carrying events; a delivered one is
// delivered by an attempt, after a failed one if failFirst.
func (fx *pruneFixture) notify(t *testing.T, s *store.Store, cb *store.Callback, id, status string, failFirst bool, events []int64) {
	t.Helper()
	ctx := context.Background()
	n := &store.Notification{ID: id, OrgID: fx.org.ID, InstanceID: fx.in.ID, CallbackID: cb.ID, Resource: "contacts", Body: []byte("{}")}
	if status != store.NotificationDelivered {
		n.Status = status
	}
	err := s.InTx(ctx, func(tx *store.Tx) error {
		if err := tx.InsertNotification(ctx, n, events); err != nil {
			return err
		}
		if status != store.NotificationDelivered {
			return nil
		}
		if failFirst {
			if err := tx.RecordAttempts(ctx, []store.AttemptResult{{Notification: n, Attempt: store.Attempt{At: time.Now(), StatusCode: 503},
				Status: store.NotificationRetry}}); err != nil {
				return err
			}
		}
		return tx.RecordAttempts(ctx, []store.AttemptResult{{Notification: n, Attempt: store.Attempt{At: time.Now(), StatusCode: 200},
			Status: store.NotificationDelivered}})
	})
	if err != nil {
		t.Fatal(err)
	}
}

// ids lists a query's single text column, sorted.
func ids(t *testing.T, s *store.Store, query string) []string {
	t.Helper()
	rows, err := s.DB().QueryContext(context.Background(), query)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			t.Fatal(err)
		}
		out = append(out, id)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	slices.Sort(out)
	return out
}

// check says whether what remains is what a complete prune at the
// cutoff leaves: every new row; of the old ones, the undelivered
// notifications with their events, and n-late (new) but not its old
// events; the attempts of the notifications kept, and no others.
func (fx *pruneFixture) check(t *testing.T, s *store.Store) {
	t.Helper()
	want := slices.Sorted(slices.Values(fx.kept))
	if got := ids(t, s, `SELECT id FROM events`); len(want) != 34 || !slices.Equal(got, want) {
		t.Errorf("events left: %v, want the 28 new ones and the 6 old undelivered notifications' (%v)", got, want)
	}
	want = []string{"n-done-new-0", "n-done-new-1", "n-done-new-2", "n-done-new-3", "n-done-new-4", "n-done-new-5", "n-late",
		"n-wait-new-0", "n-wait-new-1", "n-wait-new-2", "n-wait-old-0", "n-wait-old-1", "n-wait-old-2"}
	if got := ids(t, s, `SELECT id FROM notifications`); !slices.Equal(got, want) {
		t.Errorf("notifications left: %v, want %v", got, want)
	}
	// Attempts, as listed (a first-try success is kept on its
	// notification's row, the others as attempts rows): the kept
	// delivered notifications' (n-done-new-0, 2 and 4 failed once first),
	// and none of a pruned one.
	want = []string{"n-done-new-0", "n-done-new-0", "n-done-new-1", "n-done-new-2", "n-done-new-2", "n-done-new-3",
		"n-done-new-4", "n-done-new-4", "n-done-new-5", "n-late"}
	var listed []string
	rows, err := s.DB().Query(`SELECT seq, id FROM notifications`)
	if err != nil {
		t.Fatal(err)
	}
	type note struct {
		seq int64
		id  string
	}
	var notes []note
	for rows.Next() {
		var n note
		rows.Scan(&n.seq, &n.id)
		notes = append(notes, n)
	}
	rows.Close()
	for _, n := range notes {
		as, err := s.Attempts(context.Background(), n.seq)
		if err != nil {
			t.Fatal(err)
		}
		for range as {
			listed = append(listed, n.id)
		}
	}
	if slices.Sort(listed); !slices.Equal(listed, want) {
		t.Errorf("attempts left: %v, want %v", listed, want)
	}
	var orphans int
	if err := s.DB().QueryRow(`SELECT COUNT(*) FROM attempts a WHERE NOT EXISTS
		(SELECT 1 FROM notifications n WHERE n.seq = a.notification_id)`).Scan(&orphans); err != nil || orphans != 0 {
		t.Errorf("%d attempts rows of pruned notifications remain (%v)", orphans, err)
	}
	if got := ids(t, s, `SELECT notification_id FROM test_deliveries`); !slices.Equal(got, []string{"t2", "t3"}) {
		t.Errorf("test deliveries left: %v, want t2 t3", got)
	}
}

// Prune deletes, in batches, exactly the old delivered notifications
// (with their attempts), the old events that were delivered or had no
// notification, and the old test deliveries; the undelivered and
// everything newer stay. A second prune finds nothing.
func testPruneBatches(t *testing.T, s *store.Store) {
	ctx := context.Background()
	fx := newPruneFixture(t, s)
	var seen []string
	res, err := s.Prune(ctx, store.PruneOptions{Before: fx.cutoff, BatchSize: pruneBatch,
		AfterBatch: func(table string, c store.PruneCount) { seen = append(seen, fmt.Sprintf("%s:%d", table, c.Rows)) }})
	if err != nil {
		t.Fatal(err)
	}
	want := store.PruneResult{Events: store.PruneCount{Rows: 24, Batches: 4}, Notifications: store.PruneCount{Rows: 6, Batches: 1},
		TestDeliveries: store.PruneCount{Rows: 2, Batches: 1}}
	if res != want || res.Rows() != 32 || res.Batches() != 6 {
		t.Errorf("pruned %+v, want %+v", res, want)
	}
	if w := []string{"events:7", "events:14", "events:21", "events:24", "notifications:6", "test_deliveries:2"}; !slices.Equal(seen, w) {
		t.Errorf("batches %v, want %v", seen, w)
	}
	fx.check(t, s)
	if again, err := s.Prune(ctx, store.PruneOptions{Before: fx.cutoff, BatchSize: pruneBatch}); err != nil || again != (store.PruneResult{}) {
		t.Errorf("second prune: %+v %v, want nothing", again, err)
	}
	fx.check(t, s)
}

// One statement per table (PruneUnbatched) deletes the same rows.
func testPruneUnbatched(t *testing.T, s *store.Store) {
	fx := newPruneFixture(t, s)
	res, err := s.Prune(context.Background(), store.PruneOptions{Before: fx.cutoff, BatchSize: store.PruneUnbatched})
	want := store.PruneResult{Events: store.PruneCount{Rows: 24, Batches: 1}, Notifications: store.PruneCount{Rows: 6, Batches: 1},
		TestDeliveries: store.PruneCount{Rows: 2, Batches: 1}}
	if err != nil || res != want {
		t.Errorf("pruned %+v %v, want %+v", res, err, want)
	}
	fx.check(t, s)
}

// A prune whose context ends stops between batches, having deleted
// whole batches; the next prune finishes the job.
func testPruneCancelled(t *testing.T, s *store.Store) {
	fx := newPruneFixture(t, s)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	res, err := s.Prune(ctx, store.PruneOptions{Before: fx.cutoff, BatchSize: pruneBatch,
		AfterBatch: func(string, store.PruneCount) { cancel() }})
	if !errors.Is(err, context.Canceled) || res != (store.PruneResult{Events: store.PruneCount{Rows: 7, Batches: 1}}) {
		t.Fatalf("cancelled prune: %+v %v, want one batch of events and context.Canceled", res, err)
	}
	if n := len(ids(t, s, `SELECT id FROM events`)); n != 58-7 {
		t.Errorf("%d events after one batch, want %d", n, 58-7)
	}
	res, err = s.Prune(context.Background(), store.PruneOptions{Before: fx.cutoff, BatchSize: pruneBatch})
	want := store.PruneResult{Events: store.PruneCount{Rows: 17, Batches: 3}, Notifications: store.PruneCount{Rows: 6, Batches: 1},
		TestDeliveries: store.PruneCount{Rows: 2, Batches: 1}}
	if err != nil || res != want {
		t.Errorf("second prune: %+v %v, want %+v", res, err, want)
	}
	fx.check(t, s)
}
