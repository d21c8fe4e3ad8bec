package insightly

import (
	"context"
	"sync"
	"time"
)

// Rate limits for one Insightly account. Insightly documents 10 requests per
// second, but clients see 429s above about 5 per second and on concurrency
// (spec §10), so the defaults stay under both.
const (
	RateDefault     = 5.0 // requests per second
	InFlightDefault = 4   // requests at once
)

// A Limiter paces the requests to one Insightly account: every client of
// that account must share it, since Insightly counts per account, not per
// key. It is a token bucket plus a cap on requests in flight, and it
// remembers what Insightly said: a 429 pauses everyone until its
// Retry-After, and a spent daily quota fails calls at once, without
// spending requests, until the reset.
type Limiter struct {
	now   func() time.Time
	rate  float64
	burst float64
	slots chan struct{}

	mu          sync.Mutex
	tokens      float64
	last        time.Time
	pausedUntil time.Time
	quotaReset  time.Time // exhausted until then
	quotaLimit  int
	remaining   int           // last X-RateLimit-Remaining seen; -1 unknown
	offset      time.Duration // the upstream's clock less ours when it stated remaining
}

// NewLimiter paces requests at rate per second with at most inFlight at
// once; zero values take the defaults.
func NewLimiter(rate float64, inFlight int) *Limiter {
	if rate <= 0 {
		rate = RateDefault
	}
	if inFlight <= 0 {
		inFlight = InFlightDefault
	}
	return &Limiter{now: time.Now, rate: rate, burst: max(1, rate), tokens: max(1, rate),
		slots: make(chan struct{}, inFlight), remaining: -1}
}

// acquire waits for a token and a slot. It fails at once with a
// *QuotaError while the quota is known to be spent.
func (l *Limiter) acquire(ctx context.Context, sleep func(context.Context, time.Duration) error) error {
	for {
		l.mu.Lock()
		now := l.now()
		if now.Before(l.quotaReset) {
			err := &QuotaError{Limit: l.quotaLimit, Reset: l.quotaReset}
			l.mu.Unlock()
			return err
		}
		if !l.last.IsZero() {
			l.tokens = min(l.burst, l.tokens+now.Sub(l.last).Seconds()*l.rate)
		}
		l.last = now
		wait := l.pausedUntil.Sub(now)
		if wait <= 0 && l.tokens < 1 {
			wait = time.Duration((1 - l.tokens) / l.rate * float64(time.Second))
		}
		if wait <= 0 {
			l.tokens--
			l.mu.Unlock()
			break
		}
		l.mu.Unlock()
		if err := sleep(ctx, wait); err != nil {
			return err
		}
	}
	select {
	case l.slots <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (l *Limiter) release() { <-l.slots }

// tryAcquire is acquire without waiting: it takes a token and a slot if
// both are free now. Otherwise it takes nothing and says how long until a
// token, or a 429's pause, allows a request (0 when it is the slots that
// are taken: when one frees depends on the upstream). While the daily
// quota is spent it takes nothing and reports ok: the request fails at
// once, without waiting, and its caller learns why.
func (l *Limiter) tryAcquire() (held, ok bool, retryIn time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	if now.Before(l.quotaReset) {
		return false, true, 0
	}
	if !l.last.IsZero() {
		l.tokens = min(l.burst, l.tokens+now.Sub(l.last).Seconds()*l.rate)
	}
	l.last = now
	if wait := l.pausedUntil.Sub(now); wait > 0 {
		return false, false, wait
	}
	if l.tokens < 1 {
		return false, false, time.Duration((1 - l.tokens) / l.rate * float64(time.Second))
	}
	select {
	case l.slots <- struct{}{}:
	default:
		return false, false, 0
	}
	l.tokens--
	return true, true, 0
}

// unreserve gives back a slot and a token that tryAcquire took for a
// request that was never sent.
func (l *Limiter) unreserve() {
	l.mu.Lock()
	l.tokens = min(l.burst, l.tokens+1)
	l.mu.Unlock()
	l.release()
}

// pause holds every request of the account until t (a 429's Retry-After).
func (l *Limiter) pause(t time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if t.After(l.pausedUntil) {
		l.pausedUntil = t
	}
}

// observe records the rate-limit headers of a response, and its Date
// less our clock (offset).
func (l *Limiter) observe(limit, remaining int, offset time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if limit > 0 {
		l.quotaLimit = limit
	}
	if remaining >= 0 {
		l.remaining, l.offset = remaining, offset
	}
}

// Exhaust marks the daily quota spent until reset. The client calls it on
// a quota 429; replicas that share quota state call it with what another
// process learned.
func (l *Limiter) Exhaust(limit int, reset time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if limit > 0 {
		l.quotaLimit = limit
	}
	if reset.After(l.quotaReset) {
		l.quotaReset = reset
	}
	l.remaining = 0
}

// Quota is what the limiter knows of the daily quota.
type Quota struct {
	Limit     int       // 0 if unknown
	Remaining int       // -1 if unknown
	Reset     time.Time // set while exhausted
	// Offset is the upstream's clock less ours when it stated Remaining.
	Offset time.Duration
}

// Quota reports the last known quota state.
func (l *Limiter) Quota() Quota {
	l.mu.Lock()
	defer l.mu.Unlock()
	q := Quota{Limit: l.quotaLimit, Remaining: l.remaining, Offset: l.offset}
	if l.now().Before(l.quotaReset) {
		q.Reset = l.quotaReset
	}
	return q
}

// Limits hands out one Limiter per Insightly account, so that every
// instance connected to the same account shares its pace.
type Limits struct {
	rate     float64
	inFlight int
	now      func() time.Time

	mu sync.Mutex
	m  map[string]*Limiter
}

// NewLimits makes a registry whose limiters use rate and inFlight (zero: defaults).
func NewLimits(rate float64, inFlight int) *Limits {
	return &Limits{rate: rate, inFlight: inFlight, m: map[string]*Limiter{}}
}

// For returns the account's limiter, creating it on first use.
func (ls *Limits) For(account string) *Limiter {
	ls.mu.Lock()
	defer ls.mu.Unlock()
	l := ls.m[account]
	if l == nil {
		l = NewLimiter(ls.rate, ls.inFlight)
		if ls.now != nil {
			l.now = ls.now
		}
		ls.m[account] = l
	}
	return l
}

// SetClock makes the limiters created from now on pace by now; tests
// that run on a manual clock use it with a matching Sleep.
func (ls *Limits) SetClock(now func() time.Time) {
	ls.mu.Lock()
	defer ls.mu.Unlock()
	ls.now = now
}
