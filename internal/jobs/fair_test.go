package jobs

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pollhook/pollhook/internal/auth"
	"github.com/pollhook/pollhook/internal/element/insightly"
	"github.com/pollhook/pollhook/internal/instance"
	sim "github.com/pollhook/pollhook/internal/sim/insightly"
	"github.com/pollhook/pollhook/internal/store"
)

func TestOrgJobsCountsEachOrganizationAndKindApart(t *testing.T) {
	t.Parallel()
	o := newOrgJobs(2)
	r1, ok1 := o.tryAcquire(1, kindPoll)
	_, ok2 := o.tryAcquire(1, kindPoll)
	if _, ok3 := o.tryAcquire(1, kindPoll); !ok1 || !ok2 || ok3 {
		t.Fatalf("three polls of one organization under a cap of 2: %v %v %v", ok1, ok2, ok3)
	}
	if _, ok := o.tryAcquire(1, kindDeliver); !ok {
		t.Error("a delivery was refused because of the organization's polls")
	}
	if _, ok := o.tryAcquire(2, kindPoll); !ok {
		t.Error("another organization's poll was refused")
	}
	r1()
	r1() // a second call uncounts nothing
	if n := o.count(1, kindPoll); n != 1 {
		t.Fatalf("after one release: %d polls counted, want 1", n)
	}
	if _, ok := o.tryAcquire(1, kindPoll); !ok {
		t.Error("the released place was refused")
	}
	if _, ok := o.tryAcquire(1, kindPoll); ok {
		t.Error("a double release freed two places")
	}

	// Concurrent jobs never exceed the cap.
	o = newOrgJobs(3)
	var running, peak atomic.Int64
	var wg sync.WaitGroup
	for range 64 {
		wg.Go(func() {
			for range 50 {
				release, ok := o.tryAcquire(7, kindPoll)
				if !ok {
					continue
				}
				n := running.Add(1)
				for p := peak.Load(); n > p && !peak.CompareAndSwap(p, n); p = peak.Load() {
				}
				running.Add(-1)
				release()
			}
		})
	}
	wg.Wait()
	if peak.Load() > 3 || o.count(7, kindPoll) != 0 {
		t.Fatalf("peak %d jobs under a cap of 3; %d still counted", peak.Load(), o.count(7, kindPoll))
	}
}

func TestOrgMaxJobsDefault(t *testing.T) {
	t.Parallel()
	for workers, want := range map[int]int{100: 50, 8: 4, 3: 1, 1: 1} {
		if got := OrgMaxJobsDefault(workers); got != want {
			t.Errorf("OrgMaxJobsDefault(%d) = %d, want %d", workers, got, want)
		}
	}
}

// holdSlots takes n in-flight slots of an account, as requests waiting
// on a slow upstream would, each held by a client until its Release.
func holdSlots(t *testing.T, l *insightly.Limiter, n int) []*insightly.Client {
	t.Helper()
	var held []*insightly.Client
	for range n {
		c, err := insightly.New(insightly.Config{APIKey: "x", Limiter: l})
		if err != nil {
			t.Fatal(err)
		}
		if ok, _ := c.Reserve(); !ok {
			t.Fatalf("slot %d of the account is not free", len(held)+1)
		}
		held = append(held, c)
	}
	return held
}

// A due poll whose account has no request slot free gives its worker
// back at once: no request, no failure, no run counted, and the run it
// was asked for still pending. Once a slot frees it runs, and leaves
// every slot free.
func TestPollGivesItsWorkerBackWhileItsAccountIsBusy(t *testing.T) {
	t.Parallel()
	r := newRig(t, sim.Config{Records: 5})
	ctx := context.Background()
	v := r.create(r.sim.APIKey(), map[string]any{"contacts": map[string]any{}})
	r.poll(v, "contacts")
	inst, err := r.st.InstanceByID(ctx, v.ID)
	if err != nil || inst.Account == "" {
		t.Fatalf("instance %+v: %v", inst, err)
	}
	if _, err := r.e.RunNow(ctx, inst, "contacts", time.Time{}); err != nil {
		t.Fatal(err)
	}
	l := r.limits.For(inst.Account)
	held := holdSlots(t, l, 8) // the rig's limiter has 8

	sent := r.sent.n.Load()
	// A poll that waited for a slot would wait until its context ends.
	waitCtx, cancel := context.WithTimeout(ctx, 5*time.Second)
	d, err := r.e.pollOnce(waitCtx, PollArgs{InstanceID: v.ID, Resource: "contacts"})
	waited := waitCtx.Err() != nil
	cancel()
	if err != nil || waited {
		t.Fatalf("the poll waited for its account's slot instead of giving its worker back (%v)", err)
	}
	p := r.pollRow(v, "contacts")
	if d < accountBusyDelay || d > accountBusyDelay+accountBusyJitter {
		t.Errorf("deferred for %s, want %s to %s", d, accountBusyDelay, accountBusyDelay+accountBusyJitter)
	}
	if r.sent.n.Load() != sent || p.Runs != 1 || p.Failures != 0 || p.LastError != "" || !p.RunNow {
		t.Fatalf("a deferred poll sent %d requests, runs %d, failures %d %q, run now %v",
			r.sent.n.Load()-sent, p.Runs, p.Failures, p.LastError, p.RunNow)
	}

	held[0].Release()
	r.poll(v, "contacts")
	if p := r.pollRow(v, "contacts"); p.Runs != 2 || p.RunNow || r.sent.n.Load() == sent {
		t.Fatalf("once a slot freed: runs %d, run now %v", p.Runs, p.RunNow)
	}
	// The run gave its slot back: it can be taken again.
	held[0] = holdSlots(t, l, 1)[0]
	for _, c := range held {
		c.Release()
	}
}

// An organization running its cap of polls defers its next poll, not its
// deliveries, nor another organization's polls; and the other way round.
func TestOrgCapDefersOnlyThatOrganizationAndKind(t *testing.T) {
	t.Parallel()
	r := newRig(t, sim.Config{Records: 3})
	ctx := context.Background()
	rv := newReceiver(t)
	v, cbID := r.withEvents(rv, 2)
	org := r.caller.Org.ID
	limit := r.e.cfg.OrgMaxJobs
	hold := func(kind string) []func() {
		var out []func()
		for range limit {
			release, ok := r.e.orgs.tryAcquire(org, kind)
			if !ok {
				t.Fatalf("the organization's %s place %d is not free", kind, len(out)+1)
			}
			out = append(out, release)
		}
		return out
	}
	polls, deliveries := hold(kindPoll), hold(kindDeliver)

	inst, _ := r.st.InstanceByID(ctx, v.ID)
	if _, err := r.e.RunNow(ctx, inst, "contacts", time.Time{}); err != nil {
		t.Fatal(err)
	}
	runs, sent := r.pollRow(v, "contacts").Runs, r.sent.n.Load()
	if d := r.poll(v, "contacts"); d < orgCapDelay || d > orgCapDelay+orgCapJitter {
		t.Errorf("poll deferred for %s, want %s to %s", d, orgCapDelay, orgCapDelay+orgCapJitter)
	}
	if p := r.pollRow(v, "contacts"); p.Runs != runs || !p.RunNow || p.Failures != 0 || r.sent.n.Load() != sent {
		t.Fatalf("a poll over the cap ran: runs %d → %d, run now %v, failures %d", runs, p.Runs, p.RunNow, p.Failures)
	}
	if d := r.deliver(cbID); d < orgCapDelay || d > orgCapDelay+orgCapJitter || len(rv.hits()) != 0 {
		t.Fatalf("delivery over the cap: deferred %s, %d sent", d, len(rv.hits()))
	}

	// Another organization is not held back.
	org2 := &store.Organization{Name: "o2", SecretHash: auth.Hash("o2")}
	r.st.CreateOrganization(ctx, org2)
	u2 := &store.User{OrgID: org2.ID, Email: "u2@x", SecretHash: auth.Hash("u2")}
	r.st.CreateUser(ctx, u2)
	other := r.createAs(instance.Caller{Org: org2, User: u2}, r.sim.APIKey(), map[string]any{"contacts": map[string]any{}}, rv.srv.URL+"/other")
	r.poll(other, "contacts")
	if p := r.pollRow(other, "contacts"); p.Runs != 1 {
		t.Fatalf("another organization's poll: %d runs", p.Runs)
	}

	// Deliveries are counted apart from polls: one place frees, the
	// delivery goes out, and gives its place back.
	deliveries[0]()
	r.deliver(cbID)
	if len(rv.hits()) == 0 || r.e.orgs.count(org, kindDeliver) != limit-1 {
		t.Fatalf("with a delivery place free: %d sent, %d deliveries counted", len(rv.hits()), r.e.orgs.count(org, kindDeliver))
	}
	if p := r.pollRow(v, "contacts"); p.Runs != runs {
		t.Fatal("the poll ran while its organization was at its cap of polls")
	}
	polls[0]()
	r.poll(v, "contacts")
	if p := r.pollRow(v, "contacts"); p.Runs != runs+1 || p.RunNow || r.e.orgs.count(org, kindPoll) != limit-1 {
		t.Fatalf("with a poll place free: runs %d, run now %v, %d polls counted", p.Runs, p.RunNow, r.e.orgs.count(org, kindPoll))
	}
	for _, release := range append(polls[1:], deliveries[1:]...) {
		release()
	}
}
