package storetest

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/pollhook/pollhook/internal/store"
)

// The poller's state: a window committed page by page, the cursor
// anchored when it completes, per-record state that is never pruned and
// is read per page.
func testWindows(t *testing.T, s *store.Store) {
	ctx := context.Background()
	o, u := seed(t, s, "acme")
	in := newInstance(o, u, "Alpha")
	if err := s.CreateInstance(ctx, in); err != nil {
		t.Fatal(err)
	}
	enable := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	commit := func(r *store.RunResult) {
		t.Helper()
		r.InstanceID, r.Resource = in.ID, "contacts"
		if err := s.InTx(ctx, func(tx *store.Tx) error { return tx.CommitRun(ctx, r) }); err != nil {
			t.Fatal(err)
		}
	}
	poll := func() *store.Poll {
		t.Helper()
		p, err := s.GetPoll(ctx, in.ID, "contacts")
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	if err := s.InTx(ctx, func(tx *store.Tx) error {
		_, _, err := tx.SyncPolls(ctx, in.ID, []string{"contacts"}, time.Minute, enable)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if p := poll(); p.Anchored || p.Window != nil || !p.Cursor.Equal(enable) {
		t.Fatalf("new poll: anchored %v window %v cursor %s", p.Anchored, p.Window, p.Cursor)
	}

	// Page 1 of a window, with 1,200 records' state (more than one IN list).
	upstream := enable.Add(-5 * time.Minute) // the upstream's clock is behind ours
	w := &store.Window{From: enable.Add(-17 * time.Minute), Compare: upstream.Add(-2 * time.Second), Normal: upstream.Add(-2 * time.Second),
		Start: upstream, RunAt: enable, Position: "abc|500:1200", Pages: 1, Records: 1200, Updated: 3}
	seen := map[string]store.Seen{}
	var ids []string
	for i := range 1200 {
		id := fmt.Sprint(100000000 + i)
		seen[id] = store.Seen{Updated: upstream.Add(-time.Duration(i) * time.Minute), Hash: []byte{2, byte(i)}, CreatedSent: i%2 == 0}
		ids = append(ids, id)
	}
	commit(&store.RunResult{Seen: seen, Window: w, RunAt: enable})
	p := poll()
	if p.Window == nil || p.Window.Position != "abc|500:1200" || !p.Window.Start.Equal(upstream) || !p.Window.From.Equal(w.From) ||
		!p.Window.Compare.Equal(w.Compare) || !p.Window.RunAt.Equal(enable) || p.Window.Pages != 1 || p.Window.Records != 1200 || p.Window.Updated != 3 {
		t.Fatalf("open window: %+v", p.Window)
	}
	if p.Anchored || !p.Cursor.Equal(enable) || !p.LastOKAt.IsZero() {
		t.Errorf("the cursor moved before the window completed: %s anchored %v", p.Cursor, p.Anchored)
	}
	got, err := s.SeenFor(ctx, in.ID, "contacts", append(ids, "999"))
	if err != nil || len(got) != 1200 {
		t.Fatalf("SeenFor: %d, %v", len(got), err)
	}
	if g := got["100000007"]; !g.Updated.Equal(seen["100000007"].Updated) || g.Hash[1] != 7 || g.CreatedSent {
		t.Errorf("state of 100000007: %+v", g)
	}

	// The window completes: the cursor takes the upstream's clock, earlier
	// than our enable time, and is anchored; the window is gone; no state
	// is pruned, however old.
	floor := upstream.Add(-2 * time.Second)
	commit(&store.RunResult{Cursor: upstream, Floor: floor, RunAt: enable.Add(time.Second), Stats: store.RunStats{Pages: 2}})
	p = poll()
	if !p.Anchored || !p.Cursor.Equal(upstream) || p.Window != nil || p.LastRun.Pages != 2 || p.LastOKAt.IsZero() || !p.Floor.Equal(floor) {
		t.Fatalf("completed: cursor %s anchored %v floor %s window %+v", p.Cursor, p.Anchored, p.Floor, p.Window)
	}
	if got, _ := s.SeenFor(ctx, in.ID, "contacts", ids); len(got) != 1200 {
		t.Errorf("state pruned: %d left", len(got))
	}
	// The cursor is what the caller decides (the poller keeps it moving
	// forward); a floor is written only when given.
	commit(&store.RunResult{Cursor: upstream.Add(time.Minute), RunAt: enable.Add(3 * time.Second)})
	if p = poll(); !p.Cursor.Equal(upstream.Add(time.Minute)) || !p.Floor.Equal(floor) {
		t.Errorf("cursor %s (want %s), floor %s (want %s, untouched)", p.Cursor, upstream.Add(time.Minute), p.Floor, floor)
	}
	// A poll removed meanwhile: nothing is written, ErrNotFound says why.
	for _, res := range []*store.RunResult{{Window: w}, {Cursor: upstream}} {
		res.InstanceID, res.Resource = in.ID, "gone"
		if err := s.InTx(ctx, func(tx *store.Tx) error { return tx.CommitRun(ctx, res) }); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("commit (window %v) to a removed poll: %v, want ErrNotFound", res.Window != nil, err)
		}
	}
}

// A run or backfill asked for after the run that completes began is not
// cleared by it; one asked for before is.
func testRequestsDuringARun(t *testing.T, s *store.Store) {
	ctx := context.Background()
	o, u := seed(t, s, "acme")
	in := newInstance(o, u, "Alpha")
	if err := s.CreateInstance(ctx, in); err != nil {
		t.Fatal(err)
	}
	t0 := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	if err := s.InTx(ctx, func(tx *store.Tx) error {
		_, _, err := tx.SyncPolls(ctx, in.ID, []string{"contacts"}, time.Minute, t0)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	complete := func(runAt, windowBegan time.Time) *store.Poll {
		t.Helper()
		r := &store.RunResult{InstanceID: in.ID, Resource: "contacts", Cursor: runAt, RunAt: runAt, Backfilled: true, WindowBegan: windowBegan}
		if err := s.InTx(ctx, func(tx *store.Tx) error { return tx.CommitRun(ctx, r) }); err != nil {
			t.Fatal(err)
		}
		p, err := s.GetPoll(ctx, in.ID, "contacts")
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	backfill := t0.Add(-24 * time.Hour)
	// Asked before the window began: served and cleared.
	if _, err := s.RequestRun(ctx, in.ID, "contacts", backfill, t0.Add(time.Second)); err != nil {
		t.Fatal(err)
	}
	if p := complete(t0.Add(2*time.Second), t0.Add(2*time.Second)); p.RunNow || !p.BackfillFrom.IsZero() {
		t.Errorf("a request made before the run: run %v, backfill %s left", p.RunNow, p.BackfillFrom)
	}
	// Asked while a window that began at t0+10s ran (its last run began at
	// t0+30s): neither is cleared by it.
	if _, err := s.RequestRun(ctx, in.ID, "contacts", backfill, t0.Add(40*time.Second)); err != nil {
		t.Fatal(err)
	}
	if p := complete(t0.Add(30*time.Second), t0.Add(10*time.Second)); !p.RunNow || !p.BackfillFrom.Equal(backfill) {
		t.Errorf("a request made during the run was cleared: run %v, backfill %s", p.RunNow, p.BackfillFrom)
	}
	// A run asked for during the window, before its last run began: the run
	// is served, the backfill (not read by this window) is not.
	if _, err := s.RequestRun(ctx, in.ID, "contacts", backfill, t0.Add(50*time.Second)); err != nil {
		t.Fatal(err)
	}
	if p := complete(t0.Add(60*time.Second), t0.Add(45*time.Second)); p.RunNow || !p.BackfillFrom.Equal(backfill) {
		t.Errorf("run %v (want served), backfill %s (want kept)", p.RunNow, p.BackfillFrom)
	}
}
