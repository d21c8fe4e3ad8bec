package insightly

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pollhook/pollhook/internal/element"
	"github.com/pollhook/pollhook/internal/netguard"
)

// reserveSetup is an upstream that answers every request at once, and a
// way to make clients of it sharing one limiter.
func reserveSetup(t *testing.T) (*httptest.Server, *atomic.Int64, func(*Limiter) *Client) {
	t.Helper()
	hits := &atomic.Int64{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		w.Write([]byte(`{"USER_ID":1}`))
	}))
	t.Cleanup(srv.Close)
	return srv, hits, func(l *Limiter) *Client {
		c, err := New(Config{APIKey: "k", BaseURL: srv.URL, Limiter: l, MaxRetries: -1})
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
}

func slotsHeld(l *Limiter) int { return len(l.slots) }

// get makes one request, failing the test rather than hanging if the
// request waits for a slot it should not need.
func get(t *testing.T, c *Client) error {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, err := c.Do(ctx, http.MethodGet, "Users/Me", nil, nil)
	if errors.Is(err, context.DeadlineExceeded) {
		t.Fatal("the request waited for a slot: the reservation was not used")
	}
	return err
}

func TestReserveFailsWhileTheSlotsAreTaken(t *testing.T) {
	t.Parallel()
	_, hits, client := reserveSetup(t)
	l := NewLimiter(1000, 2)
	a, b, c := client(l), client(l), client(l)
	for _, x := range []*Client{a, b} {
		if ok, _ := x.Reserve(); !ok {
			t.Fatal("a free slot was not reserved")
		}
	}
	if ok, _ := a.Reserve(); !ok || slotsHeld(l) != 2 {
		t.Fatalf("reserving again: ok %v, %d slots held; want one reservation per client", ok, slotsHeld(l))
	}
	ok, retryIn := c.Reserve()
	if ok || retryIn != 0 {
		t.Fatalf("Reserve with every slot taken = %v, %s; want false, 0 (unknown)", ok, retryIn)
	}
	if slotsHeld(l) != 2 {
		t.Fatalf("a failed Reserve holds a slot: %d held", slotsHeld(l))
	}
	a.Release()
	if ok, _ := c.Reserve(); !ok {
		t.Fatal("the released slot could not be reserved")
	}
	b.Release()
	c.Release()
	if slotsHeld(l) != 0 || hits.Load() != 0 {
		t.Fatalf("%d slots held, %d requests after releasing every reservation", slotsHeld(l), hits.Load())
	}
}

func TestReservationIsUsedByTheFirstRequest(t *testing.T) {
	t.Parallel()
	_, hits, client := reserveSetup(t)
	l := NewLimiter(1000, 1)
	c := client(l)
	if ok, _ := c.Reserve(); !ok || slotsHeld(l) != 1 {
		t.Fatalf("Reserve: ok %v, %d slots held", ok, slotsHeld(l))
	}
	// The only slot is the reservation: a request that asked for another
	// would wait until its context ends.
	if err := get(t, c); err != nil {
		t.Fatal(err)
	}
	if slotsHeld(l) != 0 || hits.Load() != 1 {
		t.Fatalf("after the first request: %d slots held, %d requests", slotsHeld(l), hits.Load())
	}
	// Used up: Release has nothing to give back (a second release would
	// block on the empty channel), and the next request waits its turn.
	done := make(chan struct{})
	go func() { c.Release(); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Release after the reservation was used blocked: it gave back a slot twice")
	}
	if err := get(t, c); err != nil {
		t.Fatal(err)
	}
	if slotsHeld(l) != 0 {
		t.Fatalf("%d slots held after the second request", slotsHeld(l))
	}
}

func TestReservationIsGivenBackOnEveryPath(t *testing.T) {
	t.Parallel()
	_, _, client := reserveSetup(t)
	t.Run("unused", func(t *testing.T) {
		l := NewLimiter(1, 1)
		now := time.Now()
		l.now = func() time.Time { return now }
		c := client(l)
		c.Reserve()
		c.Release()
		c.Release()
		if slotsHeld(l) != 0 {
			t.Fatalf("%d slots held", slotsHeld(l))
		}
		// The token came back too: the bucket holds one, and the clock
		// has not moved.
		if ok, _ := client(l).Reserve(); !ok {
			t.Fatal("the unused reservation's token was not given back")
		}
	})
	t.Run("cancelled", func(t *testing.T) {
		l := NewLimiter(1000, 1)
		c := client(l)
		c.Reserve()
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		if _, err := c.Do(ctx, http.MethodGet, "Users/Me", nil, nil); err == nil {
			t.Fatal("a cancelled request succeeded")
		}
		if slotsHeld(l) != 0 {
			t.Fatalf("%d slots held after a cancelled request", slotsHeld(l))
		}
	})
	t.Run("unreachable", func(t *testing.T) {
		l := NewLimiter(1000, 1)
		c, err := New(Config{APIKey: "k", BaseURL: "http://127.0.0.1:1", Limiter: l, MaxRetries: -1})
		if err != nil {
			t.Fatal(err)
		}
		c.Reserve()
		if err := get(t, c); err == nil {
			t.Fatal("a request to a closed port succeeded")
		}
		if slotsHeld(l) != 0 {
			t.Fatalf("%d slots held after a failed request", slotsHeld(l))
		}
	})
	t.Run("refused", func(t *testing.T) {
		refuse := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(503) }))
		defer refuse.Close()
		l := NewLimiter(1000, 1)
		c, err := New(Config{APIKey: "k", BaseURL: refuse.URL, Limiter: l, MaxRetries: 2,
			Backoff: func(int) time.Duration { return 0 }})
		if err != nil {
			t.Fatal(err)
		}
		c.Reserve()
		// Retries after the first attempt take slots as usual; each is
		// given back.
		if err := get(t, c); err == nil {
			t.Fatal("503s succeeded")
		}
		if slotsHeld(l) != 0 {
			t.Fatalf("%d slots held after retried 503s", slotsHeld(l))
		}
	})
}

func TestReserveSaysWhenTheBucketHasAToken(t *testing.T) {
	t.Parallel()
	_, _, client := reserveSetup(t)
	now := time.Now()
	l := NewLimiter(2, 4) // a bucket of 2 tokens, one back every 500 ms
	l.now = func() time.Time { return now }
	a, b, c := client(l), client(l), client(l)
	a.Reserve()
	b.Reserve()
	ok, retryIn := c.Reserve()
	if ok || retryIn != 500*time.Millisecond {
		t.Fatalf("Reserve on an empty bucket = %v, %s; want false, 500ms", ok, retryIn)
	}
	if slotsHeld(l) != 2 {
		t.Fatalf("a Reserve refused for want of a token holds a slot: %d held", slotsHeld(l))
	}
	// A 429's pause says how long too.
	l.pause(now.Add(20 * time.Second))
	a.Release()
	if ok, retryIn := c.Reserve(); ok || retryIn != 20*time.Second {
		t.Fatalf("Reserve while paused = %v, %s; want false, 20s", ok, retryIn)
	}
	b.Release()
}

func TestReserveWhileTheQuotaIsSpent(t *testing.T) {
	t.Parallel()
	_, hits, client := reserveSetup(t)
	l := NewLimiter(1000, 1)
	l.Exhaust(1000, time.Now().Add(time.Hour))
	c := client(l)
	// Nothing to wait for: the run goes ahead and fails at once, saying why.
	if ok, _ := c.Reserve(); !ok || slotsHeld(l) != 0 {
		t.Fatalf("Reserve with the quota spent: ok %v, %d slots held", ok, slotsHeld(l))
	}
	var q *QuotaError
	if err := get(t, c); !errors.As(err, &q) || hits.Load() != 0 {
		t.Fatalf("request with the quota spent: %v, %d requests sent", err, hits.Load())
	}
	c.Release()
	if slotsHeld(l) != 0 {
		t.Fatalf("%d slots held", slotsHeld(l))
	}
}

// The element's connections are gates, sharing their account's limiter.
func TestConnIsAGate(t *testing.T) {
	t.Parallel()
	srv, _, _ := reserveSetup(t)
	limits := NewLimits(1000, 1)
	el := NewElement(Options{Limits: limits, Upstreams: Upstreams{Allow: netguard.AllowList{{Host: "127.0.0.1"}}}})
	open := func() element.Gate {
		c, err := el.Open(map[string]string{ConfigPassword: "k", ConfigBaseURL: srv.URL, element.ConfigAccount: "acct"})
		if err != nil {
			t.Fatal(err)
		}
		g, ok := c.(element.Gate)
		if !ok {
			t.Fatal("an Insightly connection is not an element.Gate")
		}
		return g
	}
	a, b := open(), open()
	if ok, _ := a.Reserve(); !ok {
		t.Fatal("the account's free slot was not reserved")
	}
	if ok, _ := b.Reserve(); ok {
		t.Fatal("a second connection to the account reserved its only slot")
	}
	a.Release()
	if ok, _ := b.Reserve(); !ok {
		t.Fatal("the slot was not given back")
	}
	b.Release()
	if n := slotsHeld(limits.For("acct")); n != 0 {
		t.Fatalf("%d slots held", n)
	}
}
