package storetest

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pollhook/pollhook/internal/store"
)

// pacer takes and releases one account's pace on a store, failing the
// test on a database error.
type pacer struct {
	t *testing.T
	s *store.Store
	r store.PaceRequest
}

func (p pacer) take(holder string, at time.Time) (slot int, wait time.Duration, ok bool) {
	p.t.Helper()
	r := p.r
	r.Holder, r.Now = holder, at
	slot, wait, ok, err := p.s.TakePace(context.Background(), r)
	if err != nil {
		p.t.Fatalf("take: %v", err)
	}
	return slot, wait, ok
}

func (p pacer) release(slot int, holder string) {
	p.t.Helper()
	if err := p.s.ReleasePace(context.Background(), p.r.Account, slot, holder); err != nil {
		p.t.Fatalf("release: %v", err)
	}
}

// maxInWindow is the most times within any window of length w.
func maxInWindow(times []time.Time, w time.Duration) int {
	slices.SortFunc(times, func(a, b time.Time) int { return a.Compare(b) })
	most := 0
	for i, start := range times {
		j := i
		for j < len(times) && times[j].Before(start.Add(w)) {
			j++
		}
		most = max(most, j-i)
	}
	return most
}

// Takers racing on one account are granted no more than the rate over
// any window, plus the burst; each ticks a shared clock, so that the test
// spans seconds of paced time without waiting them.
func testPaceRate(t *testing.T, s *store.Store) {
	const rate, burst, span = 10, 3, 3 * time.Second
	p := pacer{t, s, store.PaceRequest{Account: "acct-rate", Rate: rate, Burst: burst, Slots: 100, Hold: time.Minute}}
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	var tick atomic.Int64
	var mu sync.Mutex
	var granted []time.Time
	var wg sync.WaitGroup
	for g := range 6 {
		wg.Go(func() {
			for n := 0; ; n++ {
				at := start.Add(time.Duration(tick.Add(1)) * 10 * time.Millisecond)
				if at.After(start.Add(span)) {
					return
				}
				holder := fmt.Sprintf("g%d-%d", g, n)
				if slot, _, ok := p.take(holder, at); ok {
					p.release(slot, holder)
					mu.Lock()
					granted = append(granted, at)
					mu.Unlock()
				}
			}
		})
	}
	wg.Wait()
	if most := maxInWindow(granted, time.Second); most > rate+burst {
		t.Errorf("%d granted within one second, want at most %d", most, rate+burst)
	}
	if n := len(granted); n > rate*3+burst || n < rate*3*8/10 {
		t.Errorf("%d granted over %s of attempts every 10 ms, want about %d and at most %d", n, span, rate*3, rate*3+burst)
	}
	// Another account has its own pace.
	other := pacer{t, s, p.r}
	other.r.Account = "acct-other"
	if _, _, ok := other.take("x", start.Add(span)); !ok {
		t.Error("a second account was refused by the first one's pace")
	}
}

// On the database's clock (PostgreSQL) or this host's (SQLite), takers
// racing for real time stay within the rate too.
func testPaceRealClock(t *testing.T, s *store.Store) {
	const rate, burst = 20, 2
	p := pacer{t, s, store.PaceRequest{Account: "acct-clock", Rate: rate, Burst: burst, Slots: 100, Hold: time.Minute}}
	var granted atomic.Int64
	began := time.Now()
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			for n := 0; time.Since(began) < 600*time.Millisecond; n++ {
				holder := fmt.Sprintf("g%d-%d", g, n)
				if slot, _, ok := p.take(holder, time.Time{}); ok {
					granted.Add(1)
					p.release(slot, holder)
				}
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(began)
	if n, most := granted.Load(), int64(elapsed.Seconds()*rate)+burst; n > most || n < 5 {
		t.Errorf("%d granted in %s, want at most %d (and some)", n, elapsed, most)
	}
}

// The slots cap requests in flight: a full account refuses with no wait
// to state, a release frees its slot (only for its holder), and so does
// an expired lease.
func testPaceSlots(t *testing.T, s *store.Store) {
	p := pacer{t, s, store.PaceRequest{Account: "acct-slots", Rate: 1000, Burst: 1000, Slots: 2, Hold: time.Second}}
	at := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	a, _, okA := p.take("a", at)
	b, _, okB := p.take("b", at)
	if !okA || !okB || a == b {
		t.Fatalf("two free slots: %d %v, %d %v", a, okA, b, okB)
	}
	if _, wait, ok := p.take("c", at); ok || wait != 0 {
		t.Fatalf("a full account: ok %v, wait %s; want refused, 0", ok, wait)
	}
	p.release(a, "someone else")
	if _, _, ok := p.take("c", at); ok {
		t.Fatal("a release by another holder freed the slot")
	}
	p.release(a, "a")
	c, _, ok := p.take("c", at)
	if !ok || c != a {
		t.Fatalf("after a's release: slot %d, %v; want %d", c, ok, a)
	}
	// b and c crash: their leases expire after Hold.
	if _, _, ok := p.take("d", at.Add(time.Second/2)); ok {
		t.Fatal("a lease freed before its hold ended")
	}
	if _, _, ok := p.take("d", at.Add(2*time.Second)); !ok {
		t.Fatal("an expired lease did not free its slot")
	}
	// The expired lease's holder releasing late does not free d's slot.
	p.release(b, "b")
	p.release(c, "c")
	if _, _, ok := p.take("e", at.Add(2*time.Second)); !ok {
		t.Fatal("one slot should be free: b's and c's leases expired, d holds one")
	}
	if _, _, ok := p.take("f", at.Add(2*time.Second)); ok {
		t.Fatal("a late release by an expired holder freed a slot it no longer held")
	}
}

// A refusal takes nothing: neither a token (for want of a slot) nor a
// slot (for want of a token).
func testPaceRefusalTakesNothing(t *testing.T, s *store.Store) {
	at := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	// One slot, ten per second, no burst: refused for the slot at 200 ms,
	// which would have pushed the arrival time to 300 ms had it counted.
	p := pacer{t, s, store.PaceRequest{Account: "acct-slot-refusal", Rate: 10, Burst: 1, Slots: 1, Hold: time.Minute}}
	slot, _, ok := p.take("a", at)
	if !ok {
		t.Fatal("first take refused")
	}
	if _, wait, ok := p.take("b", at.Add(200*time.Millisecond)); ok || wait != 0 {
		t.Fatalf("no slot: ok %v, wait %s", ok, wait)
	}
	p.release(slot, "a")
	if _, _, ok := p.take("b", at.Add(200*time.Millisecond)); !ok {
		t.Fatal("a refusal for want of a slot spent a token")
	}
	// Two slots, one per second: refused for the token, twice alike.
	p = pacer{t, s, store.PaceRequest{Account: "acct-token-refusal", Rate: 1, Burst: 1, Slots: 2, Hold: time.Minute}}
	if _, _, ok := p.take("a", at); !ok {
		t.Fatal("first take refused")
	}
	for range 2 {
		if _, wait, ok := p.take("b", at.Add(100*time.Millisecond)); ok || wait != 900*time.Millisecond {
			t.Fatalf("no token: ok %v, wait %s; want refused, 900ms", ok, wait)
		}
	}
	if _, _, ok := p.take("b", at.Add(time.Second)); !ok {
		t.Fatal("refusals for want of a token took a slot or a token")
	}
}

// A Pace's takes are leases of their own: a release frees its own slot,
// even after the request's context ended.
func testPaceLeases(t *testing.T, s *store.Store) {
	p := store.NewPace(s, 1000, 1000, 1, time.Minute)
	ctx, cancel := context.WithCancel(context.Background())
	release, _, ok, err := p.Take(ctx, "acct-leases")
	if err != nil || !ok {
		t.Fatalf("take: %v %v", ok, err)
	}
	if _, wait, ok, err := p.Take(context.Background(), "acct-leases"); err != nil || ok || wait != 0 {
		t.Fatalf("take of a full account: ok %v, wait %s, %v", ok, wait, err)
	}
	cancel()
	release()
	release2, _, ok, err := p.Take(context.Background(), "acct-leases")
	if err != nil || !ok {
		t.Fatalf("take after the release: %v %v", ok, err)
	}
	release() // late and twice: not its slot any more
	if _, _, ok, _ := p.Take(context.Background(), "acct-leases"); ok {
		t.Fatal("a stale release freed another lease's slot")
	}
	release2()
}
