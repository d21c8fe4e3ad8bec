package jobs

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/pollhook/pollhook/internal/element/insightly"
	"github.com/pollhook/pollhook/internal/poller"
	sim "github.com/pollhook/pollhook/internal/sim/insightly"
	"github.com/pollhook/pollhook/internal/store"
)

// A poll that runs out of --poll-timeout failed: it is recorded as a
// failure and backs off. Only a shutdown (a cancelled context) hands the
// job back at once.
func TestPollTimeoutIsAFailure(t *testing.T) {
	t.Parallel()
	r := newRig(t, sim.Config{Records: 5})
	v := r.create(r.sim.APIKey(), map[string]any{"contacts": map[string]any{}})
	r.sim.SetFaults(sim.Faults{Latency: sim.Duration(5 * time.Second)})

	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	d, err := r.e.pollOnce(ctx, PollArgs{InstanceID: v.ID, Resource: "contacts"})
	if err != nil {
		t.Fatal(err)
	}
	if d < 30*time.Second {
		t.Errorf("a timed-out poll snoozes %s: it must back off like a failure", d)
	}
	if p := r.pollRow(v, "contacts"); p.Failures != 1 || !strings.Contains(p.LastError, "deadline") {
		t.Errorf("after the timeout: %d failures, last error %q", p.Failures, p.LastError)
	}

	// A shutdown: handed back at once, to resume elsewhere.
	r.clock.Advance(31 * time.Second)
	ctx, cancel = context.WithCancel(context.Background())
	time.AfterFunc(300*time.Millisecond, cancel)
	if d, err := r.e.pollOnce(ctx, PollArgs{InstanceID: v.ID, Resource: "contacts"}); err != nil || d != 0 {
		t.Errorf("a cancelled poll: %s %v, want 0", d, err)
	}
}

// After the daily quota's reset, a poll that hit the quota runs at the
// reset, not an hour later like a poll paused by a 403.
func TestQuotaResetResumesAtOnce(t *testing.T) {
	t.Parallel()
	r := newRig(t, sim.Config{Records: 5})
	v := r.create(r.sim.APIKey(), map[string]any{"contacts": map[string]any{}})
	r.poll(v, "contacts")
	ctx := context.Background()
	inst, _ := r.st.InstanceByID(ctx, v.ID)
	reset := r.clock.Now().Add(25 * time.Minute)
	if err := r.st.SetAccountQuota(ctx, store.Quota{Account: inst.Account, Remaining: 0, ResetAt: reset}); err != nil {
		t.Fatal(err)
	}
	r.limits.For(inst.Account).Exhaust(0, reset)
	r.clock.Advance(time.Minute)
	if d := r.poll(v, "contacts"); d < 24*time.Minute {
		t.Errorf("with the quota spent the poll snoozes %s, want until the reset", d)
	}
	if p := r.pollRow(v, "contacts"); !strings.HasPrefix(p.PausedReason, poller.QuotaPause) {
		t.Fatalf("paused reason %q", p.PausedReason)
	}
	runs := r.pollRow(v, "contacts").Runs
	r.clock.Set(reset.Add(time.Second))
	d := r.poll(v, "contacts")
	if p := r.pollRow(v, "contacts"); p.Runs != runs+1 || p.PausedReason != "" {
		t.Errorf("at the reset: %d runs (want %d), paused %q, snooze %s", p.Runs, runs+1, p.PausedReason, d)
	}
	// The status says the same: the next run one interval on.
	st, err := r.e.Status(ctx, inst)
	if err != nil || len(st.Polls) != 1 || st.Polls[0].NextRunAt != reset.Add(time.Second).Add(time.Minute).UTC().Format(time.RFC3339) {
		t.Errorf("status next run %+v %v", st, err)
	}
}

// A run asked for while a run is under way is served right after it,
// not an interval later.
func TestRunAskedDuringARunIsServed(t *testing.T) {
	t.Parallel()
	r := newRig(t, sim.Config{Records: 5})
	v := r.create(r.sim.APIKey(), map[string]any{"contacts": map[string]any{}})
	r.poll(v, "contacts")
	r.clock.Advance(2 * time.Minute)
	// The request comes while the run reads its page.
	asked := false
	r.sent.hook = func() {
		if !asked {
			asked = true
			inst, _ := r.st.InstanceByID(context.Background(), v.ID)
			r.clock.Advance(time.Second)
			if _, err := r.e.RunNow(context.Background(), inst, "contacts", time.Time{}); err != nil {
				t.Error(err)
			}
		}
	}
	if d := r.poll(v, "contacts"); d > time.Second {
		t.Errorf("a run asked for during a run waits %s", d)
	}
	if p := r.pollRow(v, "contacts"); !p.RunNow {
		t.Error("the request made during the run was cleared by it")
	}
}

// A delete scan that runs out of time still records that it was
// incomplete (the statements outlive the scan's context).
func TestTimedOutDeleteScanSaysSo(t *testing.T) {
	t.Parallel()
	r := newRig(t, sim.Config{Records: 5})
	var defaults map[string]map[string]any
	json.Unmarshal(insightly.NewElement(insightly.Options{}).DefaultPollerConfig(), &defaults)
	contacts := defaults["contacts"]
	contacts["deletes"] = map[string]any{"scanEveryMinutes": 60}
	v := r.create(r.sim.APIKey(), map[string]any{"contacts": contacts})
	ctx := context.Background()
	inst, _ := r.st.InstanceByID(ctx, v.ID)
	target, err := r.e.polls.Target(inst, "contacts")
	if err != nil {
		t.Fatal(err)
	}
	r.sim.SetFaults(sim.Faults{Latency: sim.Duration(5 * time.Second)})
	tctx, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
	defer cancel()
	if _, err := r.e.polls.Runner.ScanDeletes(tctx, target); err == nil {
		t.Fatal("the scan did not time out")
	}
	if p := r.pollRow(v, "contacts"); !strings.Contains(p.LastScanNote, "incomplete") {
		t.Errorf("scan note %q", p.LastScanNote)
	}
}

// A resource whose records lack the fields its configuration names (an
// object the element could not know, its guessed default; or a typo)
// pauses at its first poll, with a reason that names them.
func TestFirstPollPausesWhenRecordsLackTheFields(t *testing.T) {
	t.Parallel()
	r := newRig(t, sim.Config{Records: 5})
	v := r.create(r.sim.APIKey(), map[string]any{
		"contacts": map[string]any{"datesConfiguration": map[string]any{"updatedDateField": "LAST_CHANGED_UTC", "updatedDateFormat": "yyyy-MM-dd HH:mm:ss"}},
		"leads":    map[string]any{}})
	r.clock.Advance(time.Second)
	r.sim.Step(20) // records changed since polling began: the window reads some
	if d := r.poll(v, "contacts"); d < time.Hour {
		t.Errorf("snoozes %s, want the hourly recheck of a paused poll", d)
	}
	p := r.pollRow(v, "contacts")
	if !strings.Contains(p.PausedReason, "LAST_CHANGED_UTC") || !strings.Contains(p.PausedReason, "event.poller.configuration.contacts") {
		t.Errorf("paused reason %q", p.PausedReason)
	}
	r.poll(v, "leads")
	if p := r.pollRow(v, "leads"); p.PausedReason != "" {
		t.Errorf("leads paused too: %q", p.PausedReason)
	}
}
