package poller

import (
	"fmt"
	"math"
	"net/http"
	"strings"
	"time"

	"github.com/pollhook/pollhook/internal/store"
)

// The pace: what an upstream account's daily quota lets its polls do now.
// pollhook leaves a reserve of the quota (--quota-reserve) to the
// customer's other apps. When the forecast pace, at the configured
// intervals, would spend more than what is left above the reserve before
// the quota day ends, every poll and delete scan of the account runs
// Stretch times less often, the same factor for all, never more often
// than configured. If the reserve is reached anyway (the other apps spent
// more than expected), the account's polls pause until the reset.
//
// Everything here is read from the database (the account's quota as last
// stated, the configuration of every poll using it), so every replica
// keeps the same pace.

// ReservePause starts the pause reason of a poll whose account's daily
// quota is down to the reserve left to the customer's other apps.
const ReservePause = "Insightly's daily API quota for this account is down to the reserve left to its other apps until "

// maxStretch bounds the factor: past it a poll would wait beyond the
// quota day anyway, and DueAt never waits past the day's end.
const maxStretch = 1000

// Pace is what an account's daily quota allows its polls now.
type Pace struct {
	// Stretch (at least 1) multiplies the intervals of the account's polls
	// and delete scans until Reset.
	Stretch float64
	// Reset is when the quota day ends: midnight UTC, our clock. The
	// stretch is worked out again from a full quota then.
	Reset time.Time
	// PausedUntil, when set, is when the account's polls may call the
	// upstream again: the quota is spent, or down to the reserve. Reason
	// (QuotaPause or ReservePause, then the time) says which.
	PausedUntil time.Time
	Reason      string
}

// quotaDay is the day an upstream quota counts: Insightly's resets at
// midnight UTC on its clock, which q.Offset says how far from ours it was
// when it stated the quota.
const quotaDay = 24 * time.Hour

// quotaDayStart is when the current quota day began, on our clock.
func quotaDayStart(q store.Quota, now time.Time) time.Time {
	return now.Add(q.Offset).UTC().Truncate(quotaDay).Add(-q.Offset)
}

// statedToday says whether q was stated during the current quota day.
func statedToday(q store.Quota, now time.Time) bool {
	return !q.UpdatedAt.Before(quotaDayStart(q, now))
}

// PaceOf works out an account's pace from its quota q as last stated, the
// reserve share (0 to 0.9), and the forecast: periodic calls a day at the
// configured intervals, plus once calls of one-off work (baselines,
// backfills). It is pure.
//
// The quota left is q.Remaining, or the whole limit when q was stated
// before the current quota day began (it has reset since). The day ends
// at midnight UTC on the upstream's clock (q.Offset from ours): resuming
// at our midnight while the upstream's day still runs would see the old
// day's quota, and pause for a whole day. The budget is
// what is left above the reserve; the need is the periodic calls for the
// rest of the day, plus the one-off work. Stretch = need / budget when the
// need is larger, else 1.
func PaceOf(periodic, once float64, q store.Quota, reserve float64, now time.Time) Pace {
	dayStart := quotaDayStart(q, now)
	p := Pace{Stretch: 1, Reset: dayStart.Add(quotaDay)}
	if q.ResetAt.After(now) {
		p.PausedUntil, p.Reason = q.ResetAt, QuotaPause+q.ResetAt.UTC().Format(time.RFC3339)
		return p
	}
	if q.Limit <= 0 {
		return p // unknown until an answer states it
	}
	left := q.Remaining
	if !q.ResetAt.IsZero() || (!q.UpdatedAt.IsZero() && !statedToday(q, now)) {
		left = q.Limit // spent before a reset that has passed, or stated yesterday
	}
	if left < 0 {
		return p
	}
	budget := float64(left) - math.Ceil(reserve*float64(q.Limit))
	if budget <= 0 {
		p.PausedUntil, p.Reason = p.Reset, ReservePause+p.Reset.UTC().Format(time.RFC3339)
		return p
	}
	need := periodic*float64(p.Reset.Sub(now))/float64(quotaDay) + once
	if need > budget {
		p.Stretch = min(need/budget, maxStretch)
	}
	return p
}

// Paused says whether the account's polls are paused at now.
func (p Pace) Paused(now time.Time) bool { return p.PausedUntil.After(now) }

// Every is interval stretched, as a poll started at from runs next: never
// sooner than interval, and never later than the quota day's end (or
// interval, if longer), when the stretch is worked out afresh.
func (p Pace) Every(from time.Time, interval time.Duration) time.Time {
	next := from.Add(interval)
	if p.Stretch <= 1 {
		return next
	}
	stretched := from.Add(time.Duration(float64(interval) * p.Stretch))
	if end := p.Reset; stretched.After(end) {
		if next.After(end) {
			return next
		}
		return end
	}
	return stretched
}

// quotaPaused says whether a poll's pause reason is its account's quota
// (spent, or down to the reserve): it resumes as soon as the pace allows.
func quotaPaused(reason string) bool {
	return strings.HasPrefix(reason, QuotaPause) || strings.HasPrefix(reason, ReservePause)
}

// PausedError answers a run asked for while the account's polls are
// paused by its quota: the API answers 409 with the reason.
type PausedError struct {
	Reason string
	Until  time.Time
}

func (e *PausedError) Error() string {
	return e.Reason + ": the account's polls run by themselves again then (a backfill asked for now waits until then)"
}

// HTTPStatus makes the API answer 409 Conflict.
func (e *PausedError) HTTPStatus() int { return http.StatusConflict }

// describe is the pace in a sentence, for the status.
func (p Pace) describe(reserve float64, limit int) string {
	switch {
	case p.Reason != "" && strings.HasPrefix(p.Reason, ReservePause):
		return fmt.Sprintf("the account's daily quota is down to the %.0f%% (%.0f calls) left to its other apps: polls pause until %s",
			reserve*100, math.Ceil(reserve*float64(limit)), p.PausedUntil.UTC().Format(time.RFC3339))
	case p.Stretch > 1:
		return fmt.Sprintf("polls run %.2f× less often than configured until %s, so that %.0f%% of the daily quota stays with the account's other apps",
			p.Stretch, p.Reset.UTC().Format(time.RFC3339), reserve*100)
	}
	return ""
}
