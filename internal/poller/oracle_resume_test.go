package poller

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"
)

func init() {
	oracleScenarios = append(oracleScenarios, oracleScenario{"resume", runResume})
}

// runResume: a window of several pages (a backfill of every lead, ten a
// page) dies in the commit of its third page (rolled back), then, resumed,
// loses its upstream between two pages; the next run resumes where the
// last committed page ended. Each time the poll keeps the open window
// with its position and the cursor does not move; the run that finishes
// reads only the pages left; and the oracle holds, with every lead
// reported and nothing twice.
func runResume(t *testing.T, dsn func(t *testing.T) string) {
	seed := scenarioSeed(t)
	t.Run(fmt.Sprint("seed=", seed), func(t *testing.T) {
		t.Parallel()
		ctx := context.Background()
		w := newWorldWith(t, seed, dsn(t), worldOptions{records: 60, pageSize: map[string]int{"leads": 10}})
		crash := w.runner.crash
		w.runner.crash = nil
		for range 3 {
			w.cycle(false)
		}
		leads := w.target("leads")
		before := w.poll("leads")
		if _, err := w.store.RequestRun(ctx, w.instID, "leads", w.start.AddDate(-3, 0, 0), w.clock.Now()); err != nil {
			t.Fatal(err)
		}

		// 1. The process dies inside the third page's commit.
		commits := 0
		w.runner.crash = func(stage string) bool {
			if stage == "commit" {
				commits++
				return commits == 3
			}
			return false
		}
		if _, err := w.runner.Run(ctx, leads); !errors.Is(err, errCrash) {
			t.Fatalf("run: %v, want the crash", err)
		}
		w.runner.crash = nil
		p := w.poll("leads")
		if p.Window == nil {
			t.Fatal("no open window after a crash in its third page")
		}
		if p.Window.Position == "" || p.Window.Pages != 2 || !p.Window.Backfill {
			t.Fatalf("open window after the crash: %+v, want 2 pages, a position, backfill", *p.Window)
		}
		if !p.Cursor.Equal(before.Cursor) || p.BackfillFrom.IsZero() {
			t.Fatalf("after the crash: cursor %s (was %s), backfill from %s: a window that did not complete moved them", p.Cursor, before.Cursor, p.BackfillFrom)
		}
		first := *p.Window

		// 2. Resumed, it reads two pages, then the upstream fails for good
		// (every retry too): the scan ends with an error between pages.
		w.clock.Advance(20 * time.Second)
		w.tap.failAfter("leads", 2)
		if _, err := w.runner.Run(ctx, leads); err == nil || errors.Is(err, errCrash) {
			t.Fatalf("run with a failing upstream: %v, want its error", err)
		}
		w.tap.failAfter("leads", -1)
		p = w.poll("leads")
		if p.Window == nil {
			t.Fatal("no open window after the upstream failed mid-window")
		}
		if p.Window.Pages != 4 || p.Window.Position == first.Position || !p.Window.Start.Equal(first.Start) || !p.Window.From.Equal(first.From) {
			t.Fatalf("open window after the failure: %+v, want the same window, 4 pages, moved on from %q", *p.Window, first.Position)
		}
		if !p.Cursor.Equal(before.Cursor) {
			t.Fatalf("after the failure the cursor moved: %s, was %s", p.Cursor, before.Cursor)
		}

		// 3. Users edit meanwhile; the next run finishes the window from
		// its position: fewer requests than the window's pages.
		w.clock.Advance(20 * time.Second)
		w.sim.Step(6)
		asked := w.tap.answered("leads")
		if _, err := w.runner.Run(ctx, leads); err != nil {
			t.Fatalf("resumed run: %v", err)
		}
		asked = w.tap.answered("leads") - asked
		p = w.poll("leads")
		if p.Window != nil || !p.BackfillFrom.IsZero() || !p.Anchored {
			t.Fatalf("after the resumed run: window %+v, backfill from %s, anchored %v: the window did not complete", p.Window, p.BackfillFrom, p.Anchored)
		}
		if !p.Cursor.Equal(first.Start) {
			t.Errorf("cursor %s after the window, want its start %s", p.Cursor, first.Start)
		}
		if pages := p.LastRun.Pages; pages < 6 || asked >= pages-2 {
			t.Errorf("the resumed run made %d requests for a window of %d pages, 4 of them committed before: it did not resume", asked, pages)
		}
		t.Logf("window of %d pages: 2 committed before the crash, 2 before the failure, %d requests to finish it", p.LastRun.Pages, asked)

		// Polling goes on, crashes and all; every lead was reported.
		w.runner.crash = crash
		for range 3 {
			w.cycle(true)
		}
		w.settle()
		w.check()
		reported := map[string]bool{}
		for _, e := range w.events() {
			if e.Resource == "leads" {
				reported[e.ObjectID] = true
			}
		}
		recs, err := w.sim.Records(w.sim.APIKey(), "Leads")
		if err != nil {
			t.Fatal(err)
		}
		for _, rec := range recs {
			if id := fmt.Sprint(rec["LEAD_ID"]); !reported[id] {
				t.Errorf("leads/%s was never reported, though a backfill read every lead", id)
			}
		}
		failedSeed(t, seed)
	})
}
