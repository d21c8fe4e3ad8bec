package insightly

import (
	"math/rand/v2"
	"strings"
	"time"
)

// faults is what the simulator is told to get wrong. Zero means healthy.
type faults struct {
	failNext    int     // the next N API requests fail with failStatus
	failStatus  int     //
	failRate    float64 // and then each request fails with this probability
	latency     time.Duration
	malformed   int            // the next N list pages are a 200 with a non-array body
	deletePages map[string]int // lower-cased object → full pages after which a record on the page is deleted
	lateRate    float64        // share of writes that become visible only lateDelay later
	lateDelay   time.Duration
	lateNext    int // the next N writes become visible lateNextDelay later
	lateNextDel time.Duration
	noRetryHint bool            // 429s carry no Retry-After
	forbidden   map[string]bool // lower-cased object → 403, as if the user lost access
}

// Faults describes fault injection, for SetFaults and POST /_sim/faults.
// Durations are Go duration strings in JSON ("250ms", "5s").
type Faults struct {
	// FailNext makes the next FailNext API requests answer FailStatus
	// (default 503): a burst of upstream errors.
	FailNext   int `json:"failNext,omitempty"`
	FailStatus int `json:"failStatus,omitempty"`
	// FailureRate makes each request fail with FailStatus with this probability.
	FailureRate float64 `json:"failureRate,omitempty"`
	// Latency delays every API response.
	Latency Duration `json:"latency,omitempty"`
	// MalformedNext makes the next N list or search responses a 200 whose
	// body is a JSON object, not an array.
	MalformedNext int `json:"malformedNext,omitempty"`
	// DeleteBetweenPages deletes, after each of the next N full pages read
	// of an object, the first record of that page, so that the records
	// after it shift left by one before the next page is read.
	DeleteBetweenPages map[string]int `json:"deleteBetweenPages,omitempty"`
	// LateWrites makes this share of writes visible to reads only
	// LateDelay after they happen, with the DATE_UPDATED_UTC of when they
	// happened: an index that lags.
	LateWrites float64  `json:"lateWrites,omitempty"`
	LateDelay  Duration `json:"lateDelay,omitempty"`
	// LateNext makes the next N writes late by LateNextDelay.
	LateNext      int      `json:"lateNext,omitempty"`
	LateNextDelay Duration `json:"lateNextDelay,omitempty"`
	// OmitRetryAfter leaves Retry-After out of 429 responses.
	OmitRetryAfter bool `json:"omitRetryAfter,omitempty"`
	// Forbid makes these objects answer 403, as when an administrator
	// takes a user's access to them away.
	Forbid []string `json:"forbid,omitempty"`
}

// Duration is a time.Duration that reads and writes JSON as "5s".
type Duration time.Duration

// MarshalText implements encoding.TextMarshaler.
func (d Duration) MarshalText() ([]byte, error) { return []byte(time.Duration(d).String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler.
func (d *Duration) UnmarshalText(b []byte) error {
	v, err := time.ParseDuration(string(b))
	*d = Duration(v)
	return err
}

// SetFaults replaces the injected faults; the zero Faults heals everything.
func (s *Sim) SetFaults(f Faults) {
	s.mu.Lock()
	defer s.mu.Unlock()
	status := f.FailStatus
	if status == 0 {
		status = 503
	}
	pages := map[string]int{}
	for k, v := range f.DeleteBetweenPages {
		pages[strings.ToLower(k)] = v
	}
	forbidden := map[string]bool{}
	for _, o := range f.Forbid {
		forbidden[strings.ToLower(o)] = true
	}
	s.faults = faults{forbidden: forbidden, failNext: f.FailNext, failStatus: status, failRate: f.FailureRate,
		latency: time.Duration(f.Latency), malformed: f.MalformedNext, deletePages: pages,
		lateRate: f.LateWrites, lateDelay: time.Duration(f.LateDelay),
		lateNext: f.LateNext, lateNextDel: time.Duration(f.LateNextDelay), noRetryHint: f.OmitRetryAfter}
}

// shouldFail consumes one injected failure, if any is due.
func (f *faults) shouldFail(rng *rand.Rand) (int, bool) {
	if f.failNext > 0 {
		f.failNext--
		return f.failStatus, true
	}
	if f.failRate > 0 && rng.Float64() < f.failRate {
		return f.failStatus, true
	}
	return 0, false
}

// visibleAt decides when a write made at `at` becomes visible to reads.
func (f *faults) visibleAt(rng *rand.Rand, at time.Time) time.Time {
	if f.lateNext > 0 {
		f.lateNext--
		return at.Add(f.lateNextDel)
	}
	if f.lateRate > 0 && rng.Float64() < f.lateRate {
		return at.Add(f.lateDelay)
	}
	return at
}

// takeDeleteBetweenPages consumes one "delete between page reads" for o.
func (f *faults) takeDeleteBetweenPages(o *object) bool {
	k := strings.ToLower(o.Name)
	if f.deletePages[k] > 0 {
		f.deletePages[k]--
		return true
	}
	return false
}
