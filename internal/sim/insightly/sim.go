// Package insightly is a simulator of the Insightly CRM REST API v3.1, a
// real HTTP server for pollhook's tests, benchmarks and demo. It plays the
// parts of Insightly that make change detection hard: offset paging in ID
// order, a second-precision exclusive updated_after_utc, per-second and
// daily rate limits, a clock that is not ours, late-visible writes, records
// deleted while a client pages. Every write goes to a journal that tests
// read as the truth.
//
// The simulator is a test and demo dependency: production code never
// imports it.
package insightly

import (
	"cmp"
	"fmt"
	"math/rand/v2"
	"net/http"
	"sync"
	"time"
)

// Defaults for Config.
const (
	RateLimitDefault    = 10.0 // requests per second per account (spec §10)
	UsersDefault        = 3
	PlanDefault         = "Professional"
	JournalLimitDefault = 200_000
)

// Config sets up a simulator. The zero value is a valid, realistic
// Insightly with one empty account.
type Config struct {
	// Seed makes generated data, IDs, keys and churn reproducible.
	Seed uint64
	// Records is how many records each core object (Contacts,
	// Organisations, Leads, Opportunities) starts with; the other objects
	// get fewer.
	Records int
	// Accounts is the number of Insightly accounts (instances); default 1.
	Accounts int
	// Users per account; default 3. Each has its own API key.
	Users int
	// Plan of every account: Gratis, Plus, Professional (default) or
	// Enterprise. It sets the daily quota and the gated objects.
	Plan string

	// Now is the upstream clock: record timestamps, the Date header and the
	// daily quota follow it. Default time.Now.
	Now func() time.Time
	// ClockOffset is added to Now, to play an upstream whose clock differs
	// from ours. SetClockOffset changes it at run time.
	ClockOffset time.Duration
	// WallNow paces the per-second limiter, which is about real request
	// rates even when Now is a manual clock. Default time.Now.
	WallNow func() time.Time

	// RateLimit is the per-second token bucket refill rate per account;
	// default 10, negative disables the limiter.
	RateLimit float64
	// Burst is the bucket size; default the rate rounded up.
	Burst int
	// MaxConcurrent answers 429 past this many requests in flight per
	// account (Insightly "seems to 429 on both concurrency and frequency");
	// 0 means no limit.
	MaxConcurrent int
	// DailyQuota is the number of requests per UTC day per account; 0 means
	// the plan's quota, negative disables it.
	DailyQuota int

	// ListHonorsUpdatedAfter makes plain GET /{Object} filter on
	// updated_after_utc; by default it is ignored there, as the swagger
	// documents it only on /Search (spec §5, an open question upstream).
	ListHonorsUpdatedAfter bool
	// StrictTop answers 400 to top > 500 instead of capping it.
	StrictTop bool

	// JournalLimit bounds the journal; the oldest entries go first.
	JournalLimit int
	// ControlToken, when set, is required as a Bearer token on /_sim/.
	ControlToken string
}

// Sim is a running simulator. All methods are safe for concurrent use.
type Sim struct {
	cfg Config

	mu       sync.Mutex
	accounts []*account
	keys     map[string]keyOwner
	journal  []Change
	seq      int64
	offset   time.Duration
	rng      *rand.Rand // IDs, faults and late writes
	churn    *generator // the background mutator's own stream
	pinned   time.Time  // when set, the clock stands still (same-second edits)
	faults   faults
}

type keyOwner struct {
	acct *account
	user *user
}

// New builds a simulator with its accounts and seeded records.
func New(cfg Config) *Sim {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.WallNow == nil {
		cfg.WallNow = time.Now
	}
	cfg.Accounts = max(cfg.Accounts, 1)
	cfg.Users = cmp.Or(cfg.Users, UsersDefault)
	cfg.Plan = cmp.Or(cfg.Plan, PlanDefault)
	if _, ok := plans[cfg.Plan]; !ok {
		panic(fmt.Sprintf("insightly sim: unknown plan %q (known: %v)", cfg.Plan, PlanNames()))
	}
	cfg.RateLimit = cmp.Or(cfg.RateLimit, RateLimitDefault)
	cfg.JournalLimit = cmp.Or(cfg.JournalLimit, JournalLimitDefault)
	s := &Sim{
		cfg:    cfg,
		keys:   map[string]keyOwner{},
		offset: cfg.ClockOffset,
		rng:    rand.New(rand.NewPCG(cfg.Seed, 0x5eed)),
	}
	gen := newGenerator(cfg.Seed, s.now())
	for i := range cfg.Accounts {
		s.accounts = append(s.accounts, s.newAccount(gen, i))
	}
	return s
}

// Now is the simulator's clock, offset included.
func (s *Sim) Now() time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.now()
}

func (s *Sim) now() time.Time {
	if !s.pinned.IsZero() {
		return s.pinned
	}
	return s.cfg.Now().Add(s.offset)
}

// SetClockOffset makes the upstream clock run d ahead of (or behind,
// negative) Config.Now.
func (s *Sim) SetClockOffset(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.offset = d
}

// Handler serves the API under /v3.1/ and the control endpoints under /_sim/.
func (s *Sim) Handler() http.Handler { return s }

// AccountInfo describes one simulated account for tests and the CLI.
type AccountInfo struct {
	ID        int64
	Name      string
	Subdomain string
	Plan      string
	// Keys are the API keys of the account's users, owner first.
	Keys    []string
	UserIDs []int64
}

// Accounts lists the accounts, in creation order.
func (s *Sim) Accounts() []AccountInfo {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]AccountInfo, 0, len(s.accounts))
	for _, a := range s.accounts {
		info := AccountInfo{ID: a.id, Name: a.name, Subdomain: a.subdomain, Plan: a.plan}
		for _, u := range a.users {
			info.Keys = append(info.Keys, u.keys...)
			info.UserIDs = append(info.UserIDs, u.id)
		}
		out = append(out, info)
	}
	return out
}

// APIKey is the first account owner's key: what a single-account test needs.
func (s *Sim) APIKey() string { return s.Accounts()[0].Keys[0] }

// AddKey gives an existing key's user one more API key (Insightly lets a
// user reset theirs; tests use it to hold several keys for one user).
func (s *Sim) AddKey(existing, key string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	o, ok := s.keys[existing]
	if !ok {
		return fmt.Errorf("insightly sim: unknown key")
	}
	if _, taken := s.keys[key]; taken || key == "" {
		return fmt.Errorf("insightly sim: key unusable")
	}
	o.user.keys = append(o.user.keys, key)
	s.keys[key] = o
	return nil
}

// RevokeKey makes a key fail with 401 from now on, as when an
// administrator turns off a user's API access or the user resets the key.
func (s *Sim) RevokeKey(key string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.keys, key)
}
