package poller

import (
	"time"

	"github.com/pollhook/pollhook/internal/store"
)

// QuotaPause starts the pause reason of a poll whose account's daily
// quota is spent.
const QuotaPause = "Insightly's daily API quota for this account is spent until "

// pausedRecheck is how often a paused poll (its object refused with 403
// or 404, usually a plan limit) tries again on its own; changing the
// instance resumes it at once.
const pausedRecheck = time.Hour

// RetryDelay is how long a failed poll waits: doubling from 30 s with
// consecutive failures, never longer than the interval itself.
func RetryDelay(failures int, interval time.Duration) time.Duration {
	d := 30 * time.Second << min(max(failures-1, 0), 10)
	return min(d, interval)
}

// DueAt is when a poll runs next: the one rule, which the poll job and
// the status both follow. pace is its account's (PaceOf; the zero Pace is
// no account known yet).
//   - While the account is paused (its quota spent, or down to the
//     reserve): when the pause ends, and not before.
//   - Asked for (run now, backfill), or never run: now.
//   - Paused by its account's quota: at once once the pause is over, not
//     an hour later like other pauses.
//   - Paused otherwise (a 403 or 404 on its object): an hour after the
//     last attempt, or its interval if longer.
//   - Failing: backing off from 30 s, doubling, up to the interval.
//   - Otherwise: one interval after the last run began, stretched by the
//     account's pace (Pace.Every).
func DueAt(p *store.Poll, pace Pace, now time.Time) time.Time {
	switch {
	case pace.Paused(now):
		return pace.PausedUntil
	case p.RunNow || p.LastRunAt.IsZero():
		return now
	case quotaPaused(p.PausedReason):
		return p.LastRunAt
	case p.PausedReason != "":
		return p.LastRunAt.Add(max(p.Interval, pausedRecheck))
	case p.Failures > 0:
		return p.LastRunAt.Add(RetryDelay(p.Failures, p.Interval))
	}
	return pace.Every(p.LastRunAt, p.Interval)
}
