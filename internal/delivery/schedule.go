package delivery

import (
	"math/rand/v2"
	"time"
)

// ScheduleDefault is Cloud Elements' current retry schedule: five retries,
// the x-th 8^x seconds after the first failure (8 s, ~1 min, ~8.5 min,
// ~68 min, ~9.1 h). After the last, the callback is suspended.
var ScheduleDefault = []time.Duration{8 * time.Second, 64 * time.Second, 512 * time.Second, 4096 * time.Second, 32768 * time.Second}

// Next decides when to try a failing callback again. failures counts the
// failed attempts so far (the first failure is 1); offsets come from
// schedule, measured from the first failure, with ±10% jitter so that
// callbacks that failed together do not retry together; a Retry-After
// the receiver asked for is honoured if later. suspend is true when the
// schedule is spent.
func Next(schedule []time.Duration, failures int, firstFailure, now time.Time, retryAfter time.Duration, rng func() float64) (at time.Time, suspend bool) {
	if failures > len(schedule) {
		return time.Time{}, true
	}
	off := schedule[failures-1]
	if rng != nil {
		off += time.Duration((rng()*0.2 - 0.1) * float64(off))
	}
	at = firstFailure.Add(off)
	if ra := now.Add(retryAfter); retryAfter > 0 && ra.After(at) {
		at = ra
	}
	if at.Before(now) {
		at = now
	}
	return at, false
}

// Jitter is the default source of jitter.
func Jitter() float64 { return rand.Float64() }
