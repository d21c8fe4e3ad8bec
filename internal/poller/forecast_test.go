package poller

import (
	"context"
	"math"
	"path/filepath"
	"testing"
	"time"

	"github.com/pollhook/pollhook/internal/pollconfig"
	sim "github.com/pollhook/pollhook/internal/sim/insightly"
	"github.com/pollhook/pollhook/internal/store"
)

func TestForecast(t *testing.T) {
	for _, tc := range []struct {
		name  string
		polls []PollLoad
		want  float64
	}{
		{"nothing", nil, 0},
		{"one poll every 5 minutes, one page", []PollLoad{{Interval: 5 * time.Minute, PagesPerRun: 1}}, 288},
		{"pages below one count as one", []PollLoad{{Interval: 5 * time.Minute}}, 288},
		{"three pages a run", []PollLoad{{Interval: time.Hour, PagesPerRun: 3}}, 72},
		{"two polls add up", []PollLoad{{Interval: time.Minute, PagesPerRun: 1}, {Interval: 15 * time.Minute, PagesPerRun: 2}}, 1440 + 192},
		{"delete scans", []PollLoad{{Interval: time.Hour, PagesPerRun: 1, ScanInterval: 30 * time.Minute, PagesPerScan: 3}}, 24 + 48*3},
		{"scan pages below one count as one", []PollLoad{{Interval: time.Hour, ScanInterval: time.Hour}}, 48},
		{"remaining counted once", []PollLoad{{Interval: time.Hour, PagesPerRun: 1, Remaining: 40}}, 64},
		{"negative remaining ignored", []PollLoad{{Interval: time.Hour, Remaining: -5}}, 24},
		{"no interval: nothing but the one-off work", []PollLoad{{Remaining: 7}}, 7},
		{"everything", []PollLoad{
			{Interval: 10 * time.Minute, PagesPerRun: 2, ScanInterval: time.Hour, PagesPerScan: 5, Remaining: 11},
			{Interval: 24 * time.Hour, PagesPerRun: 1},
		}, 144*2 + 24*5 + 11 + 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := Forecast(tc.polls); math.Abs(got-tc.want) > 1e-9 {
				t.Errorf("Forecast = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestPagesPerScan(t *testing.T) {
	for known, want := range map[int]int{-1: 1, 0: 1, 1: 1, 499: 1, 500: 2, 1200: 3} {
		if got := PagesPerScan(known); got != want {
			t.Errorf("PagesPerScan(%d) = %d, want %d", known, got, want)
		}
	}
}

func TestLoadOf(t *testing.T) {
	deletes := &pollconfig.Compiled{Config: &pollconfig.Resource{Deletes: pollconfig.Deletes{Enabled: true, Interval: 30 * time.Minute}}}
	snapshots := &pollconfig.Compiled{Config: &pollconfig.Resource{Snapshots: true, Deletes: pollconfig.Deletes{Enabled: true, Interval: time.Hour}}}
	at := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name  string
		p     store.Poll
		cfg   *pollconfig.Compiled
		known int
		want  PollLoad
	}{
		{"plain", store.Poll{Interval: time.Minute, LastRun: store.RunStats{Pages: 4}}, nil, 0,
			PollLoad{Interval: time.Minute, PagesPerRun: 4}},
		{"never run", store.Poll{Interval: time.Minute}, nil, 0, PollLoad{Interval: time.Minute, PagesPerRun: 1}},
		{"deletes, nothing known", store.Poll{Interval: time.Minute}, deletes, 0,
			PollLoad{Interval: time.Minute, PagesPerRun: 1, ScanInterval: 30 * time.Minute, PagesPerScan: 1}},
		{"deletes, 1000 known", store.Poll{Interval: time.Minute, LastScanAt: at}, deletes, 1000,
			PollLoad{Interval: time.Minute, PagesPerRun: 1, ScanInterval: 30 * time.Minute, PagesPerScan: 3}},
		{"baseline to run", store.Poll{Interval: time.Minute}, snapshots, 600,
			PollLoad{Interval: time.Minute, PagesPerRun: 1, ScanInterval: time.Hour, PagesPerScan: 2, Remaining: 2}},
		{"baseline done", store.Poll{Interval: time.Minute, BaselineAt: at}, snapshots, 600,
			PollLoad{Interval: time.Minute, PagesPerRun: 1, ScanInterval: time.Hour, PagesPerScan: 2}},
		{"backfill asked", store.Poll{Interval: time.Minute, BackfillFrom: at}, nil, 1500,
			PollLoad{Interval: time.Minute, PagesPerRun: 1, Remaining: 4}},
		{"backfill under way", store.Poll{Interval: time.Minute, LastRun: store.RunStats{Pages: 3}, Window: &store.Window{Backfill: true}}, nil, 0,
			PollLoad{Interval: time.Minute, PagesPerRun: 3, Remaining: 3}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := loadOf(&tc.p, tc.cfg, tc.known); got != tc.want {
				t.Errorf("loadOf = %+v, want %+v", got, tc.want)
			}
		})
	}
}

// A replica remembers an account's load for loadTTL, and forgets the
// accounts no one asked about since, rather than every account it ever
// polled.
func TestLoadsOfGoneAccountsAreForgotten(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	clock := sim.NewManualClock(time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC))
	s := &Service{Store: openStore(t, "sqlite:"+filepath.Join(t.TempDir(), "db")), Now: clock.Now}
	held := func(account string) bool { _, ok := s.loads.Load(account); return ok }
	for _, a := range []string{"gone", "kept"} {
		if _, err := s.cachedLoad(ctx, a); err != nil {
			t.Fatal(err)
		}
	}
	clock.Advance(loadTTL / 2)
	s.cachedLoad(ctx, "kept") // still fresh: read from memory
	clock.Advance(loadTTL / 2)
	if !held("gone") || !held("kept") {
		t.Fatal("a load was forgotten before a sweep was due")
	}
	s.cachedLoad(ctx, "kept") // read again, and the sweep is due
	if held("gone") || !held("kept") {
		t.Errorf("after a sweep: gone held %v, kept held %v; want only kept", held("gone"), held("kept"))
	}
}
