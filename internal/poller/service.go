package poller

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pollhook/pollhook/internal/delivery"
	"github.com/pollhook/pollhook/internal/element"
	"github.com/pollhook/pollhook/internal/fair"
	"github.com/pollhook/pollhook/internal/instance"
	"github.com/pollhook/pollhook/internal/metrics"
	"github.com/pollhook/pollhook/internal/store"
)

// Service polls instances' resources when they are due and decides what
// each outcome means for the poll: when it runs next, and what it, its
// instance or its upstream account says meanwhile. Scheduling the runs
// (a job per poll) is package jobs' business; it calls Check, then Run.
type Service struct {
	Store     *store.Store
	Instances *instance.Service
	Runner    *Runner
	Metrics   *metrics.Metrics
	Log       *slog.Logger
	// Now is our clock; tests move it.
	Now func() time.Time
	// QuotaReserve is the share (0 to 0.9) of each upstream account's
	// daily quota left to the customer's other apps (see Pace).
	QuotaReserve float64

	loads      sync.Map     // account → accountLoad, read by Check (cachedLoad)
	loadsSwept atomic.Int64 // when loads were last swept (UnixNano)
	configs    compiledCache
}

func (s *Service) log() *slog.Logger {
	if s.Log == nil {
		return slog.New(slog.DiscardHandler)
	}
	return s.Log
}

func (s *Service) now() time.Time {
	if s.Now == nil {
		return time.Now()
	}
	return s.Now()
}

// Due is a poll as read by Check.
type Due struct {
	Inst *store.Instance
	Poll *store.Poll
	// Wait, when positive, is how long until the poll is due; zero: it is
	// due now, and Run runs it.
	Wait time.Duration
	// Pace is its account's, as Check read it.
	Pace Pace
}

// Check reads a poll and says whether it is due. It fails with
// ErrRemoved when the poll or its instance is gone.
func (s *Service) Check(ctx context.Context, instanceID int64, resource string) (*Due, error) {
	st := s.Store
	inst, err := st.InstanceByID(ctx, instanceID)
	if errors.Is(err, store.ErrNotFound) {
		return nil, fmt.Errorf("%w: the instance was deleted", ErrRemoved)
	} else if err != nil {
		return nil, err
	}
	p, err := st.GetPoll(ctx, instanceID, resource)
	if errors.Is(err, store.ErrNotFound) {
		return nil, ErrRemoved
	} else if err != nil {
		return nil, err
	}
	d := &Due{Inst: inst, Poll: p}
	now := s.now()
	if !inst.Valid && !s.Instances.UpstreamAllowedAgain(ctx, inst) {
		// Waiting for new credentials, or for an upstream URL the server
		// allows: saving the instance wakes the job.
		d.Wait = p.Interval
		return d, nil
	}
	if d.Pace, err = s.pace(ctx, inst.Account); err != nil {
		return nil, err
	}
	due := DueAt(p, d.Pace, now)
	switch {
	case !due.After(now):
	case d.Pace.Paused(now):
		if p.PausedReason != d.Pace.Reason {
			st.PausePoll(ctx, instanceID, resource, d.Pace.Reason)
		}
		s.Metrics.Poll("paused", metrics.PollStats{})
		d.Wait = due.Sub(now) + time.Second
	default:
		s.Metrics.Poll("not_due", metrics.PollStats{})
		d.Wait = due.Sub(now)
		if d.Pace.Stretch > 1 {
			// The stretch may ease (a configuration changed elsewhere):
			// look again at least every configured interval.
			d.Wait = min(d.Wait, p.Interval)
		}
	}
	return d, nil
}

// RunAllowed says whether a run may be asked for now: not while the
// instance's account is paused by its quota (*PausedError, which the API
// answers 409). A backfill is always accepted; it waits for the pause.
func (s *Service) RunAllowed(ctx context.Context, inst *store.Instance) error {
	pace, err := s.pace(ctx, inst.Account)
	if err != nil {
		return err
	}
	if pace.Paused(s.now()) {
		return &PausedError{Reason: pace.Reason, Until: pace.PausedUntil}
	}
	return nil
}

// Deferred counts a due poll that gave its worker back, and why.
func (s *Service) Deferred(reason string) {
	s.Metrics.Poll("deferred", metrics.PollStats{})
	s.Metrics.Deferred(string(fair.Poll), reason)
}

// Run runs a due poll (and its delete scan when that is due) and says
// how long until the poll should be checked again. Upstream failures are
// not errors: they are recorded on the poll and judged (Judge); an error
// is ErrRemoved or a database failure.
func (s *Service) Run(ctx context.Context, d *Due) (time.Duration, error) {
	inst, p, st, now := d.Inst, d.Poll, s.Store, s.now()
	target, err := s.Target(inst, p.Resource)
	if errors.Is(err, element.ErrUpstreamNotAllowed) {
		// Stored before an upgrade or a change of --allow-upstream: never
		// dialled, and said so on the instance.
		if err := s.Instances.MarkUpstreamRefused(ctx, inst, err); err != nil {
			return 0, err
		}
		s.log().Warn("instance's upstream URL is not allowed; its polls pause until it changes", "instance", inst.ID)
		return p.Interval, nil
	}
	if err != nil {
		// The stored configuration cannot be used (a key that no longer
		// decrypts, say): say so on the poll and try again later.
		st.PollFailed(ctx, inst.ID, p.Resource, now, err.Error())
		s.Metrics.Poll("failed", metrics.PollStats{})
		return RetryDelay(p.Failures+1, p.Interval), nil
	}
	if g, ok := target.Conn.(element.Gate); ok {
		ok, retryIn := g.Reserve()
		if !ok {
			// No request slot free on the account: give the worker back
			// rather than queue behind the account's requests (package fair).
			s.Deferred("account_busy")
			return fair.Jittered(max(retryIn, fair.AccountBusyDelay), fair.AccountBusyJitter), nil
		}
		// The run's first request takes the reservation; if it never
		// makes one (or fails before), it is given back here.
		defer g.Release()
	}
	if !p.RunNow && !p.LastRunAt.IsZero() && p.PausedReason == "" && p.Failures == 0 {
		s.Metrics.PollStarted(now.Sub(d.Pace.Every(p.LastRunAt, p.Interval)))
	}
	stats, err := s.Runner.Run(ctx, target)
	s.recordQuota(ctx, inst, target)
	if err != nil {
		if !stopping(ctx) {
			s.Metrics.Poll("failed", metrics.PollStats{Records: stats.Read})
		}
		return s.failed(ctx, inst, p, err)
	}
	if stats.Read > 0 && stats.Unreadable == stats.Read {
		// Not one record has what the configuration names (an object the
		// element could not know, say): pause rather than poll for nothing.
		reason := fmt.Sprintf("every %s record read has %s: change event.poller.configuration.%s (retried hourly, or when the instance changes)",
			p.Resource, stats.Unusable, p.Resource)
		st.PausePoll(ctx, inst.ID, p.Resource, reason)
		s.log().Warn("poll paused: its records lack the configured fields", "instance", inst.ID, "resource", p.Resource, "why", stats.Unusable)
		return max(p.Interval, pausedRecheck), nil
	}
	s.Metrics.Poll("ok", metrics.PollStats{Records: stats.Read, Created: stats.Created,
		Updated: stats.Events - stats.Created, Notifications: stats.Notified})
	s.log().Debug("polled", "instance", inst.ID, "resource", p.Resource, "records", stats.Read,
		"events", stats.Events, "pages", stats.Pages)
	if target.Config.Config.Snapshots && p.BaselineAt.IsZero() {
		// Snapshots were turned on: observe every record once.
		began := s.now()
		b, err := s.Runner.Baseline(ctx, target)
		switch {
		case errors.Is(err, ErrRemoved):
			return 0, err
		case err != nil:
			s.log().Warn("snapshot baseline failed; it starts over after the next poll", "instance", inst.ID, "resource", p.Resource, "err", err)
		default:
			if err := st.SetBaseline(context.WithoutCancel(ctx), inst.ID, p.Resource, began); err != nil {
				return 0, err
			}
			s.log().Info("snapshot baseline done", "instance", inst.ID, "resource", p.Resource, "records", b.Read, "observed", b.Observed)
		}
		s.recordQuota(ctx, inst, target)
	}
	if del := target.Config.Config.Deletes; del.Enabled && (p.LastScanAt.IsZero() || !d.Pace.Every(p.LastScanAt, del.Interval).After(now)) {
		scan, err := s.Runner.ScanDeletes(ctx, target)
		s.Metrics.Scanned(scan.Deleted, scan.Notified)
		if errors.Is(err, ErrRemoved) {
			return 0, err
		} else if err != nil {
			s.log().Warn("delete scan failed", "instance", inst.ID, "resource", p.Resource, "err", err)
		}
		s.recordQuota(ctx, inst, target)
	}
	// A run or backfill asked for while this one ran is still asked for
	// (CommitRun keeps it): serve it now rather than an interval later.
	if stats.RunAgain {
		return time.Second, nil
	}
	return max(d.Pace.Every(now, p.Interval).Sub(s.now()), time.Second), nil
}

// failed applies what a failed run means (Judge) and says how long the
// poll waits.
func (s *Service) failed(ctx context.Context, inst *store.Instance, p *store.Poll, err error) (time.Duration, error) {
	v := Judge(err, p, stopping(ctx), s.now())
	// A run that hit --poll-timeout failed like any other: what it still
	// has to write is written after its deadline.
	ctx = context.WithoutCancel(ctx)
	st := s.Store
	switch v.Action {
	case Stop:
		return 0, err
	case HandBack:
		return 0, nil
	case PauseAccount:
		// Keep its limit and clock: the pace after the reset needs them.
		known, _ := st.AccountQuota(ctx, inst.Account)
		if err := st.SetAccountQuota(ctx, store.Quota{Account: inst.Account, Limit: max(known.Limit, 0), Remaining: 0, ResetAt: v.Until,
			UpdatedAt: s.now(), Offset: known.Offset}); err != nil {
			return 0, err
		}
		st.PausePoll(ctx, inst.ID, p.Resource, v.Reason)
	case Invalidate:
		if err := st.SetInstanceValid(ctx, inst.ID, false, v.Reason); err != nil {
			return 0, err
		}
		s.log().Warn("instance credentials refused; its polls pause until they change", "instance", inst.ID)
	case PauseResource:
		st.PausePoll(ctx, inst.ID, p.Resource, v.Reason)
	case Retry:
		s.log().Warn("poll failed", "instance", inst.ID, "resource", p.Resource, "err", err)
	}
	return v.Wait, nil
}

// recordQuota shares what the upstream said of the account's quota.
func (s *Service) recordQuota(ctx context.Context, inst *store.Instance, t Target) {
	qr, ok := t.Conn.(element.QuotaReporter)
	if !ok || inst.Account == "" {
		return
	}
	limit, remaining, offset := qr.Quota()
	if remaining < 0 {
		return
	}
	q, err := s.Store.AccountQuota(ctx, inst.Account)
	now := s.now()
	if err != nil || (q.Limit == limit && q.Remaining == remaining && statedToday(q, now)) || q.ResetAt.After(now) {
		return
	}
	s.Store.SetAccountQuota(ctx, store.Quota{Account: inst.Account, Limit: limit, Remaining: remaining, UpdatedAt: now, Offset: offset})
}

// Target prepares a poll of one resource of an instance: its compiled
// configuration, a connection to its upstream, and where its
// notifications go.
func (s *Service) Target(inst *store.Instance, resource string) (Target, error) {
	c, err := s.configs.of(inst, resource)
	if err != nil {
		return Target{}, err
	}
	conn, err := s.Instances.Open(inst)
	if err != nil {
		return Target{}, err
	}
	t := Target{OrgID: inst.OrgID, InstanceID: inst.ID, Resource: resource, Conn: conn, Config: c}
	if url, ok := inst.ConfigValue(instance.KeyCallbackURL); ok && url != "" {
		hub := ""
		if el, ok := s.Instances.Elements.Get(inst.ElementKey); ok {
			hub = el.Info().Hub
		}
		t.Notify = &delivery.Route{CallbackURL: url, Meta: delivery.Meta{OrgID: inst.OrgID, UserID: inst.UserID,
			InstanceID: inst.ID, InstanceName: inst.Name, InstanceTags: inst.Tags, ElementKey: inst.ElementKey, HubKey: hub}}
	}
	return t, nil
}
