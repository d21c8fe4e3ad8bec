// Package fair shares a process's job workers between organizations.
// Two things keep one organization from holding them all (a slow upstream
// answering in tens of seconds would otherwise stall everyone's polling):
//
//   - a poll whose upstream account has no request slot free gives its
//     worker back before its run starts, instead of queueing behind the
//     account's requests in flight (element.Gate, used by the poller);
//   - an organization runs at most a cap of jobs of each kind (polls,
//     deliveries) at once in this process; one more gives its worker back
//     (Orgs, used by the poll job and the delivery pipeline).
//
// Neither waits: a job that cannot go on snoozes for a moment, jittered
// so that the deferred jobs of one organization do not come back in step.
package fair

import (
	"math/rand/v2"
	"sync"
	"time"
)

// Kind is a kind of job counted apart by the per-organization cap.
type Kind string

// The kinds of job the cap counts.
const (
	Poll    Kind = "poll"
	Deliver Kind = "deliver"
)

// Deferral delays: short, since the job is due, and jittered.
const (
	// AccountBusyDelay (+ up to AccountBusyJitter) is how long a poll
	// waits whose account had no request slot free; longer if the
	// account's limiter says so (a 429's Retry-After).
	AccountBusyDelay  = time.Second
	AccountBusyJitter = 2 * time.Second
	// OrgCapDelay (+ up to OrgCapJitter) is how long a job waits whose
	// organization runs its cap of jobs of its kind.
	OrgCapDelay  = time.Second
	OrgCapJitter = time.Second
)

// Jittered is base plus up to spread, at random.
func Jittered(base, spread time.Duration) time.Duration {
	return base + rand.N(spread+1)
}

// OrgMaxDefault is the default cap on the jobs of one kind one
// organization runs at once in a process: half of its workers, so that
// one organization whose upstream or receiver is slow always leaves the
// other half to everyone else.
func OrgMaxDefault(workers int) int { return max(1, workers/2) }

// Orgs counts the jobs each organization runs in this process, by kind,
// and refuses one more than the cap. The cap is per process: with R
// replicas an organization may run up to R × the cap of each kind.
type Orgs struct {
	max int

	mu      sync.Mutex
	running map[orgKind]int
}

type orgKind struct {
	org  int64
	kind Kind
}

// NewOrgs caps each organization at max jobs of each kind.
func NewOrgs(max int) *Orgs {
	return &Orgs{max: max, running: map[orgKind]int{}}
}

// TryAcquire counts one more job of kind for org, if the organization is
// under its cap, and returns the func that uncounts it (safe to call more
// than once).
func (o *Orgs) TryAcquire(org int64, kind Kind) (release func(), ok bool) {
	k := orgKind{org, kind}
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.running[k] >= o.max {
		return nil, false
	}
	o.running[k]++
	var once sync.Once
	return func() {
		once.Do(func() {
			o.mu.Lock()
			defer o.mu.Unlock()
			if o.running[k]--; o.running[k] <= 0 {
				delete(o.running, k)
			}
		})
	}, true
}

// Count is how many jobs of kind org runs now.
func (o *Orgs) Count(org int64, kind Kind) int {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.running[orgKind{org, kind}]
}
