package fair

import (
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestOrgsCountEachOrganizationAndKindApart(t *testing.T) {
	t.Parallel()
	o := NewOrgs(2)
	r1, ok1 := o.TryAcquire(1, Poll)
	_, ok2 := o.TryAcquire(1, Poll)
	if _, ok3 := o.TryAcquire(1, Poll); !ok1 || !ok2 || ok3 {
		t.Fatalf("three polls of one organization under a cap of 2: %v %v %v", ok1, ok2, ok3)
	}
	if _, ok := o.TryAcquire(1, Deliver); !ok {
		t.Error("a delivery was refused because of the organization's polls")
	}
	if _, ok := o.TryAcquire(2, Poll); !ok {
		t.Error("another organization's poll was refused")
	}
	r1()
	r1() // a second call uncounts nothing
	if n := o.Count(1, Poll); n != 1 {
		t.Fatalf("after one release: %d polls counted, want 1", n)
	}
	if _, ok := o.TryAcquire(1, Poll); !ok {
		t.Error("the released place was refused")
	}
	if _, ok := o.TryAcquire(1, Poll); ok {
		t.Error("a double release freed two places")
	}

	// Concurrent jobs never exceed the cap.
	o = NewOrgs(3)
	var running, peak atomic.Int64
	var wg sync.WaitGroup
	for range 64 {
		wg.Go(func() {
			for range 50 {
				release, ok := o.TryAcquire(7, Poll)
				if !ok {
					continue
				}
				n := running.Add(1)
				for p := peak.Load(); n > p && !peak.CompareAndSwap(p, n); p = peak.Load() {
				}
				running.Add(-1)
				release()
			}
		})
	}
	wg.Wait()
	if peak.Load() > 3 || o.Count(7, Poll) != 0 {
		t.Fatalf("peak %d jobs under a cap of 3; %d still counted", peak.Load(), o.Count(7, Poll))
	}
}

func TestOrgMaxDefault(t *testing.T) {
	t.Parallel()
	for workers, want := range map[int]int{100: 50, 8: 4, 3: 1, 1: 1} {
		if got := OrgMaxDefault(workers); got != want {
			t.Errorf("OrgMaxDefault(%d) = %d, want %d", workers, got, want)
		}
	}
}

func TestJitteredStaysInItsSpread(t *testing.T) {
	t.Parallel()
	seen := map[bool]bool{}
	for range 200 {
		d := Jittered(time.Second, time.Second)
		if d < time.Second || d > 2*time.Second {
			t.Fatalf("Jittered(1s, 1s) = %s", d)
		}
		seen[d > 1500*time.Millisecond] = true
	}
	if len(seen) != 2 {
		t.Error("200 jittered delays all fell in one half of the spread")
	}
}
