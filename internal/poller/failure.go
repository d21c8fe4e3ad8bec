package poller

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/pollhook/pollhook/internal/element"
	"github.com/pollhook/pollhook/internal/store"
)

// Action is what a failed run does to its poll.
type Action int

// The actions, from the most local to the widest.
const (
	// Retry backs off: 30 s doubling up to the interval (RetryDelay). A
	// 5xx, a timeout (--poll-timeout included), a network error, anything
	// not named below.
	Retry Action = iota
	// WaitOut waits out a rate limit the upstream named (a 429 whose
	// Retry-After is longer than the element waits itself).
	WaitOut
	// PauseResource pauses this resource only: Insightly gates objects by
	// plan (403), or the object does not exist (404). Retried hourly, or
	// when the instance changes.
	PauseResource
	// PauseAccount pauses every poll of the upstream account, on every
	// replica, until the daily quota's reset.
	PauseAccount
	// Invalidate marks the instance invalid (401): its polls wait for new
	// credentials.
	Invalidate
	// HandBack gives the job back at once, to resume elsewhere: the
	// process is stopping (a cancelled context, not a deadline).
	HandBack
	// Stop ends the poll's job: the poll was removed while it ran.
	Stop
)

var actionNames = [...]string{"retry", "wait out", "pause resource", "pause account", "invalidate", "hand back", "stop"}

func (a Action) String() string { return actionNames[a] }

// Verdict is what a failed run means for its poll.
type Verdict struct {
	Action Action
	// Wait is how long until the poll's next try.
	Wait time.Duration
	// Reason is what the poll (PauseResource) or the instance (Invalidate)
	// says, until it runs again.
	Reason string
	// Until, for PauseAccount, is the quota's reset.
	Until time.Time
}

// Judge says what a run's failure means for its poll (design.md,
// "Errors"). The cursor never moves on a failure: the next run covers
// everything since the last successful one. stopping tells that the
// process is stopping (the run's context was cancelled, not timed out).
func Judge(err error, p *store.Poll, stopping bool, now time.Time) Verdict {
	if errors.Is(err, ErrRemoved) {
		return Verdict{Action: Stop}
	}
	if stopping {
		return Verdict{Action: HandBack}
	}
	var b *element.Backoff
	switch status := element.StatusOf(err); {
	case errors.As(err, &b) && b.Quota:
		return Verdict{Action: PauseAccount, Until: b.Until, Wait: b.Until.Sub(now) + time.Second,
			Reason: QuotaPause + b.Until.UTC().Format(time.RFC3339)}
	case errors.As(err, &b):
		return Verdict{Action: WaitOut, Wait: max(b.Until.Sub(now), time.Second)}
	case status == http.StatusUnauthorized:
		return Verdict{Action: Invalidate, Wait: p.Interval,
			Reason: "Insightly refused the credentials (401) at " + now.UTC().Format(time.RFC3339) + ": " + err.Error()}
	case status == http.StatusForbidden || status == http.StatusNotFound:
		return Verdict{Action: PauseResource, Wait: max(p.Interval, pausedRecheck),
			Reason: fmt.Sprintf("Insightly answered %d for %s: %v (retried hourly, or when the instance changes)", status, p.Resource, err)}
	}
	return Verdict{Action: Retry, Wait: RetryDelay(p.Failures+1, p.Interval)}
}

// stopping tells a run cancelled because the process stops (River
// cancels its work) from one that ran out of its own time (its timeout
// is a deadline): the first resumes at once elsewhere, the second failed.
func stopping(ctx context.Context) bool {
	return errors.Is(ctx.Err(), context.Canceled)
}
