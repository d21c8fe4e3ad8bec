package jobs

import (
	"context"
	"encoding/base64"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pollhook/pollhook/internal/auth"
	"github.com/pollhook/pollhook/internal/element/insightly"
	"github.com/pollhook/pollhook/internal/fair"
	"github.com/pollhook/pollhook/internal/instance"
	sim "github.com/pollhook/pollhook/internal/sim/insightly"
	"github.com/pollhook/pollhook/internal/store"
)

// receiver is a webhook receiver that counts what it is sent (package
// delivery's tests check the signatures and the order).
type receiver struct {
	srv *httptest.Server
	n   atomic.Int64
}

func newReceiver(t *testing.T) *receiver {
	rv := &receiver{}
	rv.srv = httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { rv.n.Add(1) }))
	t.Cleanup(rv.srv.Close)
	return rv
}

// withEvents creates an instance whose contacts poll produces n events
// (records created after polling began), notified to rv, and returns it
// with its callback's id.
func (r *rig) withEvents(rv *receiver, n int) (*instance.View, int64) {
	r.t.Helper()
	v := r.createWith(r.sim.APIKey(), map[string]any{"contacts": map[string]any{}}, rv.srv.URL+"/hook")
	r.poll(v, "contacts")
	for range n {
		req, _ := http.NewRequest("POST", r.simURL+"/Contacts", strings.NewReader(`{"LAST_NAME":"N"}`))
		req.Header.Set("Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte(r.sim.APIKey()+":")))
		resp, err := http.DefaultClient.Do(req)
		if err != nil || resp.StatusCode != http.StatusCreated {
			r.t.Fatalf("create contact: %v %v", resp, err)
		}
		resp.Body.Close()
	}
	r.clock.Advance(61 * time.Second)
	r.poll(v, "contacts")
	cb, err := r.st.CallbackFor(context.Background(), r.caller.Org.ID, rv.srv.URL+"/hook")
	if err != nil {
		r.t.Fatal(err)
	}
	return v, cb.ID
}

func (r *rig) deliver(cbID int64) time.Duration {
	r.t.Helper()
	d, err := r.e.pipeline.Drain(context.Background(), cbID)
	if err != nil {
		r.t.Fatal(err)
	}
	return d
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
	if d < fair.AccountBusyDelay || d > fair.AccountBusyDelay+fair.AccountBusyJitter {
		t.Errorf("deferred for %s, want %s to %s", d, fair.AccountBusyDelay, fair.AccountBusyDelay+fair.AccountBusyJitter)
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
	hold := func(kind fair.Kind) []func() {
		var out []func()
		for range limit {
			release, ok := r.e.orgs.TryAcquire(org, kind)
			if !ok {
				t.Fatalf("the organization's %s place %d is not free", kind, len(out)+1)
			}
			out = append(out, release)
		}
		return out
	}
	polls, deliveries := hold(fair.Poll), hold(fair.Deliver)

	inst, _ := r.st.InstanceByID(ctx, v.ID)
	if _, err := r.e.RunNow(ctx, inst, "contacts", time.Time{}); err != nil {
		t.Fatal(err)
	}
	runs, sent := r.pollRow(v, "contacts").Runs, r.sent.n.Load()
	if d := r.poll(v, "contacts"); d < fair.OrgCapDelay || d > fair.OrgCapDelay+fair.OrgCapJitter {
		t.Errorf("poll deferred for %s, want %s to %s", d, fair.OrgCapDelay, fair.OrgCapDelay+fair.OrgCapJitter)
	}
	if p := r.pollRow(v, "contacts"); p.Runs != runs || !p.RunNow || p.Failures != 0 || r.sent.n.Load() != sent {
		t.Fatalf("a poll over the cap ran: runs %d → %d, run now %v, failures %d", runs, p.Runs, p.RunNow, p.Failures)
	}
	if d := r.deliver(cbID); d < fair.OrgCapDelay || d > fair.OrgCapDelay+fair.OrgCapJitter || int(rv.n.Load()) != 0 {
		t.Fatalf("delivery over the cap: deferred %s, %d sent", d, int(rv.n.Load()))
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
	if int(rv.n.Load()) == 0 || r.e.orgs.Count(org, fair.Deliver) != limit-1 {
		t.Fatalf("with a delivery place free: %d sent, %d deliveries counted", int(rv.n.Load()), r.e.orgs.Count(org, fair.Deliver))
	}
	if p := r.pollRow(v, "contacts"); p.Runs != runs {
		t.Fatal("the poll ran while its organization was at its cap of polls")
	}
	polls[0]()
	r.poll(v, "contacts")
	if p := r.pollRow(v, "contacts"); p.Runs != runs+1 || p.RunNow || r.e.orgs.Count(org, fair.Poll) != limit-1 {
		t.Fatalf("with a poll place free: runs %d, run now %v, %d polls counted", p.Runs, p.RunNow, r.e.orgs.Count(org, fair.Poll))
	}
	for _, release := range append(polls[1:], deliveries[1:]...) {
		release()
	}
}
