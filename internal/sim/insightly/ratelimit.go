package insightly

import (
	"math"
	"time"
)

// limiter is one account's rate-limit state: a per-second token bucket on
// the wall clock, a daily quota on the upstream clock (reset at midnight
// UTC, which insightly-mcp reports), and an optional cap on requests in
// flight.
type limiter struct {
	rate, burst float64 // tokens per second and bucket size; rate <= 0 disables
	tokens      float64
	last        time.Time // wall clock of the last refill

	quota int       // requests per day; <= 0 disables
	day   time.Time // start of the current quota day (UTC midnight)
	used  int

	maxInFlight int
	inFlight    int
}

func newLimiter(cfg Config, plan string) limiter {
	l := limiter{rate: cfg.RateLimit, quota: cfg.DailyQuota, maxInFlight: cfg.MaxConcurrent}
	if l.quota == 0 {
		l.quota = plans[plan].quota
	}
	l.burst = float64(cfg.Burst)
	if l.burst <= 0 {
		l.burst = math.Ceil(max(l.rate, 1))
	}
	l.tokens = l.burst
	return l
}

// refusal says why a request was refused with 429.
type refusal struct {
	retryAfter time.Duration
	quota      bool // the daily quota is spent (Remaining is 0)
}

// admit counts one request, or refuses it. wall paces the bucket, now
// (the upstream clock) the quota day.
func (l *limiter) admit(wall, now time.Time) *refusal {
	l.rollDay(now)
	if l.quota > 0 && l.used >= l.quota {
		return &refusal{retryAfter: l.day.AddDate(0, 0, 1).Sub(now), quota: true}
	}
	if l.maxInFlight > 0 && l.inFlight >= l.maxInFlight {
		return &refusal{retryAfter: time.Second}
	}
	if l.rate > 0 {
		if !l.last.IsZero() {
			l.tokens = min(l.burst, l.tokens+wall.Sub(l.last).Seconds()*l.rate)
		}
		l.last = wall
		if l.tokens < 1 {
			return &refusal{retryAfter: time.Duration((1 - l.tokens) / l.rate * float64(time.Second))}
		}
		l.tokens--
	}
	l.used++
	l.inFlight++
	return nil
}

func (l *limiter) release() { l.inFlight-- }

func (l *limiter) rollDay(now time.Time) {
	day := now.UTC().Truncate(24 * time.Hour)
	if !day.Equal(l.day) {
		l.day, l.used = day, 0
	}
}

// remaining is what X-RateLimit-Remaining reports; -1 when there is no quota.
func (l *limiter) remaining(now time.Time) int {
	if l.quota <= 0 {
		return -1
	}
	l.rollDay(now)
	return max(l.quota-l.used, 0)
}

// retryAfterSeconds rounds a wait up to whole seconds, at least one, as the
// Retry-After header carries it.
func retryAfterSeconds(d time.Duration) int64 {
	return max(int64(math.Ceil(d.Seconds())), 1)
}
