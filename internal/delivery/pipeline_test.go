package delivery

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"

	"github.com/pollhook/pollhook/internal/fair"
	"github.com/pollhook/pollhook/internal/instance"
	sim "github.com/pollhook/pollhook/internal/sim/insightly"
	"github.com/pollhook/pollhook/internal/store"
)

// The pipeline's tests run it on a real store (SQLite) against real
// receivers, on a manual clock: no job engine, no poller.

// receiver is a scripted webhook receiver that checks every signature.
type receiver struct {
	t      *testing.T
	srv    *httptest.Server
	mu     sync.Mutex
	script []int // statuses to answer, in order; then 200
	got    []hit
	key    string // the signature key, set once known
	hang   chan struct{}
	header http.Header     // extra response headers
	onHit  func(count int) // called after each request is counted
}

type hit struct {
	id, whID string
	status   int
	events   int
}

func newReceiver(t *testing.T, script ...int) *receiver {
	rv := &receiver{t: t, script: script, header: http.Header{}}
	rv.srv = httptest.NewServer(http.HandlerFunc(rv.serve))
	t.Cleanup(rv.srv.Close)
	return rv
}

func (rv *receiver) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	rv.mu.Lock()
	status := http.StatusOK
	if len(rv.script) > 0 {
		status, rv.script = rv.script[0], rv.script[1:]
	}
	key, hang := rv.key, rv.hang
	rv.mu.Unlock()
	if hang != nil && status == 0 {
		<-hang
		return
	}
	// An independent HMAC, and the Standard Webhooks library.
	mac := hmac.New(sha256.New, []byte(key))
	mac.Write(body)
	if want := "sha256=" + base64.StdEncoding.EncodeToString(mac.Sum(nil)); r.Header.Get("Elements-Webhook-Signature") != want {
		rv.t.Errorf("Elements-Webhook-Signature %q, want %q", r.Header.Get("Elements-Webhook-Signature"), want)
	}
	wh, _ := standardwebhooks.NewWebhook("whsec_" + base64.StdEncoding.EncodeToString([]byte(key)))
	if err := wh.Verify(body, r.Header); err != nil {
		rv.t.Errorf("standardwebhooks: %v", err)
	}
	var env struct {
		ID      string `json:"id"`
		Message struct {
			Events []json.RawMessage `json:"events"`
		} `json:"message"`
	}
	json.Unmarshal(body, &env)
	rv.mu.Lock()
	rv.got = append(rv.got, hit{id: r.Header.Get("Elements-Webhook-Id"), whID: r.Header.Get("webhook-id"), status: status, events: len(env.Message.Events)})
	count, onHit := len(rv.got), rv.onHit
	rv.mu.Unlock()
	if onHit != nil {
		onHit(count)
	}
	if env.ID != r.Header.Get("Elements-Webhook-Id") {
		rv.t.Errorf("envelope id %q, header %q", env.ID, r.Header.Get("Elements-Webhook-Id"))
	}
	for k, v := range rv.header {
		w.Header()[k] = v
	}
	w.WriteHeader(status)
}

func (rv *receiver) hits() []hit {
	rv.mu.Lock()
	defer rv.mu.Unlock()
	return slices.Clone(rv.got)
}

// rig is a pipeline on a fresh store, with an organization whose
// instances send to test receivers.
type rig struct {
	t      *testing.T
	st     *store.Store
	clock  *sim.ManualClock
	pipe   *Pipeline
	outbox *Outbox
	org    *store.Organization
	user   *store.User
}

func newRig(t *testing.T) *rig {
	t.Helper()
	ctx := context.Background()
	st, err := store.Open(ctx, "sqlite:"+filepath.Join(t.TempDir(), "db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	clock := sim.NewManualClock(time.Now().UTC().Truncate(time.Second))
	org := &store.Organization{Name: "o", SecretHash: []byte("o")}
	if err := st.CreateOrganization(ctx, org); err != nil {
		t.Fatal(err)
	}
	user := &store.User{OrgID: org.ID, Email: "u@x", SecretHash: []byte("u")}
	if err := st.CreateUser(ctx, user); err != nil {
		t.Fatal(err)
	}
	pipe := NewPipeline(Config{Store: st, Instances: &instance.Service{Store: st}, Now: clock.Now,
		Sender: NewSender(true, 300*time.Millisecond), Jitter: func() float64 { return 0.5 }})
	return &rig{t: t, st: st, clock: clock, pipe: pipe, outbox: &Outbox{Store: st}, org: org, user: user}
}

// instance makes an instance whose notifications go to rv, signed with a
// key rv checks, and returns it with its callback's id.
func (r *rig) instance(rv *receiver) (*store.Instance, int64) {
	r.t.Helper()
	ctx := context.Background()
	key := fmt.Sprintf("signature key of %s", rv.srv.URL)
	rv.mu.Lock()
	rv.key = key
	rv.mu.Unlock()
	inst := &store.Instance{OrgID: r.org.ID, UserID: r.user.ID, ElementKey: "insightly", Name: rv.srv.URL,
		TokenHash: []byte(rv.srv.URL), TokenSealed: "-", Valid: true, EventsEnabled: true,
		Config: []store.ConfigItem{{Key: instance.KeySignatureKey, Value: key}, {Key: instance.KeyCallbackURL, Value: rv.srv.URL + "/hook"}}}
	if err := r.st.CreateInstance(ctx, inst); err != nil {
		r.t.Fatal(err)
	}
	err := r.st.InTx(ctx, func(tx *store.Tx) error {
		_, _, err := tx.SyncPolls(ctx, inst.ID, []string{"contacts"}, time.Minute, r.clock.Now())
		return err
	})
	if err != nil {
		r.t.Fatal(err)
	}
	cb, err := r.st.CallbackFor(ctx, r.org.ID, rv.srv.URL+"/hook")
	if err != nil {
		r.t.Fatal(err)
	}
	return inst, cb.ID
}

// report adds n contact events of an instance to its callback's queue,
// as a poll would: up to 10 to a notification.
func (r *rig) report(inst *store.Instance, n int) {
	r.t.Helper()
	ctx := context.Background()
	var events []*store.Event
	for range n {
		id := NewID()
		events = append(events, &store.Event{ID: id, OrgID: inst.OrgID, InstanceID: inst.ID, Resource: "contacts", ObjectID: id,
			Type: "CREATED", Date: r.clock.Now(), PollDate: r.clock.Now(), Status: "NEW", ProviderData: `{"CONTACT_ID":1}`})
	}
	url, _ := inst.ConfigValue(instance.KeyCallbackURL)
	to := &Route{CallbackURL: url, Meta: Meta{OrgID: inst.OrgID, UserID: inst.UserID, InstanceID: inst.ID, InstanceName: inst.Name,
		ElementKey: "insightly", HubKey: "crm"}}
	err := r.st.InTx(ctx, func(tx *store.Tx) error {
		if err := tx.CommitRun(ctx, &store.RunResult{InstanceID: inst.ID, Resource: "contacts", Events: events,
			Window: &store.Window{From: r.clock.Now(), Start: r.clock.Now(), RunAt: r.clock.Now()}}); err != nil {
			return err
		}
		_, err := r.outbox.Add(ctx, tx, to, "contacts", events, r.clock.Now())
		return err
	})
	if err != nil {
		r.t.Fatal(err)
	}
}

// withEvents is an instance sending to rv with n events in one
// notification waiting.
func (r *rig) withEvents(rv *receiver, n int) (*store.Instance, int64) {
	r.t.Helper()
	inst, cb := r.instance(rv)
	r.report(inst, n)
	return inst, cb
}

func (r *rig) deliver(cbID int64) time.Duration {
	r.t.Helper()
	d, err := r.pipe.Drain(context.Background(), cbID)
	if err != nil {
		r.t.Fatal(err)
	}
	return d
}

// allDelivered checks that every notification of an instance is
// delivered, and says how many there are.
func (r *rig) allDelivered(v *store.Instance) int {
	r.t.Helper()
	ns := r.notifications(v)
	for _, n := range ns {
		if n.Status != store.NotificationDelivered {
			r.t.Errorf("notification %s is %s, want delivered", n.ID, n.Status)
		}
	}
	return len(ns)
}

func (r *rig) callback(id int64) *store.Callback {
	r.t.Helper()
	cb, err := r.st.GetCallback(context.Background(), 0, id)
	if err != nil {
		r.t.Fatal(err)
	}
	return cb
}

func (r *rig) notifications(v *store.Instance) []*store.Notification {
	r.t.Helper()
	ns, err := r.st.Notifications(context.Background(), r.org.ID, store.NotificationFilter{InstanceID: v.ID})
	if err != nil {
		r.t.Fatal(err)
	}
	slices.SortFunc(ns, func(a, b *store.Notification) int { return int(a.Seq - b.Seq) })
	return ns
}

func TestRetriedUntilDelivered(t *testing.T) {
	t.Parallel()
	r := newRig(t)
	rv := newReceiver(t, 503, 503, 200)
	v, cb := r.withEvents(rv, 3)
	if ns := r.notifications(v); len(ns) != 1 || ns[0].Status != store.NotificationCreated {
		t.Fatalf("notifications: %+v", ns)
	}
	if d := r.deliver(cb); d != 8*time.Second {
		t.Errorf("after the first failure: next in %s, want 8s", d)
	}
	r.clock.Advance(8 * time.Second)
	if d := r.deliver(cb); d != 56*time.Second { // 64 s after the first failure
		t.Errorf("after the second failure: next in %s, want 56s", d)
	}
	// Not due yet: nothing is sent.
	r.deliver(cb)
	if n := len(rv.hits()); n != 2 {
		t.Fatalf("%d attempts before the retry was due", n)
	}
	r.clock.Advance(56 * time.Second)
	if d := r.deliver(cb); d != idleSleepBusy {
		t.Errorf("after delivery: next in %s", d)
	}
	if d := r.deliver(cb); d != IdleSleep {
		t.Errorf("idle: next in %s", d)
	}
	hits := rv.hits()
	if len(hits) != 3 || hits[0].id != hits[2].id || hits[0].whID != hits[2].id || hits[2].status != 200 || hits[0].events != 3 {
		t.Fatalf("hits: %+v", hits)
	}
	n := r.notifications(v)[0]
	attempts, _ := r.st.Attempts(context.Background(), n.Seq)
	if n.Status != store.NotificationDelivered || len(attempts) != 3 || attempts[0].StatusCode != 503 || attempts[2].StatusCode != 200 {
		t.Errorf("notification %+v, attempts %+v", n, attempts)
	}
	if c := r.callback(cb); c.State != store.CallbackActive || c.Failures != 0 {
		t.Errorf("callback %+v", c)
	}
	evs, _ := r.st.Events(context.Background(), r.org.ID, store.EventFilter{InstanceID: v.ID})
	for _, e := range evs {
		if e.Status != "NOTIFIED" {
			t.Errorf("event %s is %s", e.ID, e.Status)
		}
	}
}

// A backlog of several passes goes out in order while the passes before
// are recorded; a failure in the middle holds the rest, and a replay asked
// for mid-run is sent too — each exactly once more.
func TestBacklogInOrderAcrossPasses(t *testing.T) {
	t.Parallel()
	r := newRig(t)
	const failAt = 2*batch + 10 // the 139th request fails once
	script := make([]int, failAt)
	for i := range script {
		script[i] = http.StatusOK
	}
	rv := newReceiver(t, append(script, http.StatusServiceUnavailable)...)
	v, cb := r.withEvents(rv, 1)
	ctx := context.Background()
	err := r.st.InTx(ctx, func(tx *store.Tx) error {
		for i := range 4*batch - 1 {
			id := fmt.Sprintf("backlog-%03d", i)
			n := &store.Notification{ID: id, OrgID: r.org.ID, InstanceID: v.ID, CallbackID: cb, Resource: "contacts",
				Body: []byte(`{"id":"` + id + `"}`)}
			if err := tx.InsertNotification(ctx, n, nil); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	ns := r.notifications(v)
	slices.SortFunc(ns, func(a, b *store.Notification) int { return int(a.Seq - b.Seq) })
	replayed := ns[5]
	rv.mu.Lock()
	rv.onHit = func(count int) {
		if count == batch+20 { // mid-run, the early one delivered long ago
			if _, err := r.outbox.Replay(ctx, r.org.ID, replayed.ID); err != nil {
				t.Error(err)
			}
		}
	}
	rv.mu.Unlock()
	if d := r.deliver(cb); d != 8*time.Second {
		t.Errorf("after the failure: next in %s, want 8s", d)
	}
	// Everything before the failure is recorded as delivered, once.
	for i, n := range r.notifications(v) {
		want, attempts := store.NotificationDelivered, 1
		switch {
		case n.Seq == replayed.Seq:
			want = store.NotificationCreated // replayed; behind the failed head
		case n.Seq == ns[failAt].Seq:
			want = store.NotificationRetry
		case n.Seq > ns[failAt].Seq:
			want, attempts = store.NotificationCreated, 0
		}
		if n.Status != want || n.Attempts != attempts {
			t.Errorf("notification %d (%s): %s after %d attempts, want %s after %d", i, n.ID, n.Status, n.Attempts, want, attempts)
		}
	}
	r.clock.Advance(8 * time.Second)
	r.deliver(cb)
	// The receiver saw every notification in order, then the replayed
	// one again: the queue is in creation order, so the replay, older
	// than the failed notification, went first when the retry was due.
	var want []string
	for i, n := range ns {
		if i == failAt {
			want = append(want, n.ID, replayed.ID)
		}
		want = append(want, n.ID)
	}
	var got []string
	for _, h := range rv.hits() {
		got = append(got, h.id)
	}
	if !slices.Equal(got, want) {
		t.Errorf("deliveries (%d):\n%v\nwant (%d):\n%v", len(got), got, len(want), want)
	}
	r.allDelivered(v)
}

func TestGoneSuspendsAndReactivationDeliversInOrder(t *testing.T) {
	t.Parallel()
	r := newRig(t)
	rv := newReceiver(t, 410)
	v, cb := r.withEvents(rv, 2)
	r.deliver(cb)
	if c := r.callback(cb); c.State != store.CallbackSuspended {
		t.Fatalf("after a 410: %+v", c)
	}
	// Later notifications queue behind the suspension.
	r.report(v, 25)
	ns := r.notifications(v)
	for _, n := range ns {
		if n.Status != store.NotificationQueued {
			t.Errorf("notification %s is %s while suspended", n.ID, n.Status)
		}
	}
	r.deliver(cb)
	if n := len(rv.hits()); n != 1 {
		t.Fatalf("%d attempts while suspended", n)
	}
	// Reactivate: the queue goes out, in order.
	if err := r.outbox.Reactivate(context.Background(), r.org.ID, cb); err != nil {
		t.Fatal(err)
	}
	r.deliver(cb)
	hits := rv.hits()[1:]
	if len(hits) != len(ns) {
		t.Fatalf("%d delivered after reactivation, want %d", len(hits), len(ns))
	}
	// In order: the failed head first, then the rest by creation.
	for i := range hits {
		if hits[i].id != ns[i].ID {
			t.Errorf("delivery %d is %s, want %s", i, hits[i].id, ns[i].ID)
		}
	}
}

func TestDownForTheWholeScheduleThenReactivated(t *testing.T) {
	t.Parallel()
	r := newRig(t)
	rv := newReceiver(t, 500, 502, 503, 504, 500, 500)
	v, cb := r.withEvents(rv, 1)
	var waits []time.Duration
	for range 6 {
		d := r.deliver(cb)
		waits = append(waits, d)
		if d < 24*time.Hour {
			r.clock.Advance(d)
		}
	}
	want := []time.Duration{8 * time.Second, 56 * time.Second, 448 * time.Second, 3584 * time.Second, 28672 * time.Second, 24 * time.Hour}
	if !slices.Equal(waits, want) {
		t.Errorf("waits %v, want %v", waits, want)
	}
	if c := r.callback(cb); c.State != store.CallbackSuspended || c.Failures != 6 || !strings.Contains(c.LastError, "500") {
		t.Fatalf("callback after the schedule: %+v", c)
	}
	r.report(v, 3)
	if err := r.outbox.Reactivate(context.Background(), r.org.ID, cb); err != nil {
		t.Fatal(err)
	}
	r.deliver(cb)
	if n := r.allDelivered(v); n != 2 {
		t.Errorf("%d notifications", n)
	}
}

func TestRetryAfterAndTimeouts(t *testing.T) {
	t.Parallel()
	r := newRig(t)
	rv := newReceiver(t, 429, 0, 200)
	rv.header.Set("Retry-After", "120")
	rv.hang = make(chan struct{})
	defer close(rv.hang)
	_, cb := r.withEvents(rv, 1)
	if d := r.deliver(cb); d != 120*time.Second {
		t.Errorf("after 429 with Retry-After 120: next in %s", d)
	}
	r.clock.Advance(120 * time.Second)
	rv.header.Del("Retry-After")
	d := r.deliver(cb) // the receiver hangs: the attempt times out
	c := r.callback(cb)
	if c.Failures != 2 || c.State != store.CallbackRetrying || !strings.Contains(c.LastError, "Timeout") && !strings.Contains(c.LastError, "deadline") {
		t.Errorf("after a hang: %+v (next in %s)", c, d)
	}
	r.clock.Advance(d)
	r.deliver(cb)
	if c := r.callback(cb); c.State != store.CallbackActive {
		t.Errorf("after success: %+v", c)
	}
}

// A dead receiver never delays another callback.
func TestDeadReceiverBesideHealthy(t *testing.T) {
	t.Parallel()
	r := newRig(t)
	// The dead receiver hangs until the test lets it go, and the sender
	// would wait a minute for it: the healthy callback can only finish
	// first if its run does not wait behind the dead one's.
	r.pipe.cfg.Sender = NewSender(true, time.Minute)
	dead := newReceiver(t, 0, 0, 0, 0)
	dead.hang = make(chan struct{})
	released := false
	release := func() {
		if !released {
			released = true
			close(dead.hang)
		}
	}
	defer release()
	healthy := newReceiver(t)
	_, deadCB := r.withEvents(dead, 1)
	v, okCB := r.withEvents(healthy, 2)
	done := make(chan struct{})
	go func() { r.pipe.Drain(context.Background(), deadCB); close(done) }()
	okDone := make(chan struct{})
	go func() { r.pipe.Drain(context.Background(), okCB); close(okDone) }()
	select {
	case <-okDone:
	case <-done:
		t.Fatal("the dead callback's run ended before the healthy one's while its receiver still hung")
	case <-time.After(30 * time.Second):
		t.Fatal("the healthy callback is still waiting behind the dead one")
	}
	select {
	case <-done:
		t.Error("the dead callback's run ended while its receiver still hung")
	default:
	}
	r.allDelivered(v)
	release()
	<-done
}

// Every way a run ends leaves nothing behind: each attempt the receiver
// saw is recorded by the time Drain returns (no pass is still being
// written), and the run's place in its organization's cap is given back.
func TestDrainLeavesNothingBehind(t *testing.T) {
	t.Parallel()
	r := newRig(t)
	orgs := fair.NewOrgs(1)
	r.pipe.cfg.Orgs = orgs
	ctx := context.Background()
	check := func(step string, rv *receiver, inst *store.Instance) {
		t.Helper()
		if n := orgs.Count(r.org.ID, fair.Deliver); n != 0 {
			t.Errorf("%s: %d deliveries still counted", step, n)
		}
		recorded := 0
		for _, n := range r.notifications(inst) {
			as, err := r.st.Attempts(ctx, n.Seq)
			if err != nil {
				t.Fatal(err)
			}
			recorded += len(as)
		}
		if hits := len(rv.hits()); recorded != hits {
			t.Errorf("%s: the receiver saw %d attempts, %d are recorded", step, hits, recorded)
		}
	}

	// Passes recorded while the next is sent, then a failure: the run
	// waits for the pass being recorded before it records the failure.
	script := make([]int, 2*batch+3)
	for i := range script {
		script[i] = http.StatusOK
	}
	rv := newReceiver(t, append(script, http.StatusServiceUnavailable)...)
	inst, cb := r.instance(rv)
	r.report(inst, 10*(2*batch+10)) // 10 events to a notification
	if d := r.deliver(cb); d != 8*time.Second {
		t.Errorf("after the failure: sleep %s", d)
	}
	check("failed after pipelined passes", rv, inst)
	if c := r.callback(cb); c.State != store.CallbackRetrying {
		t.Errorf("callback %s after a 503", c.State)
	}
	r.deliver(cb) // not due: ends at once
	check("retry not due", rv, inst)
	r.clock.Advance(8 * time.Second)
	if d := r.deliver(cb); d != idleSleepBusy {
		t.Errorf("drained: sleep %s", d)
	}
	check("drained", rv, inst)

	// The cap refused: nothing sent, nothing counted.
	release, _ := orgs.TryAcquire(r.org.ID, fair.Deliver)
	r.report(inst, 1)
	if d := r.deliver(cb); d < fair.OrgCapDelay || len(rv.hits()) != 2*batch+10+1 {
		t.Errorf("over the cap: sleep %s, %d hits", d, len(rv.hits()))
	}
	release()
	check("over the cap", rv, inst)

	// Gone: the job ends, and says so.
	if _, err := r.pipe.Drain(ctx, cb+1000); !errors.Is(err, ErrCallbackGone) {
		t.Errorf("a callback that does not exist: %v", err)
	}
	check("gone", rv, inst)

	// The budget runs out while a pass is being recorded (slowly): the run
	// ends by the loop's own exit, and still waits for it. The recording
	// outlasts the budget, so the third pass can never be sent; the budget
	// is long enough that a loaded machine still reads and sends the first
	// (50 ms once ran out before the first read on CI).
	r.pipe.budget, r.pipe.recording = time.Second, func() { time.Sleep(1500 * time.Millisecond) }
	r.report(inst, 10*3*batch)
	hits := len(rv.hits())
	if d := r.deliver(cb); d != 0 {
		t.Errorf("budget spent: sleep %s, want 0 (resume at once)", d)
	}
	if len(rv.hits()) <= hits || len(rv.hits()) >= hits+3*batch {
		t.Errorf("budget spent: %d sent of %d", len(rv.hits())-hits, 3*batch)
	}
	check("budget spent", rv, inst)
}
