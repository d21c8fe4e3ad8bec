package poller

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/pollhook/pollhook/internal/element"
	"github.com/pollhook/pollhook/internal/store"
)

// What each failure means for a poll, as the element reports it. The
// errors are built as the Insightly element builds them (hub.go): an
// *element.Error carrying the upstream's status, wrapped by the run.
func TestJudge(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	reset := now.Add(5 * time.Hour)
	p := &store.Poll{Resource: "contacts", Interval: 10 * time.Minute, Failures: 2}
	wrap := func(err error) error { return fmt.Errorf("read contacts: %w", err) }
	upstream := func(status int, msg string) error { return wrap(&element.Error{Status: status, Message: msg}) }
	for _, tc := range []struct {
		name     string
		err      error
		stopping bool
		want     Verdict
		reason   string // a part of the reason
	}{
		{name: "401 invalidates the instance", err: upstream(http.StatusUnauthorized, "Insightly refused the API key"),
			want: Verdict{Action: Invalidate, Wait: 10 * time.Minute}, reason: "Insightly refused the credentials (401) at 2026-03-01T12:00:00Z"},
		{name: "403 pauses the resource", err: upstream(http.StatusForbidden, "not on this plan"),
			want: Verdict{Action: PauseResource, Wait: time.Hour}, reason: "Insightly answered 403 for contacts"},
		{name: "404 pauses the resource", err: upstream(http.StatusNotFound, "no such object"),
			want: Verdict{Action: PauseResource, Wait: time.Hour}, reason: "(retried hourly, or when the instance changes)"},
		{name: "a spent quota pauses the account until its reset",
			err:  wrap(&element.Error{Status: http.StatusTooManyRequests, Message: "quota", Err: errors.Join(errors.New("429"), &element.Backoff{Until: reset, Quota: true})}),
			want: Verdict{Action: PauseAccount, Wait: 5*time.Hour + time.Second, Until: reset}, reason: QuotaPause + "2026-03-01T17:00:00Z"},
		{name: "a long 429 is waited out",
			err:  wrap(&element.Error{Status: http.StatusTooManyRequests, Message: "rate limited", Err: &element.Backoff{Until: now.Add(90 * time.Second)}}),
			want: Verdict{Action: WaitOut, Wait: 90 * time.Second}},
		{name: "a 429 already over waits a second",
			err:  wrap(&element.Error{Status: http.StatusTooManyRequests, Message: "rate limited", Err: &element.Backoff{Until: now.Add(-time.Second)}}),
			want: Verdict{Action: WaitOut, Wait: time.Second}},
		{name: "a 5xx backs off", err: upstream(http.StatusBadGateway, "bad gateway"),
			want: Verdict{Action: Retry, Wait: 2 * time.Minute}},
		{name: "a 429 without a backoff (the element's retries spent) backs off", err: upstream(http.StatusTooManyRequests, "too many"),
			want: Verdict{Action: Retry, Wait: 2 * time.Minute}},
		{name: "a timeout (--poll-timeout) is a failure", err: wrap(context.DeadlineExceeded),
			want: Verdict{Action: Retry, Wait: 2 * time.Minute}},
		{name: "a network error backs off", err: wrap(errors.New("dial tcp: connection refused")),
			want: Verdict{Action: Retry, Wait: 2 * time.Minute}},
		{name: "a stop hands the job back at once", err: wrap(context.Canceled), stopping: true,
			want: Verdict{Action: HandBack}},
		{name: "a stop outranks what the upstream said", err: upstream(http.StatusUnauthorized, "refused"), stopping: true,
			want: Verdict{Action: HandBack}},
		{name: "a removed poll stops, even while stopping", err: fmt.Errorf("commit: %w", ErrRemoved), stopping: true,
			want: Verdict{Action: Stop}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := Judge(tc.err, p, tc.stopping, now)
			reason := got.Reason
			got.Reason = ""
			if got != tc.want {
				t.Errorf("Judge = %+v (%s), want %+v (%s)", got, got.Action, tc.want, tc.want.Action)
			}
			if !strings.Contains(reason, tc.reason) || (tc.reason == "") != (reason == "") {
				t.Errorf("reason %q, want one with %q", reason, tc.reason)
			}
		})
	}
}

// The pause of a resource waits at least its interval; a failure's
// backoff never exceeds it, nor its own cap (30 s doubled ten times).
func TestJudgeFollowsTheInterval(t *testing.T) {
	t.Parallel()
	now := time.Now()
	daily := &store.Poll{Resource: "x", Interval: 24 * time.Hour, Failures: 20}
	if v := Judge(&element.Error{Status: http.StatusForbidden}, daily, false, now); v.Wait != 24*time.Hour {
		t.Errorf("403 on a daily poll waits %s", v.Wait)
	}
	if v := Judge(errors.New("boom"), daily, false, now); v.Wait != 30*time.Second<<10 {
		t.Errorf("the 21st failure of a daily poll waits %s, want the backoff's cap, 8h32m", v.Wait)
	}
	fast := &store.Poll{Resource: "x", Interval: 10 * time.Second}
	if v := Judge(errors.New("boom"), fast, false, now); v.Wait != 10*time.Second {
		t.Errorf("a failure of a 10 s poll waits %s", v.Wait)
	}
}

func TestRetryDelay(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		failures int
		interval time.Duration
		want     time.Duration
	}{
		{1, time.Hour, 30 * time.Second},
		{2, time.Hour, time.Minute},
		{4, time.Hour, 4 * time.Minute},
		{8, time.Hour, time.Hour},
		{50, time.Hour, time.Hour},
		{1, 10 * time.Second, 10 * time.Second},
	} {
		if got := RetryDelay(tc.failures, tc.interval); got != tc.want {
			t.Errorf("RetryDelay(%d, %s) = %s, want %s", tc.failures, tc.interval, got, tc.want)
		}
	}
}

// The one next-run rule, case by case.
func TestDueAt(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	last := now.Add(-3 * time.Minute)
	base := store.Poll{Interval: 10 * time.Minute, LastRunAt: last}
	with := func(f func(p *store.Poll)) *store.Poll { p := base; f(&p); return &p }
	midnight := time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC)
	free := Pace{Stretch: 1, Reset: midnight}
	spent := Pace{Stretch: 1, Reset: midnight, PausedUntil: now.Add(time.Hour), Reason: QuotaPause + "x"}
	reserve := Pace{Stretch: 1, Reset: midnight, PausedUntil: midnight, Reason: ReservePause + "x"}
	stretched := Pace{Stretch: 2.5, Reset: midnight}
	for _, tc := range []struct {
		name string
		p    *store.Poll
		pace Pace
		want time.Time
	}{
		{"an interval after the last run", &base, free, last.Add(10 * time.Minute)},
		{"no account known yet: the same", &base, Pace{}, last.Add(10 * time.Minute)},
		{"never run: now", with(func(p *store.Poll) { p.LastRunAt = time.Time{} }), free, now},
		{"asked for: now", with(func(p *store.Poll) { p.RunNow = true }), free, now},
		{"asked for while stretched: now", with(func(p *store.Poll) { p.RunNow = true }), stretched, now},
		{"a spent quota outranks a request", with(func(p *store.Poll) { p.RunNow = true }), spent, now.Add(time.Hour)},
		{"the reserve outranks a backfill", with(func(p *store.Poll) { p.RunNow, p.BackfillFrom = true, last }), reserve, midnight},
		{"a quota reset passed: at once", with(func(p *store.Poll) { p.PausedReason = QuotaPause + "x" }), free, last},
		{"the reserve's pause over: at once", with(func(p *store.Poll) { p.PausedReason = ReservePause + "x" }), stretched, last},
		{"paused by a 403: an hour on", with(func(p *store.Poll) { p.PausedReason = "403" }), free, last.Add(time.Hour)},
		{"failing: backing off", with(func(p *store.Poll) { p.Failures = 2 }), free, last.Add(time.Minute)},
		{"stretched: the interval times the stretch", &base, stretched, last.Add(25 * time.Minute)},
		{"stretched past the day's end: at its end", with(func(p *store.Poll) { p.LastRunAt = midnight.Add(-15 * time.Minute) }), stretched, midnight},
		{"an interval longer than the rest of the day is kept", with(func(p *store.Poll) {
			p.LastRunAt, p.Interval = midnight.Add(-15*time.Minute), time.Hour
		}), stretched, midnight.Add(45 * time.Minute)},
	} {
		if got := DueAt(tc.p, tc.pace, now); !got.Equal(tc.want) {
			t.Errorf("%s: DueAt = %s, want %s", tc.name, got, tc.want)
		}
	}
}
