package session

import (
	"fmt"
	"strings"
	"sync"
	"time"
)

// Default sign-in limits. In any 15 minutes: 10 tries per client address
// (over all accounts), and 5 per account from one client address (or one
// trusted device). Across all addresses, an account takes a burst of 20
// tries from untrusted clients and then one more every 30 seconds
// (about 120 an hour): slow enough for guessing to be hopeless, fast
// enough that a flood of failures delays its owner by seconds, and not
// at all from a device with a device cookie.
const (
	DefaultPerAddress   = 10
	DefaultPerPair      = 5
	DefaultWindow       = 15 * time.Minute
	DefaultAccountBurst = 20
	DefaultAccountEvery = 30 * time.Second
)

// ThrottledError says a sign-in was refused because too many were tried
// from the same address, for the same account from the same address or
// device, or for the same account from untrusted clients; RetryAfter is
// when a try will be allowed again (suitable for a Retry-After header).
type ThrottledError struct{ RetryAfter time.Duration }

func (e *ThrottledError) Error() string {
	return fmt.Sprintf("too many sign-in attempts: try again in %s", e.RetryAfter.Round(time.Second))
}

// Throttle limits sign-in tries with three budgets:
//
//   - per client address, over all accounts (a sliding window): stops one
//     address trying many accounts;
//   - per account and client address, or per account and trusted device
//     (a sliding window): stops one client guessing one account, and
//     bounds a stolen device cookie too (a trusted device's tries at its
//     own account count against this budget alone, not its address's,
//     so that others behind the same address cannot hold it back);
//   - per account over all untrusted clients (a token bucket): slows a
//     guesser who spreads over many addresses. A client with a valid
//     device cookie for the account is exempt, so however many failures
//     others cause, the account's owner still gets in from a device they
//     signed in on before.
//
// No budget locks an account (a lockout would be a denial of service):
// each refills with time, and others' failures never count against a
// trusted device. (The per-address budget is shared by everyone behind
// one address, such as a NAT; it holds back that address's untrusted
// clients only, never the account.)
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
	PerAddress   int           // tries per client address per Window (0: DefaultPerAddress)
	PerPair      int           // tries per account from one address or trusted device per Window (0: DefaultPerPair)
	Window       time.Duration // 0: DefaultWindow
	AccountBurst int           // account-wide tries from untrusted clients at once (0: DefaultAccountBurst)
	AccountEvery time.Duration // and then one more per AccountEvery (0: DefaultAccountEvery)

	mu    sync.Mutex
	tries map[string][]time.Time // sliding windows: address and pair keys
	// full is each account's bucket as the time it will be full again
	// (a "theoretical arrival time"): a try is allowed while that is at
	// most AccountBurst×AccountEvery ahead, and moves it AccountEvery on.
	full  map[string]time.Time
	swept time.Time
}

// NewThrottle returns a Throttle with the default limits.
func NewThrottle() *Throttle { return &Throttle{} }

type limits struct {
	perAddr, perPair, burst int
	window, every           time.Duration
}

func (t *Throttle) config() limits {
	pos := func(v, def int) int {
		if v <= 0 {
			return def
		}
		return v
	}
	posD := func(v, def time.Duration) time.Duration {
		if v <= 0 {
			return def
		}
		return v
	}
	return limits{
		perAddr: pos(t.PerAddress, DefaultPerAddress),
		perPair: pos(t.PerPair, DefaultPerPair),
		burst:   pos(t.AccountBurst, DefaultAccountBurst),
		window:  posD(t.Window, DefaultWindow),
		every:   posD(t.AccountEvery, DefaultAccountEvery),
	}
}

func account(email string) string { return strings.ToLower(strings.TrimSpace(email)) }

// begin counts a try from client for email at now, or refuses it with a
// *ThrottledError. device is the id of a valid device cookie for this
// account, or "" for an untrusted client. A counted try that succeeds is
// taken back by calling refund.
func (t *Throttle) begin(now time.Time, client, email, device string) (refund func(), err error) {
	c := t.config()
	acct := account(email)
	// A NUL cannot occur in an address, an e-mail or a device id.
	type budget struct {
		key   string
		limit int
	}
	windows := []budget{{"a:" + client, c.perAddr}, {"p:" + acct + "\x00a:" + client, c.perPair}}
	if device != "" {
		// A trusted device answers for its own tries at its account only:
		// what others behind its address (a NAT) spend does not hold it.
		windows = []budget{{"p:" + acct + "\x00d:" + device, c.perPair}}
	}

	t.mu.Lock()
	defer t.mu.Unlock()
	if t.tries == nil {
		t.tries, t.full = map[string][]time.Time{}, map[string]time.Time{}
	}
	t.sweep(now, c.window)
	var wait time.Duration
	for _, w := range windows {
		ts := recent(t.tries[w.key], now, c.window)
		t.tries[w.key] = ts
		if len(ts) >= w.limit {
			// The try that frees a place is the len-limit'th oldest.
			wait = max(wait, ts[len(ts)-w.limit].Add(c.window).Sub(now))
		}
	}
	untrusted := device == ""
	next := now.Add(c.every)
	if f := t.full[acct]; f.After(now) {
		next = f.Add(c.every)
	}
	if untrusted {
		wait = max(wait, next.Sub(now)-time.Duration(c.burst)*c.every)
	}
	if wait > 0 {
		return nil, &ThrottledError{RetryAfter: wait}
	}
	for _, w := range windows {
		t.tries[w.key] = append(t.tries[w.key], now)
	}
	if untrusted {
		t.full[acct] = next
	}
	return func() {
		t.mu.Lock()
		defer t.mu.Unlock()
		for _, w := range windows {
			ts := t.tries[w.key]
			for i := len(ts) - 1; i >= 0; i-- {
				if ts[i].Equal(now) {
					t.tries[w.key] = append(ts[:i:i], ts[i+1:]...)
					break
				}
			}
		}
		if f, ok := t.full[acct]; untrusted && ok {
			t.full[acct] = f.Add(-c.every)
		}
	}, nil
}

// recent drops the tries that have left the window.
func recent(ts []time.Time, now time.Time, window time.Duration) []time.Time {
	i := 0
	for i < len(ts) && !ts[i].After(now.Add(-window)) {
		i++
	}
	return ts[i:]
}

// sweep forgets keys with no recent tries and accounts whose bucket is
// full, once per window, so that the maps do not grow with every address
// and account ever seen.
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
	for k, f := range t.full {
		if !f.After(now) {
			delete(t.full, k)
		}
	}
}
