package session

import (
	"fmt"
	"strings"
	"sync"
	"time"
)

// Default sign-in limits: 10 tries per client address and 5 per account
// (e-mail address) in any 15 minutes.
const (
	DefaultPerAddress = 10
	DefaultPerAccount = 5
	DefaultWindow     = 15 * time.Minute
)

// ThrottledError says a sign-in was refused because too many were tried
// from the same address or for the same account; RetryAfter is when the
// oldest counted try leaves the window (suitable for a Retry-After
// header).
type ThrottledError struct{ RetryAfter time.Duration }

func (e *ThrottledError) Error() string {
	return fmt.Sprintf("too many sign-in attempts: try again in %s", e.RetryAfter.Round(time.Second))
}

// Throttle limits sign-in tries with a sliding window per client address
// and per account. It never locks an account: once the window has moved
// on, the right password works again, so an attacker cannot lock a user
// out for longer than the window.
//
// The counts live in this process only. With R replicas behind a load
// balancer an attacker gets up to R times the rate; the limits are set so
// that even that leaves guessing a reasonable password hopeless, and
// bcrypt's cost bounds the rest.
//
// A try counts from the moment it starts (so parallel tries cannot slip
// past the limit), and a successful one is taken back: signing in
// correctly uses up nothing.
type Throttle struct {
	PerAddress int           // tries per client address per Window (0: DefaultPerAddress)
	PerAccount int           // tries per e-mail address per Window (0: DefaultPerAccount)
	Window     time.Duration // 0: DefaultWindow

	mu    sync.Mutex
	tries map[string][]time.Time
	swept time.Time
}

// NewThrottle returns a Throttle with the default limits.
func NewThrottle() *Throttle { return &Throttle{} }

func (t *Throttle) config() (perAddr, perAcct int, window time.Duration) {
	perAddr, perAcct, window = t.PerAddress, t.PerAccount, t.Window
	if perAddr <= 0 {
		perAddr = DefaultPerAddress
	}
	if perAcct <= 0 {
		perAcct = DefaultPerAccount
	}
	if window <= 0 {
		window = DefaultWindow
	}
	return
}

func addrKey(client string) string { return "a:" + client }
func acctKey(email string) string  { return "e:" + strings.ToLower(strings.TrimSpace(email)) }

// begin counts a try from client for email at now, or refuses it with a
// *ThrottledError. A counted try must be ended with done.
func (t *Throttle) begin(now time.Time, client, email string) error {
	perAddr, perAcct, window := t.config()
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.tries == nil {
		t.tries = map[string][]time.Time{}
	}
	t.sweep(now, window)
	var wait time.Duration
	for _, k := range []struct {
		key   string
		limit int
	}{{addrKey(client), perAddr}, {acctKey(email), perAcct}} {
		ts := recent(t.tries[k.key], now, window)
		t.tries[k.key] = ts
		if len(ts) >= k.limit {
			// The try that frees a place is the len-limit'th oldest.
			wait = max(wait, ts[len(ts)-k.limit].Add(window).Sub(now))
		}
	}
	if wait > 0 {
		return &ThrottledError{RetryAfter: wait}
	}
	t.tries[addrKey(client)] = append(t.tries[addrKey(client)], now)
	t.tries[acctKey(email)] = append(t.tries[acctKey(email)], now)
	return nil
}

// succeeded takes back the try begun at now: a right password costs no
// budget.
func (t *Throttle) succeeded(now time.Time, client, email string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, key := range []string{addrKey(client), acctKey(email)} {
		ts := t.tries[key]
		for i := len(ts) - 1; i >= 0; i-- {
			if ts[i].Equal(now) {
				t.tries[key] = append(ts[:i:i], ts[i+1:]...)
				break
			}
		}
	}
}

// recent drops the tries that have left the window.
func recent(ts []time.Time, now time.Time, window time.Duration) []time.Time {
	i := 0
	for i < len(ts) && !ts[i].After(now.Add(-window)) {
		i++
	}
	return ts[i:]
}

// sweep forgets keys with no recent tries, once per window, so that the
// map does not grow with every address ever seen.
func (t *Throttle) sweep(now time.Time, window time.Duration) {
	if now.Sub(t.swept) < window {
		return
	}
	t.swept = now
	for k, ts := range t.tries {
		if ts = recent(ts, now, window); len(ts) == 0 {
			delete(t.tries, k)
		} else {
			t.tries[k] = ts
		}
	}
}
