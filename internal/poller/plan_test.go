package poller

import (
	"testing"
	"time"

	"github.com/pollhook/pollhook/internal/store"
)

// The window plan, alone: what is read, what is reported, and the next
// cursor, from the poll's cursor, its timing, our clock and the
// upstream's.
func TestPlan(t *testing.T) {
	t.Parallel()
	t0 := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC) // our clock when polling was enabled
	min := func(n float64) time.Duration { return time.Duration(n * float64(time.Minute)) }
	std := Timing{Overlap: min(1), PollDelay: 0}
	cases := []struct {
		name                          string
		c                             Cursor
		timing                        Timing
		runAt, upstream               time.Time
		from, compare, normal, cursor time.Time
		backfill                      bool
	}{
		// The first window, at once after enable, for every skew up to
		// MaxFirstSkew: the scan reads 15 minutes wider, and reports from
		// the enable time moved onto the upstream's clock.
		{name: "first, no skew", c: Cursor{At: t0}, timing: std, runAt: t0, upstream: t0,
			from: t0.Add(-min(15) - firstMargin), compare: t0.Add(-firstMargin), cursor: t0},
		{name: "first, upstream 5 min behind (the lost-changes bug)", c: Cursor{At: t0}, timing: std, runAt: t0, upstream: t0.Add(-min(5)),
			from: t0.Add(-min(15) - firstMargin), compare: t0.Add(-min(5) - firstMargin), cursor: t0.Add(-min(5))},
		{name: "first, upstream 15 min behind", c: Cursor{At: t0}, timing: std, runAt: t0.Add(min(0.5)), upstream: t0.Add(-min(14.5)),
			from: t0.Add(-min(15) - firstMargin), compare: t0.Add(-min(15) - firstMargin), cursor: t0.Add(-min(14.5))},
		{name: "first, upstream 15 min ahead", c: Cursor{At: t0}, timing: std, runAt: t0.Add(min(2)), upstream: t0.Add(min(17)),
			from: t0.Add(-min(15) - firstMargin), compare: t0.Add(min(15) - firstMargin), cursor: t0.Add(min(17))},
		{name: "first, beyond the tolerance: reports what it read", c: Cursor{At: t0}, timing: std, runAt: t0, upstream: t0.Add(-min(20)),
			from: t0.Add(-min(15) - firstMargin), compare: t0.Add(-min(15) - firstMargin), normal: t0.Add(-min(20) - firstMargin), cursor: t0.Add(-min(20))},
		{name: "first, with a poll delay", c: Cursor{At: t0}, timing: Timing{Overlap: min(1), PollDelay: min(2)}, runAt: t0, upstream: t0.Add(-min(3)),
			from: t0.Add(-min(17) - firstMargin), compare: t0.Add(-min(5) - firstMargin), cursor: t0.Add(-min(3))},
		{name: "first, sub-second run time", c: Cursor{At: t0}, timing: std, runAt: t0.Add(700 * time.Millisecond), upstream: t0.Add(-min(5)),
			from: t0.Add(-min(15) - firstMargin), compare: t0.Add(-min(5) - firstMargin), cursor: t0.Add(-min(5))},

		// Later windows: on the upstream's clock only; our clock and any
		// skew play no part.
		{name: "anchored", c: Cursor{At: t0, Anchored: true}, timing: std, runAt: t0.Add(min(15)), upstream: t0.Add(min(1)),
			from: t0.Add(-min(1)), compare: t0.Add(-min(1)), cursor: t0.Add(min(1))},
		{name: "anchored, upstream 15 min behind our clock", c: Cursor{At: t0, Anchored: true}, timing: std, runAt: t0.Add(min(16)), upstream: t0.Add(min(1)),
			from: t0.Add(-min(1)), compare: t0.Add(-min(1)), cursor: t0.Add(min(1))},
		{name: "anchored, upstream 15 min ahead of our clock", c: Cursor{At: t0, Anchored: true}, timing: std, runAt: t0.Add(-min(14)), upstream: t0.Add(min(1)),
			from: t0.Add(-min(1)), compare: t0.Add(-min(1)), cursor: t0.Add(min(1))},
		{name: "anchored, poll delay", c: Cursor{At: t0, Anchored: true}, timing: Timing{Overlap: min(1), PollDelay: min(3)}, runAt: t0, upstream: t0.Add(min(1)),
			from: t0.Add(-min(4)), compare: t0.Add(-min(4)), cursor: t0.Add(min(1))},
		// A changed overlap reads further back; per-record state, not the
		// window, keeps what was reported from being reported again.
		{name: "anchored, overlap widened to 30 min", c: Cursor{At: t0, Anchored: true}, timing: Timing{Overlap: min(30)}, runAt: t0, upstream: t0.Add(min(1)),
			from: t0.Add(-min(30)), compare: t0.Add(-min(30)), cursor: t0.Add(min(1))},
		// An interval change (1 min → 1 day, or back): the window runs from
		// the cursor to the upstream's now, however long that is.
		{name: "anchored, a day since the last window", c: Cursor{At: t0, Anchored: true}, timing: std, runAt: t0.Add(24 * time.Hour), upstream: t0.Add(24 * time.Hour),
			from: t0.Add(-min(1)), compare: t0.Add(-min(1)), cursor: t0.Add(24 * time.Hour)},

		// A young poll's wider overlap re-reads, but reports nothing from
		// before polling began (its floor); a backfill does.
		{name: "anchored, overlap reaching back past the floor", c: Cursor{At: t0.Add(min(5)), Anchored: true, Floor: t0.Add(-firstMargin)},
			timing: Timing{Overlap: min(30)}, runAt: t0.Add(min(6)), upstream: t0.Add(min(6)),
			from: t0.Add(-min(25)), compare: t0.Add(-firstMargin), cursor: t0.Add(min(6))},
		{name: "anchored, overlap within the floor", c: Cursor{At: t0.Add(time.Hour), Anchored: true, Floor: t0},
			timing: Timing{Overlap: min(30)}, runAt: t0.Add(time.Hour), upstream: t0.Add(time.Hour),
			from: t0.Add(min(30)), compare: t0.Add(min(30)), cursor: t0.Add(time.Hour)},
		{name: "backfill below the floor", c: Cursor{At: t0.Add(min(5)), Anchored: true, Floor: t0, BackfillFrom: t0.Add(-time.Hour)},
			timing: std, runAt: t0.Add(min(6)), upstream: t0.Add(min(6)),
			from: t0.Add(-time.Hour), compare: t0.Add(-time.Hour), normal: t0.Add(min(4)), cursor: t0.Add(min(6)), backfill: true},
		// A backfill reads and reports from its date; what it finds before
		// the normal window is marked.
		{name: "backfill", c: Cursor{At: t0, Anchored: true, BackfillFrom: t0.Add(-72 * time.Hour)}, timing: std, runAt: t0, upstream: t0.Add(min(1)),
			from: t0.Add(-72 * time.Hour), compare: t0.Add(-72 * time.Hour), normal: t0.Add(-min(1)), cursor: t0.Add(min(1)), backfill: true},
		{name: "backfill on a first window, upstream behind", c: Cursor{At: t0, BackfillFrom: t0.Add(-time.Hour)}, timing: std, runAt: t0, upstream: t0.Add(-min(5)),
			from: t0.Add(-time.Hour), compare: t0.Add(-time.Hour), normal: t0.Add(-min(5) - firstMargin), cursor: t0.Add(-min(5)), backfill: true},
		{name: "backfill from within the window", c: Cursor{At: t0, Anchored: true, BackfillFrom: t0.Add(-10 * time.Second)}, timing: std, runAt: t0, upstream: t0.Add(min(1)),
			from: t0.Add(-min(1)), compare: t0.Add(-min(1)), normal: t0.Add(-min(1)), cursor: t0.Add(min(1)), backfill: true},
	}
	for _, tc := range cases {
		if tc.normal.IsZero() {
			tc.normal = tc.compare
		}
		if got := scanStart(tc.c, tc.timing); !got.Equal(tc.from) {
			t.Errorf("%s: scanStart %s, want %s", tc.name, got, tc.from)
		}
		w := plan(tc.c, tc.timing, tc.runAt, tc.upstream)
		if !w.From.Equal(tc.from) || !w.Compare.Equal(tc.compare) || !w.Normal.Equal(tc.normal) || !w.Start.Equal(tc.cursor) || w.Backfill != tc.backfill {
			t.Errorf("%s:\n got from %s compare %s normal %s cursor %s backfill %v\nwant from %s compare %s normal %s cursor %s backfill %v",
				tc.name, w.From, w.Compare, w.Normal, w.Start, w.Backfill, tc.from, tc.compare, tc.normal, tc.cursor, tc.backfill)
		}
		if !w.RunAt.Equal(tc.runAt) {
			t.Errorf("%s: runAt %s", tc.name, w.RunAt)
		}
		// Everything reported is read.
		if w.Compare.Before(w.From) {
			t.Errorf("%s: reports from %s but reads from %s", tc.name, w.Compare, w.From)
		}
	}
}

// A completed window moves an anchored cursor forward only, and sets the
// floor once: at the first window.
func TestAdvanceAndFirstFloor(t *testing.T) {
	t.Parallel()
	t0 := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	fresh := &store.Poll{Cursor: t0}
	if got := advance(fresh, t0.Add(-time.Hour)); !got.Equal(t0.Add(-time.Hour)) {
		t.Errorf("an unanchored cursor (our clock) is replaced by the upstream's: %s", got)
	}
	if got := firstFloor(fresh, t0.Add(-time.Minute)); !got.Equal(t0.Add(-time.Minute)) {
		t.Errorf("the first window sets the floor: %s", got)
	}
	anchored := &store.Poll{Cursor: t0, Anchored: true, Floor: t0.Add(-time.Hour)}
	if got := advance(anchored, t0.Add(-time.Minute)); !got.Equal(t0) {
		t.Errorf("a duplicate run that began earlier moved the cursor back to %s", got)
	}
	if got := advance(anchored, t0.Add(time.Minute)); !got.Equal(t0.Add(time.Minute)) {
		t.Errorf("the cursor did not move forward: %s", got)
	}
	if got := firstFloor(anchored, t0); !got.IsZero() {
		t.Errorf("a later window moved the floor to %s", got)
	}
	if got := firstFloor(&store.Poll{Cursor: t0, Floor: t0}, t0.Add(time.Hour)); !got.IsZero() {
		t.Errorf("a floor set by a window that did not anchor (a crash between) was moved to %s", got)
	}
}
