package insightly

import (
	"cmp"
	"context"
	"errors"
	"fmt"
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

// SharedPace is an account's pace shared with the other replicas of
// pollhook (on PostgreSQL, through the database they share): Insightly
// counts per account, whichever process sends.
type SharedPace interface {
	// Take takes a token and an in-flight slot of the account, or nothing;
	// then wait says how long until a token frees, or is 0 when the slots
	// are all taken. release gives the slot back; the token is spent.
	Take(ctx context.Context, account string) (release func(), wait time.Duration, ok bool, err error)
}

// ErrSharedPace wraps a failure to read or take the shared pace: the
// request fails rather than go out unpaced, and its poll is retried.
var ErrSharedPace = errors.New("insightly: the pace shared with the other replicas")

const (
	// sharedPoll is how often a request waiting for a shared slot asks
	// again: when one frees depends on other replicas' requests.
	sharedPoll = 50 * time.Millisecond
	// sharedTimeout bounds each take of the shared pace, so that a
	// database that hangs does not hold a request forever.
	sharedTimeout = 10 * time.Second
)

// A Limiter paces the requests to one Insightly account: every client of
// that account must share it, since Insightly counts per account, not per
// key. It is a token bucket plus a cap on requests in flight, and it
// remembers what Insightly said: a 429 pauses everyone until its
// Retry-After, and a spent daily quota fails calls at once, without
// spending requests, until the reset. With a SharedPace, each request
// also takes its turn there, after the local one: the local pace keeps
// the process from asking the database more often than the account
// allows, the shared one holds across replicas.
type Limiter struct {
	now   func() time.Time
	rate  float64
	burst float64
	slots chan struct{}

	mu          sync.Mutex
	account     string     // the key Limits knows it by, for the shared pace
	shared      SharedPace // nil: this process alone paces the account
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

// A lease is one request's hold on its account: a local slot, and the
// shared slot when replicas share the pace.
type lease struct {
	l      *Limiter
	shared func() // gives the shared slot back; nil when not shared
}

// release gives the slots back once the request is done; its tokens are
// spent. The shared slot goes first: a local request waiting for the
// local slot would otherwise find the shared one still taken.
func (ls *lease) release() {
	if ls.shared != nil {
		ls.shared()
	}
	ls.l.releaseLocal()
}

// unreserve gives back a lease no request used: its slots and its local
// token. The shared token stays spent: the database's pace only errs
// slow.
func (ls *lease) unreserve() {
	if ls.shared != nil {
		ls.shared()
	}
	ls.l.unreserveLocal()
}

// acquire waits for a token and a slot, here and then in the shared pace
// if any. While the shared pace refuses, the request holds nothing
// locally: it gives back its token and slot and waits before asking
// again. It fails at once with a *QuotaError while the quota is known to
// be spent, and with ErrSharedPace when the shared pace cannot be read.
func (l *Limiter) acquire(ctx context.Context, sleep func(context.Context, time.Duration) error) (*lease, error) {
	for {
		if err := l.acquireLocal(ctx, sleep); err != nil {
			return nil, err
		}
		shared := l.sharedPace()
		if shared == nil {
			return &lease{l: l}, nil
		}
		release, wait, ok, err := l.takeShared(ctx, shared)
		if ok {
			return &lease{l: l, shared: release}, nil
		}
		l.unreserveLocal()
		if err != nil {
			// A request that ends meanwhile says so, as it would waiting.
			return nil, cmp.Or(ctx.Err(), err)
		}
		if err := sleep(ctx, cmp.Or(wait, sharedPoll)); err != nil {
			return nil, err
		}
	}
}

// sharedPace is the shared pace, nil when this process alone paces.
func (l *Limiter) sharedPace() SharedPace {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.shared
}

// takeShared takes the account's turn in the shared pace, within
// sharedTimeout.
func (l *Limiter) takeShared(ctx context.Context, p SharedPace) (release func(), wait time.Duration, ok bool, err error) {
	ctx, cancel := context.WithTimeout(ctx, sharedTimeout)
	defer cancel()
	release, wait, ok, err = p.Take(ctx, l.account)
	if err != nil {
		return nil, 0, false, fmt.Errorf("%w: %w", ErrSharedPace, err)
	}
	return release, wait, ok, nil
}

// acquireLocal waits for a token and a slot of this process.
func (l *Limiter) acquireLocal(ctx context.Context, sleep func(context.Context, time.Duration) error) error {
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

func (l *Limiter) releaseLocal() { <-l.slots }

// tryAcquire is acquire without waiting: it takes a token and a slot, here
// and in the shared pace if any, if they are free now. Otherwise it takes
// nothing and says how long until a token, or a 429's pause, allows a
// request (0 when it is the slots that are taken: when one frees depends
// on the upstream). While the daily quota is spent, or when the shared
// pace cannot be read, it takes nothing and reports ok: the request goes
// on to acquire its turn itself and fails there, without waiting, and its
// caller learns why.
func (l *Limiter) tryAcquire() (ls *lease, ok bool, retryIn time.Duration) {
	held, ok, retryIn := l.tryLocal()
	if !held {
		return nil, ok, retryIn
	}
	shared := l.sharedPace()
	if shared == nil {
		return &lease{l: l}, true, 0
	}
	release, wait, ok, err := l.takeShared(context.Background(), shared)
	if ok {
		return &lease{l: l, shared: release}, true, 0
	}
	l.unreserveLocal()
	return nil, err != nil, wait
}

// tryLocal takes a token and a slot of this process if both are free now
// (see tryAcquire).
func (l *Limiter) tryLocal() (held, ok bool, retryIn time.Duration) {
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

// unreserveLocal gives back a local slot and token taken for a request
// that was never sent.
func (l *Limiter) unreserveLocal() {
	l.mu.Lock()
	l.tokens = min(l.burst, l.tokens+1)
	l.mu.Unlock()
	l.releaseLocal()
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

	mu     sync.Mutex
	m      map[string]*Limiter
	shared SharedPace // given to every limiter; nil when not shared
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
		l.account, l.shared = account, ls.shared
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

// Share makes every account's requests take their turn in p too, for the
// limiters already handed out and those to come: replicas sharing p hold
// one pace and one in-flight cap per account between them.
func (ls *Limits) Share(p SharedPace) {
	ls.mu.Lock()
	defer ls.mu.Unlock()
	ls.shared = p
	for _, l := range ls.m {
		l.mu.Lock()
		l.shared = p
		l.mu.Unlock()
	}
}
