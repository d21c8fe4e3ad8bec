package jobs

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/pollhook/pollhook/internal/store"
)

// quotaPause starts the pause reason of a poll whose account's daily
// quota is spent.
const quotaPause = "Insightly's daily API quota for this account is spent until "

// dueAt is when a poll runs next: the one rule, which the poll job and
// the status both follow. quotaReset is when the account's spent daily
// quota comes back (zero or past: not spent).
//   - While the quota is spent: at its reset, and not before.
//   - Asked for (run now, backfill), or never run: now.
//   - Paused because the quota was spent: at once once it is back (the
//     reset has passed), not an hour later like other pauses.
//   - Paused otherwise (a 403 or 404 on its object): an hour after the
//     last attempt, or its interval if longer.
//   - Failing: backing off from 30 s, doubling, up to the interval.
//   - Otherwise: one interval after the last run began.
func dueAt(p *store.Poll, quotaReset, now time.Time) time.Time {
	switch {
	case quotaReset.After(now):
		return quotaReset
	case p.RunNow || p.LastRunAt.IsZero():
		return now
	case strings.HasPrefix(p.PausedReason, quotaPause):
		return p.LastRunAt
	case p.PausedReason != "":
		return p.LastRunAt.Add(max(p.Interval, pausedRecheck))
	case p.Failures > 0:
		return p.LastRunAt.Add(retryDelay(p.Failures, p.Interval))
	}
	return p.LastRunAt.Add(p.Interval)
}

// shuttingDown tells a job cancelled because the process stops (River
// cancels its work) from one that ran out of its own time (its timeout
// is a deadline): the first resumes at once elsewhere, the second failed.
func shuttingDown(ctx context.Context) bool {
	return errors.Is(ctx.Err(), context.Canceled)
}
