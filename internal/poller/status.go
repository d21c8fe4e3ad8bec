package poller

import (
	"context"
	"fmt"
	"math"
	"time"

	"github.com/pollhook/pollhook/internal/store"
)

// InstanceStatus is what an operator sees of an instance's polling
// (GET /instances/{id}/polls, a pollhook extension).
type InstanceStatus struct {
	InstanceID    int64        `json:"instanceId"`
	Valid         bool         `json:"valid"`
	InvalidReason string       `json:"invalidReason,omitempty"`
	EventsEnabled bool         `json:"eventsEnabled"`
	Disabled      bool         `json:"disabled"`
	Quota         *QuotaStatus `json:"quota,omitempty"`
	Polls         []PollStatus `json:"polls"`
}

// QuotaStatus is the upstream account's daily quota, as last stated, and
// the forecast of what the configuration of every instance using the
// account (in any organization) spends of it.
type QuotaStatus struct {
	Account string `json:"account"`
	// MetricsLabel is the account's label in /metrics, which names no
	// account (metrics.AccountLabel).
	MetricsLabel string `json:"metricsLabel,omitempty"`
	// Limit is the daily limit Insightly last stated (0: not known yet).
	Limit     int `json:"limit"`
	Remaining int `json:"remaining"`
	// ResetsAt, while the quota is spent, is when it comes back; ResetAt
	// is the same, under the key clients read before (pollhook client).
	ResetsAt string `json:"resetsAt,omitempty"`
	ResetAt  string `json:"resetAt,omitempty"`
	// ForecastPerDay is the calls per day the account's polls imply
	// (Forecast), across every instance using the account.
	ForecastPerDay float64 `json:"forecastPerDay"`
	// Reserve is the share of the quota left to the account's other apps
	// (--quota-reserve), 0 to 0.9.
	Reserve float64 `json:"reserve"`
	// Stretch is the factor now applied to the intervals of the account's
	// polls and delete scans to keep the reserve (Pace), 1 when none.
	Stretch float64 `json:"stretch"`
	// PausedUntil, while the quota is spent or down to the reserve, is
	// when the account's polls call again.
	PausedUntil string `json:"pausedUntil,omitempty"`
	// Pace says in a sentence why polls are stretched or paused.
	Pace string `json:"pace,omitempty"`
	// ExceedsLimit: the configuration alone would spend more than the
	// known limit; Message says so for people. The instance still polls
	// as configured.
	ExceedsLimit bool   `json:"exceedsLimit,omitempty"`
	Message      string `json:"message,omitempty"`
}

// PollStatus is one resource's polling.
type PollStatus struct {
	Resource        string `json:"resource"`
	IntervalSeconds int64  `json:"intervalSeconds"`
	Cursor          string `json:"cursor"`
	// CursorAnchored: the cursor is on the upstream's clock (false until
	// the first window completes: our clock when polling began).
	CursorAnchored      bool          `json:"cursorAnchored"`
	Window              *WindowStatus `json:"window,omitempty"`
	LastRun             *RunStatus    `json:"lastRun,omitempty"`
	LastAttemptAt       string        `json:"lastAttemptAt,omitempty"`
	NextRunAt           string        `json:"nextRunAt,omitempty"`
	LastError           string        `json:"lastError,omitempty"`
	ConsecutiveFailures int           `json:"consecutiveFailures"`
	FailingSince        string        `json:"failingSince,omitempty"`
	PausedReason        string        `json:"pausedReason,omitempty"`
	RunRequested        bool          `json:"runRequested,omitempty"`
	BackfillFrom        string        `json:"backfillFrom,omitempty"`
	EventsTotal         int64         `json:"eventsTotal"`
	// BaselineAt, with snapshots on, is when the baseline scan completed.
	BaselineAt string        `json:"baselineAt,omitempty"`
	Deletes    *DeleteStatus `json:"deletes,omitempty"`
}

// WindowStatus is a window under way: committed page by page, resumed
// after a crash or timeout, complete when the cursor moves.
type WindowStatus struct {
	From      string         `json:"from"`      // records updated after it are read
	StartedAt string         `json:"startedAt"` // our clock
	Backfill  bool           `json:"backfill,omitempty"`
	Pages     int            `json:"pages"`
	Records   int            `json:"records"`
	Events    map[string]int `json:"events"`
}

// RunStatus is the last successful run.
type RunStatus struct {
	At         string         `json:"at"`
	DurationMs int64          `json:"durationMs"`
	Pages      int            `json:"pages"`
	Records    int            `json:"records"`
	Events     map[string]int `json:"events"`
}

// DeleteStatus is a resource's delete detection.
type DeleteStatus struct {
	EveryMinutes int64  `json:"everyMinutes"`
	LastScanAt   string `json:"lastScanAt,omitempty"`
	LastScan     string `json:"lastScan,omitempty"`
	NextScanAt   string `json:"nextScanAt,omitempty"`
}

func stamp(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}

// Status describes an instance's polling.
func (s *Service) Status(ctx context.Context, inst *store.Instance) (*InstanceStatus, error) {
	st := s.Store
	out := &InstanceStatus{InstanceID: inst.ID, Valid: inst.Valid, InvalidReason: inst.InvalidReason,
		EventsEnabled: inst.EventsEnabled, Disabled: inst.Disabled, Polls: []PollStatus{}}
	pace := Pace{Stretch: 1} // as Check follows it
	if inst.Account != "" {
		q, err := st.AccountQuota(ctx, inst.Account)
		if err != nil {
			return nil, err
		}
		out.Quota = &QuotaStatus{Account: inst.Account, MetricsLabel: s.Metrics.AccountLabel(inst.Account), Limit: q.Limit, Remaining: q.Remaining}
		if q.ResetAt.After(s.now()) {
			out.Quota.ResetAt, out.Quota.Remaining = stamp(q.ResetAt), 0
			out.Quota.ResetsAt = out.Quota.ResetAt
		}
		f, err := s.forecast(ctx, inst.Account, q)
		if err != nil {
			return nil, err
		}
		pace = f.Pace
		out.Quota.ForecastPerDay, out.Quota.Reserve, out.Quota.Stretch = math.Round(f.PerDay*10)/10, f.Reserve, math.Round(f.Pace.Stretch*100)/100
		out.Quota.Pace = pace.describe(f.Reserve, f.Limit)
		if pace.Paused(s.now()) {
			out.Quota.PausedUntil = stamp(pace.PausedUntil)
		}
		if f.Exceeds {
			out.Quota.ExceedsLimit = true
			out.Quota.Message = fmt.Sprintf("the configuration of the %d polls using this Insightly account needs about %.0f API calls a day, "+
				"more than its daily limit of %d: its polls run less often than configured, to leave %.0f%% of the quota to the account's other apps; "+
				"lengthen refresh intervals, poll fewer resources or scan deletes less often", f.Polls, f.PerDay, f.Limit, f.Reserve*100)
		}
	}
	polls, err := st.PollsOf(ctx, inst.ID)
	if err != nil {
		return nil, err
	}
	for _, p := range polls {
		ps := PollStatus{Resource: p.Resource, IntervalSeconds: int64(p.Interval / time.Second), Cursor: stamp(p.Cursor),
			LastAttemptAt: stamp(p.LastRunAt), LastError: p.LastError, ConsecutiveFailures: p.Failures,
			FailingSince: stamp(p.FailingSince), PausedReason: p.PausedReason, RunRequested: p.RunNow,
			BackfillFrom: stamp(p.BackfillFrom), EventsTotal: p.Events, CursorAnchored: p.Anchored, BaselineAt: stamp(p.BaselineAt)}
		if w := p.Window; w != nil {
			ps.Window = &WindowStatus{From: stamp(w.From), StartedAt: stamp(w.RunAt), Backfill: w.Backfill, Pages: w.Pages,
				Records: w.Records, Events: map[string]int{"CREATED": w.Created, "UPDATED": w.Updated}}
		}
		if !p.LastOKAt.IsZero() {
			ps.LastRun = &RunStatus{At: stamp(p.LastOKAt), DurationMs: p.LastRun.Duration.Milliseconds(), Pages: p.LastRun.Pages,
				Records: p.LastRun.Records, Events: map[string]int{"CREATED": p.LastRun.Created, "UPDATED": p.LastRun.Updated}}
		}
		if inst.Valid && !inst.Disabled && inst.EventsEnabled {
			ps.NextRunAt = stamp(DueAt(p, pace, s.now()))
		}
		if c, err := s.configs.of(inst, p.Resource); err == nil && c.Config.Deletes.Enabled {
			d := c.Config.Deletes
			ps.Deletes = &DeleteStatus{EveryMinutes: int64(d.Interval / time.Minute), LastScanAt: stamp(p.LastScanAt), LastScan: p.LastScanNote}
			if !p.LastScanAt.IsZero() {
				ps.Deletes.NextScanAt = stamp(pace.Every(p.LastScanAt, d.Interval))
			}
		}
		out.Polls = append(out.Polls, ps)
	}
	return out, nil
}
