package insightly

import (
	"sync"
	"testing"
	"time"
)

// Stats count what each account was sent: requests, 429s, the busiest
// wall-clock second and the most in flight at once.
func TestStats(t *testing.T) {
	t.Parallel()
	wall := NewManualClock(t0)
	s, b := setup(t, Config{RateLimit: 2, Burst: 3, WallNow: wall.Now})
	for range 4 {
		b.do(t, "GET", "/v3.1/Users/Me", nil)
	}
	wall.Advance(time.Second)
	b.do(t, "GET", "/v3.1/Users/Me", nil)
	if got, want := s.Stats()[0], (Stats{Requests: 5, TooMany: 1, MaxPerSecond: 4, MaxInFlight: 1}); got != want {
		t.Fatalf("stats %+v, want %+v", got, want)
	}
	s.ResetStats()
	if got := s.Stats()[0]; got != (Stats{}) {
		t.Fatalf("stats after a reset: %+v", got)
	}
	// Three at once, each held by the latency.
	wall.Advance(10 * time.Second)
	s.SetFaults(Faults{Latency: Duration(200 * time.Millisecond)})
	var wg sync.WaitGroup
	for range 3 {
		wg.Go(func() { b.do(t, "GET", "/v3.1/Users/Me", nil) })
	}
	wg.Wait()
	if got := s.Stats()[0]; got.Requests != 3 || got.MaxInFlight != 3 || got.TooMany != 0 {
		t.Fatalf("three at once: %+v", got)
	}
}
