package insightly

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/pollhook/pollhook/internal/element"
)

// fakePace is a SharedPace that answers from a script: each take pops the
// next answer, and grants once the script is spent. It records what the
// local limiter held at each call.
type fakePace struct {
	l *Limiter

	mu       sync.Mutex
	script   []paceAnswer
	accounts []string
	held     int   // shared slots taken and not released
	localAt  []int // local slots held at each take and release
}

type paceAnswer struct {
	wait time.Duration
	err  error
}

func (p *fakePace) Take(ctx context.Context, account string) (func(), time.Duration, bool, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.accounts = append(p.accounts, account)
	p.localAt = append(p.localAt, slotsHeld(p.l))
	if len(p.script) > 0 {
		a := p.script[0]
		p.script = p.script[1:]
		return nil, a.wait, false, a.err
	}
	p.held++
	var once sync.Once
	return func() {
		once.Do(func() {
			p.mu.Lock()
			defer p.mu.Unlock()
			p.held--
			p.localAt = append(p.localAt, slotsHeld(p.l))
		})
	}, 0, true, nil
}

func (p *fakePace) state() (held int, localAt []int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.held, append([]int(nil), p.localAt...)
}

// sharedSetup is a limiter of account "acct" sharing a scripted pace, and
// a client of it whose sleeps are recorded (and check that nothing is
// held locally while the request waits).
func sharedSetup(t *testing.T, script ...paceAnswer) (*fakePace, *Limiter, *Client, *[]time.Duration) {
	t.Helper()
	srv, _, _ := reserveSetup(t)
	limits := NewLimits(1000, 2)
	l := limits.For("acct")
	p := &fakePace{l: l, script: script}
	limits.Share(p)
	var sleeps []time.Duration
	c, err := New(Config{APIKey: "k", BaseURL: srv.URL, Limiter: l, MaxRetries: -1,
		Sleep: func(ctx context.Context, d time.Duration) error {
			if n := slotsHeld(l); n != 0 {
				t.Errorf("waiting for the shared pace with %d local slots held", n)
			}
			sleeps = append(sleeps, d)
			return ctx.Err()
		}})
	if err != nil {
		t.Fatal(err)
	}
	return p, l, c, &sleeps
}

// A request the shared pace refuses holds nothing while it waits as told
// (or polls when the slots are taken), then goes out; its shared slot is
// given back before its local one.
func TestSharedPaceRefusalHoldsNothing(t *testing.T) {
	t.Parallel()
	p, l, c, sleeps := sharedSetup(t, paceAnswer{wait: 300 * time.Millisecond}, paceAnswer{})
	if err := get(t, c); err != nil {
		t.Fatal(err)
	}
	if got := *sleeps; len(got) != 2 || got[0] != 300*time.Millisecond || got[1] != sharedPoll {
		t.Errorf("sleeps %v, want [300ms %s]", got, sharedPoll)
	}
	held, localAt := p.state()
	// Three takes, each with the local slot held; the release with it
	// still held.
	if held != 0 || slotsHeld(l) != 0 || !slices.Equal(localAt, []int{1, 1, 1, 1}) {
		t.Errorf("shared slots held %d, local %d; local slots at each take and release %v, want [1 1 1 1]",
			held, slotsHeld(l), localAt)
	}
	if p.accounts[0] != "acct" {
		t.Errorf("took the pace of %q, want the limiter's account", p.accounts[0])
	}
}

// Reserve takes the shared turn too, or nothing; Release gives it back,
// and a request uses it without asking again.
func TestSharedPaceReserve(t *testing.T) {
	t.Parallel()
	p, l, c, _ := sharedSetup(t, paceAnswer{wait: 700 * time.Millisecond}, paceAnswer{})
	if ok, retryIn := c.Reserve(); ok || retryIn != 700*time.Millisecond || slotsHeld(l) != 0 {
		t.Fatalf("Reserve refused for a shared token = %v, %s, %d local slots; want false, 700ms, 0", ok, retryIn, slotsHeld(l))
	}
	if ok, retryIn := c.Reserve(); ok || retryIn != 0 || slotsHeld(l) != 0 {
		t.Fatalf("Reserve refused for a shared slot = %v, %s, %d local slots; want false, 0, 0", ok, retryIn, slotsHeld(l))
	}
	if ok, _ := c.Reserve(); !ok {
		t.Fatal("Reserve refused with the shared pace granting")
	}
	if held, _ := p.state(); held != 1 || slotsHeld(l) != 1 {
		t.Fatalf("after Reserve: %d shared and %d local slots held, want 1 and 1", held, slotsHeld(l))
	}
	c.Release()
	c.Release()
	if held, _ := p.state(); held != 0 || slotsHeld(l) != 0 {
		t.Fatalf("after Release: %d shared and %d local slots held", held, slotsHeld(l))
	}
	c.Reserve()
	if err := get(t, c); err != nil {
		t.Fatal(err)
	}
	if held, _ := p.state(); held != 0 || len(p.accounts) != 4 {
		t.Fatalf("the reserved request: %d shared slots held after it, %d takes; want 0 and 4", held, len(p.accounts))
	}
}

// A shared pace that cannot be read fails the request, holding nothing;
// Reserve lets the request go on to meet the error itself.
func TestSharedPaceError(t *testing.T) {
	t.Parallel()
	down := errors.New("database is down")
	_, l, c, _ := sharedSetup(t, paceAnswer{err: down}, paceAnswer{err: down})
	if ok, retryIn := c.Reserve(); !ok || retryIn != 0 || slotsHeld(l) != 0 {
		t.Fatalf("Reserve with the shared pace down = %v, %s, %d local slots; want true, 0, 0", ok, retryIn, slotsHeld(l))
	}
	_, err := c.Do(context.Background(), http.MethodGet, "Users/Me", nil, nil)
	if !errors.Is(err, ErrSharedPace) || !errors.Is(err, down) || slotsHeld(l) != 0 {
		t.Fatalf("request with the shared pace down: %v, %d local slots held", err, slotsHeld(l))
	}
	if e := (*element.Error)(nil); !errors.As(hubError(err), &e) || e.Status != http.StatusServiceUnavailable {
		t.Fatalf("the hub answers %v, want a 503", hubError(err))
	}
}

// Share reaches the limiters already handed out, each with its account.
func TestShareReachesEveryLimiter(t *testing.T) {
	t.Parallel()
	limits := NewLimits(1000, 1)
	before := limits.For("early")
	p := &fakePace{l: before}
	limits.Share(p)
	after := limits.For("late")
	for _, l := range []*Limiter{before, after} {
		ls, err := l.acquire(context.Background(), sleepCtx)
		if err != nil {
			t.Fatal(err)
		}
		ls.release()
	}
	if len(p.accounts) != 2 || p.accounts[0] != "early" || p.accounts[1] != "late" {
		t.Fatalf("shared takes for %v, want [early late]", p.accounts)
	}
}
