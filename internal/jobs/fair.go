package jobs

import (
	"math/rand/v2"
	"sync"
	"time"
)

// Every organization shares the process's workers. Two things keep one
// of them from holding them all (a slow upstream answering in tens of
// seconds would otherwise stall everyone's polling):
//
//   - a poll whose upstream account has no request slot free gives its
//     worker back before its run starts, instead of queueing behind the
//     account's requests in flight (element.Gate);
//   - an organization runs at most Config.OrgMaxJobs jobs of each kind
//     (polls, deliveries) at once in this process; one more snoozes.
//
// Neither waits: a job that cannot go on snoozes for a moment, jittered
// so that the deferred jobs of one organization do not come back in step.

// Job kinds counted apart by the per-organization cap.
const (
	kindPoll    = "poll"
	kindDeliver = "deliver"
)

// Deferral delays: short, since the job is due, and jittered.
const (
	// accountBusyDelay (+ up to accountBusyJitter) is how long a poll
	// waits whose account had no request slot free; longer if the
	// account's limiter says so (a 429's Retry-After).
	accountBusyDelay  = time.Second
	accountBusyJitter = 2 * time.Second
	// orgCapDelay (+ up to orgCapJitter) is how long a job waits whose
	// organization runs its cap of jobs of its kind.
	orgCapDelay  = time.Second
	orgCapJitter = time.Second
)

func jittered(base, spread time.Duration) time.Duration {
	return base + rand.N(spread+1)
}

// orgJobs counts the jobs each organization runs in this process, by
// kind, and refuses one more than the cap.
type orgJobs struct {
	max int

	mu      sync.Mutex
	running map[orgKind]int
}

type orgKind struct {
	org  int64
	kind string
}

func newOrgJobs(max int) *orgJobs {
	return &orgJobs{max: max, running: map[orgKind]int{}}
}

// tryAcquire counts one more job of kind for org, if the organization is
// under its cap, and returns the func that uncounts it (safe to call more
// than once).
func (o *orgJobs) tryAcquire(org int64, kind string) (release func(), ok bool) {
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

// count is how many jobs of kind org runs now.
func (o *orgJobs) count(org int64, kind string) int {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.running[orgKind{org, kind}]
}
