package poller

import (
	"math"
	"strings"
	"testing"
	"time"

	"github.com/pollhook/pollhook/internal/store"
)

// The pace, case by case: at noon, half the quota day is left.
func TestPaceOf(t *testing.T) {
	t.Parallel()
	noon := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	midnight := time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC)
	today := noon.Add(-time.Hour)
	quota := func(limit, remaining int, stated time.Time) store.Quota {
		return store.Quota{Account: "a", Limit: limit, Remaining: remaining, UpdatedAt: stated}
	}
	for _, tc := range []struct {
		name           string
		periodic, once float64
		q              store.Quota
		stretch        float64
		paused         time.Time
		reason         string
	}{
		{"nothing stated yet", 10000, 0, store.Quota{Remaining: -1}, 1, time.Time{}, ""},
		{"a limit but no remaining", 10000, 0, quota(1000, -1, today), 1, time.Time{}, ""},
		// 1000 left, 200 reserved: 800 to spend; half a day at 1200/day is 600.
		{"room to spare", 1200, 0, quota(1000, 1000, today), 1, time.Time{}, ""},
		// Half a day at 3200/day is 1600, for 800: twice as slow.
		{"stretched", 3200, 0, quota(1000, 1000, today), 2, time.Time{}, ""},
		// One-off work counts against the budget too: (600 + 200) / 400.
		{"one-off work", 1200, 200, quota(1000, 600, today), 2, time.Time{}, ""},
		// Another app spent the quota down to 300: 100 to spend for 600.
		{"others spent most of it", 1200, 0, quota(1000, 300, today), 6, time.Time{}, ""},
		{"down to the reserve", 1200, 0, quota(1000, 200, today), 1, midnight, ReservePause},
		{"below the reserve", 10, 0, quota(1000, 150, today), 1, midnight, ReservePause},
		{"spent: until its reset", 10, 0, store.Quota{Limit: 1000, ResetAt: noon.Add(3 * time.Hour), UpdatedAt: today}, 1, noon.Add(3 * time.Hour), QuotaPause},
		// Stated yesterday: the quota has reset since, 800 to spend.
		{"stated before the reset", 1200, 0, quota(1000, 10, today.Add(-24*time.Hour)), 1, time.Time{}, ""},
		{"spent before a reset that passed", 1200, 0, store.Quota{Limit: 1000, ResetAt: noon.Add(-time.Hour), UpdatedAt: today}, 1, time.Time{}, ""},
		{"a budget of one call", 1e9, 0, quota(1000, 201, today), maxStretch, time.Time{}, ""},
	} {
		p := PaceOf(tc.periodic, tc.once, tc.q, 0.2, noon)
		if math.Abs(p.Stretch-tc.stretch) > 1e-9 || !p.PausedUntil.Equal(tc.paused) || !strings.HasPrefix(p.Reason, tc.reason) ||
			(tc.reason == "") != (p.Reason == "") || !p.Reset.Equal(midnight) {
			t.Errorf("%s: %+v, want stretch %v, paused until %s (%q)", tc.name, p, tc.stretch, tc.paused, tc.reason)
		}
	}
	// Over a day the stretch holds steady when the polls keep it: at 6 pm,
	// with what the stretched pace spent since noon, it is still 2.
	spentSinceNoon := 3200.0 / 4 / 2 // a quarter day at half the pace
	evening := PaceOf(3200, 0, quota(1000, 1000-int(spentSinceNoon), today), 0.2, noon.Add(6*time.Hour))
	if math.Abs(evening.Stretch-2) > 1e-9 {
		t.Errorf("at 6 pm the stretch is %v, want 2", evening.Stretch)
	}
	// Insightly's clock 3 minutes behind ours: its quota day ends at our
	// 00:03. A quota stated at our 23:59:30 (its 23:56:30) is still today's
	// at our 00:01, and the pause lasts until our 00:03; then a whole day
	// of 1,200 calls for 800 stretches by 1.5.
	behind := store.Quota{Limit: 1000, Remaining: 150, UpdatedAt: midnight.Add(-30 * time.Second), Offset: -3 * time.Minute}
	if p := PaceOf(1200, 0, behind, 0.2, midnight.Add(time.Minute)); !p.PausedUntil.Equal(midnight.Add(3 * time.Minute)) {
		t.Errorf("upstream behind, at our 00:01: %+v", p)
	}
	if p := PaceOf(1200, 0, behind, 0.2, midnight.Add(3*time.Minute)); p.Paused(midnight.Add(3*time.Minute)) || p.Stretch != 1.5 ||
		!p.Reset.Equal(midnight.Add(24*time.Hour+3*time.Minute)) {
		t.Errorf("upstream behind, at its midnight: %+v", p)
	}
	// Ahead by 3 minutes: its day began at our 23:57.
	ahead := store.Quota{Limit: 1000, Remaining: 150, UpdatedAt: midnight.Add(-4 * time.Minute), Offset: 3 * time.Minute}
	if p := PaceOf(1200, 0, ahead, 0.2, midnight.Add(-2*time.Minute)); p.Paused(midnight) || !p.Reset.Equal(midnight.Add(24*time.Hour-3*time.Minute)) {
		t.Errorf("upstream ahead, at our 23:58: %+v", p)
	}

	// No reserve: only a spent quota stops the polls.
	if p := PaceOf(1200, 0, quota(1000, 1, today), 0, noon); p.Paused(noon) || p.Stretch != 600 {
		t.Errorf("no reserve, one call left: %+v", p)
	}
}
