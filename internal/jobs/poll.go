package jobs

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/pollhook/pollhook/internal/delivery"
	"github.com/pollhook/pollhook/internal/element"
	"github.com/pollhook/pollhook/internal/instance"
	"github.com/pollhook/pollhook/internal/metrics"
	"github.com/pollhook/pollhook/internal/pollconfig"
	"github.com/pollhook/pollhook/internal/poller"
	"github.com/pollhook/pollhook/internal/store"
)

// PollArgs names one (instance, resource) to poll. The job runs, snoozes
// until the next run is due, and so on; it cancels itself once the poll
// is gone (resource removed, events off, instance disabled or deleted).
type PollArgs struct {
	InstanceID int64  `json:"instance_id"`
	Resource   string `json:"resource"`
}

// Kind names the job.
func (PollArgs) Kind() string { return "poll" }

// uniqueStates are the states in which a poll job counts as existing:
// every live state, so that a running or snoozed job is never doubled,
// but not completed or cancelled ones, so a poll removed and added again
// gets a new job.
var uniqueStates = []rivertype.JobState{rivertype.JobStateAvailable, rivertype.JobStatePending,
	rivertype.JobStateRunning, rivertype.JobStateScheduled, rivertype.JobStateRetryable}

// InsertOpts makes poll jobs unique per (instance, resource).
func (PollArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{UniqueOpts: river.UniqueOpts{ByArgs: true, ByState: uniqueStates}}
}

type pollWorker struct {
	river.WorkerDefaults[PollArgs]
	e *Engine
}

func (w *pollWorker) Timeout(*river.Job[PollArgs]) time.Duration { return w.e.cfg.PollTimeout }

// retryDelay is how long a failed poll waits: doubling from 30 s with
// consecutive failures, never longer than the interval itself.
func retryDelay(failures int, interval time.Duration) time.Duration {
	d := 30 * time.Second << min(max(failures-1, 0), 10)
	return min(d, interval)
}

// pausedRecheck is how often a paused poll (its object refused with
// 403 or 404, usually a plan limit) tries again on its own; changing the
// instance resumes it at once.
const pausedRecheck = time.Hour

// Work runs one poll when it is due. Upstream failures never fail the
// job (River would give up on it after its attempts and polling would
// stop): they are recorded on the poll and the job snoozes.
func (w *pollWorker) Work(ctx context.Context, job *river.Job[PollArgs]) error {
	next, err := w.e.pollOnce(ctx, job.Args)
	if err != nil {
		return err
	}
	return river.JobSnooze(max(next, 0))
}

// pollOnce runs the poll if it is due and says how long to sleep; an
// error is a job-level outcome (cancel, or a database failure).
func (e *Engine) pollOnce(ctx context.Context, a PollArgs) (time.Duration, error) {
	st := e.cfg.Store
	inst, err := st.InstanceByID(ctx, a.InstanceID)
	if errors.Is(err, store.ErrNotFound) {
		return 0, river.JobCancel(errors.New("the instance was deleted"))
	} else if err != nil {
		return 0, err
	}
	p, err := st.GetPoll(ctx, a.InstanceID, a.Resource)
	if errors.Is(err, store.ErrNotFound) {
		return 0, river.JobCancel(errors.New("the resource is no longer polled"))
	} else if err != nil {
		return 0, err
	}
	now := e.cfg.Now()
	if !inst.Valid && !e.cfg.Instances.UpstreamAllowedAgain(ctx, inst) {
		// Waiting for new credentials, or for an upstream URL the server
		// allows: saving the instance wakes the job.
		return p.Interval, nil
	}
	var quotaReset time.Time
	if inst.Account != "" {
		q, err := st.AccountQuota(ctx, inst.Account)
		if err != nil {
			return 0, err
		}
		quotaReset = q.ResetAt
	}
	if due := dueAt(p, quotaReset, now); due.After(now) {
		if due.Equal(quotaReset) {
			reason := quotaPause + quotaReset.UTC().Format(time.RFC3339)
			if p.PausedReason != reason {
				st.PausePoll(ctx, a.InstanceID, a.Resource, reason)
			}
			e.cfg.Metrics.Poll("paused", metrics.PollStats{})
			return due.Sub(now) + time.Second, nil
		}
		e.cfg.Metrics.Poll("not_due", metrics.PollStats{})
		return due.Sub(now), nil
	}
	// Due. Go on only if the run will not hold a worker waiting
	// (fair.go); until it really starts, no run is counted and a
	// requested run stays requested.
	release, ok := e.orgs.tryAcquire(inst.OrgID, kindPoll)
	if !ok {
		e.deferPoll("org_cap")
		return jittered(orgCapDelay, orgCapJitter), nil
	}
	defer release()
	target, err := e.target(inst, a.Resource)
	if errors.Is(err, element.ErrUpstreamNotAllowed) {
		// Stored before an upgrade or a change of --allow-upstream: never
		// dialled, and said so on the instance.
		if err := e.cfg.Instances.MarkUpstreamRefused(ctx, inst, err); err != nil {
			return 0, err
		}
		e.log.Warn("instance's upstream URL is not allowed; its polls pause until it changes", "instance", inst.ID)
		return p.Interval, nil
	}
	if err != nil {
		// The stored configuration cannot be used (a key that no longer
		// decrypts, say): say so on the poll and try again later.
		st.PollFailed(ctx, a.InstanceID, a.Resource, now, err.Error())
		e.cfg.Metrics.Poll("failed", metrics.PollStats{})
		return retryDelay(p.Failures+1, p.Interval), nil
	}
	if g, ok := target.Conn.(element.Gate); ok {
		ok, retryIn := g.Reserve()
		if !ok {
			e.deferPoll("account_busy")
			return jittered(max(retryIn, accountBusyDelay), accountBusyJitter), nil
		}
		// The run's first request takes the reservation; if it never
		// makes one (or fails before), it is given back here.
		defer g.Release()
	}
	if !p.RunNow && !p.LastRunAt.IsZero() && p.PausedReason == "" && p.Failures == 0 {
		e.cfg.Metrics.PollStarted(now.Sub(p.LastRunAt.Add(p.Interval)))
	}
	stats, err := e.runner.Run(ctx, target)
	e.recordQuota(ctx, inst, target)
	if err != nil {
		if !shuttingDown(ctx) {
			e.cfg.Metrics.Poll("failed", metrics.PollStats{Records: stats.Read})
		}
		return e.failed(ctx, inst, p, err)
	}
	if stats.Read > 0 && stats.Unreadable == stats.Read {
		// Not one record has what the configuration names (an object the
		// element could not know, say): pause rather than poll for nothing.
		reason := fmt.Sprintf("every %s record read has %s: change event.poller.configuration.%s (retried hourly, or when the instance changes)",
			a.Resource, stats.Unusable, a.Resource)
		st.PausePoll(ctx, a.InstanceID, a.Resource, reason)
		e.log.Warn("poll paused: its records lack the configured fields", "instance", a.InstanceID, "resource", a.Resource, "why", stats.Unusable)
		return max(p.Interval, pausedRecheck), nil
	}
	e.cfg.Metrics.Poll("ok", metrics.PollStats{Records: stats.Read, Created: stats.Created,
		Updated: stats.Events - stats.Created, Notifications: stats.Notified})
	e.log.Debug("polled", "instance", a.InstanceID, "resource", a.Resource, "records", stats.Read,
		"events", stats.Events, "pages", stats.Pages)
	if d := target.Config.Config.Deletes; d.Enabled && (p.LastScanAt.IsZero() || !p.LastScanAt.Add(d.Interval).After(now)) {
		scan, err := e.runner.ScanDeletes(ctx, target)
		e.cfg.Metrics.Scanned(scan.Deleted, scan.Notified)
		if err != nil {
			if errors.Is(err, poller.ErrRemoved) {
				return 0, river.JobCancel(err)
			}
			e.log.Warn("delete scan failed", "instance", a.InstanceID, "resource", a.Resource, "err", err)
		}
		e.recordQuota(ctx, inst, target)
	}
	// A run or backfill asked for while this one ran is still asked for
	// (CommitRun keeps it): serve it now rather than an interval later.
	if stats.RunAgain {
		return time.Second, nil
	}
	return max(now.Add(p.Interval).Sub(e.cfg.Now()), time.Second), nil
}

// deferPoll counts a due poll that gave its worker back.
func (e *Engine) deferPoll(reason string) {
	e.cfg.Metrics.Poll("deferred", metrics.PollStats{})
	e.cfg.Metrics.Deferred(kindPoll, reason)
}

// failed decides what a failed run means (spec: design.md "Errors"):
// 401 invalidates the instance and pauses its polls until its
// credentials change; 403 or 404 pause this resource only (Insightly
// gates objects by plan); a spent quota pauses every poll of the account,
// on every replica, until the reset; a long rate limit waits it out;
// anything else retries with backoff. The cursor never moves.
func (e *Engine) failed(ctx context.Context, inst *store.Instance, p *store.Poll, err error) (time.Duration, error) {
	st := e.cfg.Store
	a := PollArgs{InstanceID: inst.ID, Resource: p.Resource}
	if errors.Is(err, poller.ErrRemoved) {
		return 0, river.JobCancel(err)
	}
	if shuttingDown(ctx) {
		return 0, nil // shutting down: resume at once elsewhere
	}
	// A run that hit --poll-timeout failed like any other: it backs off,
	// and what it still has to write is written after its deadline.
	ctx = context.WithoutCancel(ctx)
	now := e.cfg.Now()
	var b *element.Backoff
	switch status := element.StatusOf(err); {
	case errors.As(err, &b) && b.Quota:
		if err := st.SetAccountQuota(ctx, store.Quota{Account: inst.Account, Remaining: 0, ResetAt: b.Until}); err != nil {
			return 0, err
		}
		st.PausePoll(ctx, a.InstanceID, a.Resource, quotaPause+b.Until.UTC().Format(time.RFC3339))
		return b.Until.Sub(now) + time.Second, nil
	case errors.As(err, &b):
		return max(b.Until.Sub(now), time.Second), nil
	case status == http.StatusUnauthorized:
		reason := "Insightly refused the credentials (401) at " + now.UTC().Format(time.RFC3339) + ": " + err.Error()
		if err := st.SetInstanceValid(ctx, inst.ID, false, reason); err != nil {
			return 0, err
		}
		e.log.Warn("instance credentials refused; its polls pause until they change", "instance", inst.ID)
		return p.Interval, nil
	case status == http.StatusForbidden || status == http.StatusNotFound:
		reason := fmt.Sprintf("Insightly answered %d for %s: %v (retried hourly, or when the instance changes)", status, p.Resource, err)
		st.PausePoll(ctx, a.InstanceID, a.Resource, reason)
		return max(p.Interval, pausedRecheck), nil
	}
	e.log.Warn("poll failed", "instance", a.InstanceID, "resource", a.Resource, "err", err)
	return retryDelay(p.Failures+1, p.Interval), nil
}

// recordQuota shares what the upstream said of the account's quota.
func (e *Engine) recordQuota(ctx context.Context, inst *store.Instance, t poller.Target) {
	qr, ok := t.Conn.(element.QuotaReporter)
	if !ok || inst.Account == "" {
		return
	}
	limit, remaining := qr.Quota()
	if remaining < 0 {
		return
	}
	q, err := e.cfg.Store.AccountQuota(ctx, inst.Account)
	if err != nil || (q.Limit == limit && q.Remaining == remaining) || q.ResetAt.After(e.cfg.Now()) {
		return
	}
	e.cfg.Store.SetAccountQuota(ctx, store.Quota{Account: inst.Account, Limit: limit, Remaining: remaining})
}

// target prepares a poll of one resource of an instance.
func (e *Engine) target(inst *store.Instance, resource string) (poller.Target, error) {
	raw, _ := inst.ConfigValue(instance.KeyPollerConfig)
	pc, err := pollconfig.Parse([]byte(raw), nil)
	if err != nil {
		return poller.Target{}, err
	}
	r, ok := pc.Resources[resource]
	if !ok {
		return poller.Target{}, errors.New("resource " + strconv.Quote(resource) + " is not in the poller configuration")
	}
	compiled, err := r.Compile()
	if err != nil {
		return poller.Target{}, err
	}
	conn, err := e.cfg.Instances.Open(inst)
	if err != nil {
		return poller.Target{}, err
	}
	t := poller.Target{OrgID: inst.OrgID, InstanceID: inst.ID, Resource: resource, Conn: conn, Config: compiled}
	if url, ok := inst.ConfigValue(instance.KeyCallbackURL); ok && url != "" {
		hub := ""
		if el, ok := e.cfg.Instances.Elements.Get(inst.ElementKey); ok {
			hub = el.Info().Hub
		}
		t.Notify = &poller.Notify{CallbackURL: url, Meta: delivery.Meta{OrgID: inst.OrgID, UserID: inst.UserID,
			InstanceID: inst.ID, InstanceName: inst.Name, InstanceTags: inst.Tags, ElementKey: inst.ElementKey, HubKey: hub}}
	}
	return t, nil
}
