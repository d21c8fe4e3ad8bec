package jobs

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pollhook/pollhook/internal/auth"
	"github.com/pollhook/pollhook/internal/element"
	"github.com/pollhook/pollhook/internal/element/insightly"
	"github.com/pollhook/pollhook/internal/instance"
	"github.com/pollhook/pollhook/internal/netguard"
	"github.com/pollhook/pollhook/internal/poller"
	"github.com/pollhook/pollhook/internal/seal"
	sim "github.com/pollhook/pollhook/internal/sim/insightly"
	"github.com/pollhook/pollhook/internal/store"
)

// countingTransport counts requests that reach the simulator.
type countingTransport struct {
	n atomic.Int64
	// hook, when set, runs before each request (in the caller's goroutine).
	hook func()
	// least is the lowest X-RateLimit-Remaining an answer stated, plus
	// one (0: none stated yet).
	least atomic.Int64
}

func (c *countingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	c.n.Add(1)
	if c.hook != nil {
		c.hook()
	}
	resp, err := http.DefaultTransport.RoundTrip(r)
	if err == nil {
		if left, err := strconv.ParseInt(resp.Header.Get("X-RateLimit-Remaining"), 10, 64); err == nil {
			for {
				old := c.least.Load()
				if (old != 0 && old <= left+1) || c.least.CompareAndSwap(old, left+1) {
					break
				}
			}
		}
	}
	return resp, err
}

// rig is the engine polling a simulator over HTTP on a manual clock, with
// instances made through the real instance service.
type rig struct {
	t      *testing.T
	sim    *sim.Sim
	simURL string
	clock  *sim.ManualClock
	st     *store.Store
	svc    *instance.Service
	e      *Engine
	caller instance.Caller
	sent   *countingTransport
	limits *insightly.Limits
}

// rigOptions vary a rig; the zero value is newRig's.
type rigOptions struct {
	dsn     string    // default a new SQLite database
	start   time.Time // the clock's start; default now
	reserve float64   // --quota-reserve; default 0
}

func newRig(t *testing.T, cfg sim.Config) *rig {
	t.Helper()
	return newRigWith(t, cfg, rigOptions{})
}

func newRigWith(t *testing.T, cfg sim.Config, o rigOptions) *rig {
	t.Helper()
	start := o.start
	if start.IsZero() {
		start = time.Now().UTC().Truncate(time.Second)
	}
	clock := sim.NewManualClock(start)
	cfg.Now = clock.Now
	if cfg.RateLimit == 0 {
		cfg.RateLimit = -1
	}
	s := sim.New(cfg)
	srv := httptest.NewServer(s.Handler())
	t.Cleanup(srv.Close)
	ctx := context.Background()
	dsn := o.dsn
	if dsn == "" {
		dsn = "sqlite:" + filepath.Join(t.TempDir(), "db")
	}
	st, err := store.Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	keys, _ := seal.Parse(seal.NewKey("k1"))
	sent := &countingTransport{}
	limits := insightly.NewLimits(1e6, 8)
	el := insightly.NewElement(insightly.Options{Upstreams: insightly.Upstreams{Allow: netguard.AllowList{{Host: "127.0.0.1"}}}, HTTPClient: &http.Client{Transport: sent}, Limits: limits,
		// Waiting moves the manual clock: retries and pauses take no real time.
		Sleep:   func(ctx context.Context, d time.Duration) error { clock.Advance(d); return ctx.Err() },
		Backoff: func(int) time.Duration { return time.Millisecond }, Now: clock.Now})
	svc := &instance.Service{Store: st, Elements: element.NewRegistry(el), Keys: keys, AllowPrivateCallbacks: true}
	e, err := New(ctx, Config{Store: st, Instances: svc, Now: clock.Now, AllowPrivateCallbacks: true,
		DeliveryTimeout: 300 * time.Millisecond, Jitter: func() float64 { return 0.5 }, QuotaReserve: o.reserve})
	if err != nil {
		t.Fatal(err)
	}
	svc.Scheduler = e
	org := &store.Organization{Name: "o", SecretHash: auth.Hash("o")}
	st.CreateOrganization(ctx, org)
	u := &store.User{OrgID: org.ID, Email: "u@x", SecretHash: auth.Hash("u")}
	st.CreateUser(ctx, u)
	return &rig{t: t, sim: s, simURL: srv.URL + "/v3.1", clock: clock, st: st, svc: svc, e: e,
		caller: instance.Caller{Org: org, User: u}, sent: sent, limits: limits}
}

// create makes an instance polling resources every minute.
func (r *rig) create(key string, pollers map[string]any) *instance.View {
	r.t.Helper()
	return r.createWith(key, pollers, "http://127.0.0.1:1/hook")
}

func (r *rig) createWith(key string, pollers map[string]any, callback string) *instance.View {
	r.t.Helper()
	return r.createAs(r.caller, key, pollers, callback)
}

func (r *rig) createAs(caller instance.Caller, key string, pollers map[string]any, callback string) *instance.View {
	r.t.Helper()
	body, _ := json.Marshal(map[string]any{"element": map[string]any{"key": "insightly"}, "name": "i",
		"configuration": map[string]any{"password": key, "base.url": r.simURL, "event.notification.enabled": true,
			"event.notification.callback.url": callback, "event.poller.refresh_interval": 1,
			"event.poller.configuration": pollers}})
	v, err := r.svc.Create(context.Background(), caller, "", body)
	if err != nil {
		r.t.Fatal(err)
	}
	return v
}

func (r *rig) poll(v *instance.View, resource string) time.Duration {
	r.t.Helper()
	d, err := r.e.pollOnce(context.Background(), PollArgs{InstanceID: v.ID, Resource: resource})
	if err != nil {
		r.t.Fatalf("pollOnce %s: %v", resource, err)
	}
	return d
}

func (r *rig) pollRow(v *instance.View, resource string) *store.Poll {
	r.t.Helper()
	p, err := r.st.GetPoll(context.Background(), v.ID, resource)
	if err != nil {
		r.t.Fatal(err)
	}
	return p
}

func (r *rig) events(v *instance.View, typ string) map[string]int {
	r.t.Helper()
	evs, err := r.st.Events(context.Background(), r.caller.Org.ID, store.EventFilter{InstanceID: v.ID})
	if err != nil {
		r.t.Fatal(err)
	}
	out := map[string]int{}
	for _, e := range evs {
		if e.Type == typ {
			out[e.ObjectID]++
		}
	}
	return out
}

// deleteContact deletes a record in the simulator as a user would.
func (r *rig) deleteRecord(object string, id int64) {
	r.t.Helper()
	req, _ := http.NewRequest("DELETE", r.simURL+"/"+object+"/"+strconv.FormatInt(id, 10), nil)
	req.Header.Set("Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte(r.sim.APIKey()+":")))
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != 202 {
		r.t.Fatalf("delete %s %d: %v %v", object, id, resp, err)
	}
	resp.Body.Close()
}

func contactsWithDeletes(every int) map[string]any {
	return map[string]any{"contacts": map[string]any{
		"url":     "/hubs/crm/contacts?where=updated_after_utc='${gmtDate:yyyy-MM-dd HH:mm:ss}'",
		"idField": "CONTACT_ID",
		"datesConfiguration": map[string]any{"updatedDateField": "DATE_UPDATED_UTC", "updatedDateFormat": "yyyy-MM-dd HH:mm:ss",
			"createdDateField": "DATE_CREATED_UTC", "createdDateFormat": "yyyy-MM-dd HH:mm:ss"},
		"deletes": map[string]any{"scanEveryMinutes": every}}}
}

func TestDeletesFoundOnceAfterACompleteConfirmedScan(t *testing.T) {
	t.Parallel()
	r := newRig(t, sim.Config{Records: 40, Seed: 3})
	v := r.create(r.sim.APIKey(), contactsWithDeletes(5))
	ctx := context.Background()
	r.poll(v, "contacts") // first run, and the baseline scan
	p := r.pollRow(v, "contacts")
	if !strings.HasPrefix(p.LastScanNote, "baseline: 40 records known") || p.LastScanAt.IsZero() {
		t.Fatalf("baseline: %q", p.LastScanNote)
	}
	contacts, _ := r.sim.Records(r.sim.APIKey(), "Contacts")
	id := func(i int) int64 { return contacts[i]["CONTACT_ID"].(int64) }
	for _, i := range []int{0, 7, 20} {
		r.deleteRecord("Contacts", id(i))
	}
	// Not yet due: the scan runs every 5 minutes.
	r.clock.Advance(61 * time.Second)
	r.poll(v, "contacts")
	if n := len(r.events(v, "DELETED")); n != 0 {
		t.Fatalf("%d deletions reported before the scan was due", n)
	}
	r.clock.Advance(5 * time.Minute)
	r.poll(v, "contacts")
	deleted := r.events(v, "DELETED")
	if len(deleted) != 3 || deleted[strconv.FormatInt(id(7), 10)] != 1 {
		t.Fatalf("deleted: %v", deleted)
	}
	// The next scan reports nothing again.
	r.clock.Advance(6 * time.Minute)
	r.poll(v, "contacts")
	if got := r.events(v, "DELETED"); len(got) != 3 {
		t.Fatalf("a second scan: %v", got)
	}

	// A scan cut short by an outage deletes nothing.
	r.deleteRecord("Contacts", id(30))
	inst, _ := r.st.InstanceByID(ctx, v.ID)
	target, err := r.e.polls.Target(inst, "contacts")
	if err != nil {
		t.Fatal(err)
	}
	r.sim.SetFaults(sim.Faults{FailNext: 100})
	if _, err := r.e.polls.Runner.ScanDeletes(ctx, target); err == nil {
		t.Fatal("the scan did not fail")
	}
	if got := r.events(v, "DELETED"); len(got) != 3 || !strings.Contains(r.pollRow(v, "contacts").LastScanNote, "incomplete") {
		t.Fatalf("after an incomplete scan: %v, %q", got, r.pollRow(v, "contacts").LastScanNote)
	}
	r.sim.SetFaults(sim.Faults{})
	if st, err := r.e.polls.Runner.ScanDeletes(ctx, target); err != nil || st.Deleted != 1 {
		t.Fatalf("the scan after the outage: %+v %v", st, err)
	}

	// Too many missing at once: distrusted, nothing deleted, and said so.
	for i := 1; i < 20; i++ {
		if i != 7 {
			r.deleteRecord("Contacts", id(i))
		}
	}
	st, err := r.e.polls.Runner.ScanDeletes(ctx, target)
	if err != nil || st.Deleted != 0 || !strings.Contains(st.Note, "distrusted") {
		t.Fatalf("distrust: %+v %v", st, err)
	}
	if got := r.events(v, "DELETED"); len(got) != 4 {
		t.Fatalf("a distrusted scan deleted: %v", got)
	}
	status, _ := r.e.Status(ctx, inst)
	if d := status.Polls[0].Deletes; d == nil || !strings.Contains(d.LastScan, "distrusted") || d.EveryMinutes != 5 {
		t.Errorf("status: %+v", d)
	}
}

// Records deleted while a scan pages (so the listing shifts under it) are
// not reported falsely, and every deletion is reported exactly once.
func TestDeleteScanRacingWithChurn(t *testing.T) {
	t.Parallel()
	r := newRig(t, sim.Config{Records: 1100, Seed: 8})
	v := r.create(r.sim.APIKey(), contactsWithDeletes(5))
	ctx := context.Background()
	r.poll(v, "contacts")
	inst, _ := r.st.InstanceByID(ctx, v.ID)
	target, _ := r.e.polls.Target(inst, "contacts")
	for range 3 {
		r.sim.SetFaults(sim.Faults{DeleteBetweenPages: map[string]int{"Contacts": 2}})
		r.sim.Step(30)
		if _, err := r.e.polls.Runner.ScanDeletes(ctx, target); err != nil {
			t.Fatal(err)
		}
		r.clock.Advance(time.Minute)
		r.poll(v, "contacts")
	}
	r.sim.SetFaults(sim.Faults{})
	if _, err := r.e.polls.Runner.ScanDeletes(ctx, target); err != nil {
		t.Fatal(err)
	}
	exists := map[string]bool{}
	live, _ := r.sim.Records(r.sim.APIKey(), "Contacts")
	for _, c := range live {
		exists[strconv.FormatInt(c["CONTACT_ID"].(int64), 10)] = true
	}
	deletedInSim := 0
	for _, c := range r.sim.Journal(0) {
		if c.Object == "Contacts" && c.Op == sim.OpDelete {
			deletedInSim++
			id := strconv.FormatInt(c.ID, 10)
			if n := r.events(v, "DELETED")[id]; n != 1 && c.Record["DATE_CREATED_UTC"].(string) < r.clock.Now().Add(-time.Hour).Format(time.DateTime) {
				t.Errorf("contact %s deleted (known since the baseline) reported %d times", id, n)
			}
		}
	}
	for id, n := range r.events(v, "DELETED") {
		if exists[id] || n != 1 {
			t.Errorf("contact %s: %d DELETED events, exists %v", id, n, exists[id])
		}
	}
	if deletedInSim < 6 {
		t.Errorf("only %d deletions happened; the test proves little", deletedInSim)
	}
}

func TestUnauthorizedPausesUntilCredentialsChange(t *testing.T) {
	t.Parallel()
	r := newRig(t, sim.Config{Records: 5})
	v := r.create(r.sim.APIKey(), map[string]any{"contacts": map[string]any{}, "leads": map[string]any{}})
	ctx := context.Background()
	r.poll(v, "contacts")
	r.sim.RevokeKey(r.sim.APIKey())
	r.clock.Advance(61 * time.Second)
	r.poll(v, "contacts")
	inst, _ := r.st.InstanceByID(ctx, v.ID)
	if inst.Valid || !strings.Contains(inst.InvalidReason, "401") {
		t.Fatalf("after a 401: valid %v, reason %q", inst.Valid, inst.InvalidReason)
	}
	// Paused: no more requests while the credentials are known bad.
	sent := r.sent.n.Load()
	r.clock.Advance(10 * time.Minute)
	r.poll(v, "contacts")
	r.poll(v, "leads")
	if n := r.sent.n.Load() - sent; n != 0 {
		t.Errorf("%d requests with refused credentials", n)
	}
	if got, _ := r.svc.Get(ctx, r.caller, v.ID); got.Valid {
		t.Error("the API shows the instance valid")
	}
	status, _ := r.e.Status(ctx, inst)
	if status.Valid || !strings.Contains(status.InvalidReason, "401") {
		t.Errorf("status: %+v", status)
	}
	// New credentials (another user's key) revalidate and resume.
	other := r.sim.Accounts()[0].Keys[1]
	if _, err := r.svc.Update(ctx, r.caller, v.ID, []byte(`{"configuration":{"password":"`+other+`"}}`), true); err != nil {
		t.Fatal(err)
	}
	r.poll(v, "contacts")
	if p := r.pollRow(v, "contacts"); p.Failures != 0 || p.LastOKAt.Before(r.clock.Now()) {
		t.Errorf("after new credentials: %+v", p)
	}
}

func TestForbiddenObjectPausesOnlyItsResource(t *testing.T) {
	t.Parallel()
	r := newRig(t, sim.Config{Records: 5})
	v := r.create(r.sim.APIKey(), map[string]any{"contacts": map[string]any{}, "leads": map[string]any{}})
	ctx := context.Background()
	r.sim.SetFaults(sim.Faults{Forbid: []string{"Leads"}})
	r.poll(v, "contacts")
	d := r.poll(v, "leads")
	if p := r.pollRow(v, "leads"); !strings.Contains(p.PausedReason, "403") || d < time.Hour {
		t.Fatalf("leads after a 403: %q, next in %s", p.PausedReason, d)
	}
	r.clock.Advance(61 * time.Second)
	r.poll(v, "contacts")
	if p := r.pollRow(v, "contacts"); p.PausedReason != "" || p.Runs != 2 || p.Failures != 0 {
		t.Errorf("contacts were held up: %+v", p)
	}
	// A change to the instance resumes it; with the object back, it polls.
	r.sim.SetFaults(sim.Faults{})
	if _, err := r.svc.Update(ctx, r.caller, v.ID, []byte(`{"tags":["upgraded"]}`), true); err != nil {
		t.Fatal(err)
	}
	if p := r.pollRow(v, "leads"); p.PausedReason != "" {
		t.Fatalf("still paused after the instance changed: %q", p.PausedReason)
	}
	r.clock.Advance(61 * time.Second)
	r.poll(v, "leads")
	if p := r.pollRow(v, "leads"); p.PausedReason != "" || p.LastOKAt.IsZero() {
		t.Errorf("leads after resuming: %+v", p)
	}
}

func TestRateLimits(t *testing.T) {
	t.Parallel()
	r := newRig(t, sim.Config{Records: 5})
	v := r.create(r.sim.APIKey(), map[string]any{"contacts": map[string]any{}})
	r.poll(v, "contacts")
	// A limiter that refills once in 100 s: Retry-After 100 is too long to
	// wait in a worker, so the job snoozes for it.
	slow := newRig(t, sim.Config{Records: 5, RateLimit: 0.01, Burst: 3})
	sv := slow.create(slow.sim.APIKey(), map[string]any{"contacts": map[string]any{}}) // two requests
	slow.poll(sv, "contacts")                                                          // the third
	slow.clock.Advance(61 * time.Second)
	d := slow.poll(sv, "contacts")
	if d < 90*time.Second || d > 101*time.Second {
		t.Errorf("with Retry-After 100: next in %s", d)
	}
	// Without Retry-After, the client's backoff retries, then the job backs off.
	slow.sim.SetFaults(sim.Faults{OmitRetryAfter: true})
	slow.clock.Advance(d)
	d = slow.poll(sv, "contacts")
	if p := slow.pollRow(sv, "contacts"); p.Failures != 2 || !strings.Contains(p.LastError, "rate limit") || d != poller.RetryDelay(2, time.Minute) {
		t.Errorf("without Retry-After: next in %s, %+v", d, p)
	}
}

func TestDailyQuotaPausesTheAccount(t *testing.T) {
	t.Parallel()
	r := newRig(t, sim.Config{Records: 5, DailyQuota: 12})
	ctx := context.Background()
	// Two instances of one Insightly account (two users' keys).
	keys := r.sim.Accounts()[0].Keys
	a := r.create(keys[0], map[string]any{"contacts": map[string]any{}})
	b := r.create(keys[1], map[string]any{"leads": map[string]any{}})
	r.poll(a, "contacts")
	// Another app spends the rest; a run asked for meets the 429.
	r.callAsAnotherApp(keys[0], 12)
	r.clock.Advance(61 * time.Second)
	inst, _ := r.st.InstanceByID(ctx, a.ID)
	if _, err := r.e.RunNow(ctx, inst, "contacts", time.Time{}); err != nil {
		t.Fatal(err)
	}
	r.poll(a, "contacts")
	q, _ := r.st.AccountQuota(ctx, inst.Account)
	if q.ResetAt.IsZero() {
		t.Fatalf("the quota was never reached: %+v", q)
	}
	// The other instance of the account waits without asking Insightly.
	sent := r.sent.n.Load()
	d := r.poll(b, "leads")
	if r.sent.n.Load() != sent || d < q.ResetAt.Sub(r.clock.Now()) {
		t.Errorf("b polled a spent account: %d requests, next in %s", r.sent.n.Load()-sent, d)
	}
	instB, _ := r.st.InstanceByID(ctx, b.ID)
	status, _ := r.e.Status(ctx, instB)
	if status.Quota == nil || status.Quota.ResetAt == "" || status.Quota.Remaining != 0 || !strings.Contains(status.Polls[0].PausedReason, "quota") {
		t.Errorf("status: %+v %+v", status.Quota, status.Polls)
	}
	// After the reset, both poll again.
	r.clock.Set(q.ResetAt.Add(2 * time.Second))
	r.poll(b, "leads")
	if p := r.pollRow(b, "leads"); p.LastOKAt.IsZero() || p.PausedReason != "" {
		t.Errorf("after the reset: %+v", p)
	}
}

func TestOutageShowsAndRecovers(t *testing.T) {
	t.Parallel()
	r := newRig(t, sim.Config{Records: 5})
	v := r.create(r.sim.APIKey(), map[string]any{"contacts": map[string]any{}})
	r.poll(v, "contacts")
	cursor := r.pollRow(v, "contacts").Cursor
	r.sim.SetFaults(sim.Faults{FailNext: 1000, FailStatus: 503})
	start := r.clock.Advance(61 * time.Second)
	for i := range 3 {
		d := r.poll(v, "contacts")
		if want := poller.RetryDelay(i+1, time.Minute); d != want {
			t.Errorf("failure %d: next in %s, want %s", i+1, d, want)
		}
		r.clock.Advance(d)
	}
	p := r.pollRow(v, "contacts")
	if p.Failures != 3 || !p.FailingSince.Equal(start) || !strings.Contains(p.LastError, "503") || !p.Cursor.Equal(cursor) {
		t.Errorf("during the outage: %+v", p)
	}
	r.sim.SetFaults(sim.Faults{})
	r.poll(v, "contacts")
	if p := r.pollRow(v, "contacts"); p.Failures != 0 || !p.FailingSince.IsZero() || !p.Cursor.After(cursor) {
		t.Errorf("after: %+v", p)
	}
}

// With FirstPollSpread, new polls start spread over their interval (at
// most the spread) instead of all at once; without, at once.
func TestFirstPollSpread(t *testing.T) {
	t.Parallel()
	r := newRig(t, sim.Config{Records: 3})
	ctx := context.Background()
	firstRuns := func() (earliest, latest time.Duration) {
		earliest = time.Hour
		start := time.Now()
		for range 12 {
			v := r.create(r.sim.APIKey(), map[string]any{"contacts": map[string]any{}})
			job, err := r.e.client.JobGet(ctx, r.pollRow(v, "contacts").JobID)
			if err != nil {
				t.Fatal(err)
			}
			at := job.ScheduledAt.Sub(start)
			earliest, latest = min(earliest, at), max(latest, at)
		}
		return earliest, latest
	}
	if earliest, latest := firstRuns(); earliest < -time.Second || latest > 5*time.Second {
		t.Errorf("without a spread, first runs from %s to %s after creation; want at once", earliest, latest)
	}
	r.e.cfg.FirstPollSpread = time.Hour // capped by the one-minute interval
	earliest, latest := firstRuns()
	if earliest < -time.Second || latest > time.Minute+5*time.Second || latest-earliest < 10*time.Second {
		t.Errorf("spread over a minute, first runs from %s to %s after creation", earliest, latest)
	}
}
