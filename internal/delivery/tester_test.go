package delivery

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/pollhook/pollhook/internal/instance"
	"github.com/pollhook/pollhook/internal/store"
)

// testBody is what a receiver reads of a test notification.
type testBody struct {
	Action  string `json:"action"`
	ID      string `json:"id"`
	Message struct {
		InstanceID int64 `json:"instanceId"`
		Events     []struct {
			EventType  string `json:"eventType"`
			ObjectID   string `json:"objectId"`
			ObjectType string `json:"objectType"`
		} `json:"events"`
		Raw map[string]json.RawMessage `json:"raw"`
	} `json:"message"`
}

// testReceiver wraps a receiver (which checks both signatures) and checks
// that what it gets is a test notification.
func testReceiver(t *testing.T, script ...int) (*receiver, *[]testBody) {
	rv := newReceiver(t, script...)
	var got []testBody
	inner := rv.srv.Config.Handler
	rv.srv.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := readAll(r)
		r.Body = readCloser(body)
		if !strings.Contains(string(body), `"action":"test"`) {
			if r.Header.Get("Pollhook-Test") != "" {
				t.Errorf("a notification with Pollhook-Test")
			}
			inner.ServeHTTP(w, r)
			return
		}
		if r.Header.Get("Pollhook-Test") != "true" {
			t.Errorf("Pollhook-Test %q, want true", r.Header.Get("Pollhook-Test"))
		}
		if r.Header.Get("X-Extra") != "yes" || r.Header.Get("Authorization") == "" {
			t.Errorf("extra headers and basic auth missing: %v", r.Header)
		}
		var b testBody
		if err := json.Unmarshal(body, &b); err != nil {
			t.Errorf("body: %v", err)
		}
		rv.mu.Lock()
		got = append(got, b)
		rv.mu.Unlock()
		inner.ServeHTTP(w, r)
	})
	return rv, &got
}

func (r *rig) testInstance(rv *receiver) (*store.Instance, int64) {
	r.t.Helper()
	inst, cb := r.instance(rv)
	inst.Config = append(inst.Config, store.ConfigItem{Key: instance.KeyCallbackHeaders, Value: "X-Extra: yes"},
		store.ConfigItem{Key: instance.KeyBasicUsername, Value: "u"}, store.ConfigItem{Key: instance.KeyBasicPassword, Value: "p"},
		store.ConfigItem{Key: instance.KeyPollerConfig, Value: `{"contacts": {"url": "/hubs/crm/contacts", "idField": "person.id"}}`})
	if err := r.st.UpdateInstance(context.Background(), inst); err != nil {
		r.t.Fatal(err)
	}
	return inst, cb
}

func TestTestNotification(t *testing.T) {
	t.Parallel()
	r := newRig(t)
	rv, got := testReceiver(t)
	inst, cbID := r.testInstance(rv)
	tester := r.pipe.Tester()
	ctx := context.Background()

	// No event yet: a synthetic record of the polled resource.
	d, err := tester.Test(ctx, r.org.ID, inst.ID)
	if err != nil {
		t.Fatal(err)
	}
	if d.StatusCode != 200 || !d.OK() || d.ID == 0 || d.NotificationID == "" || d.Resource != "contacts" || d.Signature == "" {
		t.Errorf("record: %+v", d)
	}
	if len(*got) != 1 {
		t.Fatalf("receiver got %d", len(*got))
	}
	b := (*got)[0]
	if b.Action != "test" || b.ID != d.NotificationID || b.Message.InstanceID != inst.ID || len(b.Message.Events) != 1 ||
		b.Message.Events[0].ObjectType != "contacts" || b.Message.Events[0].ObjectID != "pollhook-test" ||
		string(b.Message.Raw["contacts"]) != `[{"person":{"id":"pollhook-test"}}]` {
		t.Errorf("synthetic test body: %+v %s", b, b.Message.Raw["contacts"])
	}
	if h := rv.hits(); len(h) != 1 || h[0].id != d.NotificationID || h[0].whID != d.NotificationID {
		t.Errorf("hits: %+v", h)
	}
	stored, err := r.st.TestDeliveryByID(ctx, r.org.ID, d.ID)
	if err != nil || stored.NotificationID != d.NotificationID || string(stored.Body) != string(d.Body) || stored.URL != rv.srv.URL+"/hook" {
		t.Errorf("stored: %+v %v", stored, err)
	}

	// With an event: its record.
	r.report(inst, 1)
	if _, err := tester.Test(ctx, r.org.ID, inst.ID); err != nil {
		t.Fatal(err)
	}
	if b := (*got)[1]; b.Action != "test" || string(b.Message.Raw["contacts"]) != `[{"CONTACT_ID":1}]` || b.Message.Events[0].EventType != "CREATED" {
		t.Errorf("test body from the latest event: %+v %s", b, b.Message.Raw["contacts"])
	}
	// Out of band: the notification the event went into is still waiting,
	// and the test is not in the outbox.
	if ns := r.notifications(inst); len(ns) != 1 || ns[0].Status != store.NotificationCreated || ns[0].Attempts != 0 {
		t.Errorf("outbox: %+v", ns)
	}
	if cb := r.callback(cbID); cb.State != store.CallbackActive || cb.Failures != 0 {
		t.Errorf("callback: %+v", cb)
	}
	if list, err := r.st.TestDeliveries(ctx, r.org.ID, inst.ID, 10); err != nil || len(list) != 2 {
		t.Errorf("recorded: %d %v", len(list), err)
	}
	// Another organization's instance is not found.
	if _, err := tester.Test(ctx, r.org.ID+1, inst.ID); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("other organization: %v", err)
	}
}

// A failing test against a retrying, then a suspended, callback changes
// nothing of the callback or its queue.
func TestTestNotificationLeavesTheCallbackAlone(t *testing.T) {
	t.Parallel()
	r := newRig(t)
	rv, got := testReceiver(t, 503, 500, 500)
	inst, cbID := r.testInstance(rv)
	r.report(inst, 2)
	r.deliver(cbID) // 503: retrying
	before := r.callback(cbID)
	if before.State != store.CallbackRetrying || before.Failures != 1 || before.NextAttemptAt.IsZero() {
		t.Fatalf("callback: %+v", before)
	}
	ctx := context.Background()
	d, err := r.pipe.Tester().Test(ctx, r.org.ID, inst.ID)
	if err != nil {
		t.Fatal(err)
	}
	if d.StatusCode != 500 || d.OK() {
		t.Errorf("record: %+v", d)
	}
	after := r.callback(cbID)
	if after.State != before.State || after.Failures != before.Failures || !after.NextAttemptAt.Equal(before.NextAttemptAt) ||
		after.LastError != before.LastError || !after.FirstFailureAt.Equal(before.FirstFailureAt) {
		t.Errorf("callback changed by a test: %+v, was %+v", after, before)
	}
	ns := r.notifications(inst)
	if len(ns) != 1 || ns[0].Status != store.NotificationRetry || ns[0].Attempts != 1 {
		t.Errorf("outbox: %+v", ns)
	}

	// Suspended: the test still goes out; the queue stays held.
	before.State, before.SuspendedAt, before.NextAttemptAt = store.CallbackSuspended, time.Now().UTC().Truncate(time.Second), time.Time{}
	if err := r.st.UpdateCallback(ctx, before); err != nil {
		t.Fatal(err)
	}
	if err := r.st.QueueAll(ctx, cbID); err != nil {
		t.Fatal(err)
	}
	if d, err := r.pipe.Tester().Test(ctx, r.org.ID, inst.ID); err != nil || d.StatusCode != 500 {
		t.Fatalf("test of a suspended callback: %+v %v", d, err)
	}
	if after := r.callback(cbID); after.State != store.CallbackSuspended || after.Failures != 1 || !after.SuspendedAt.Equal(before.SuspendedAt) {
		t.Errorf("suspended callback changed by a test: %+v", after)
	}
	if ns := r.notifications(inst); ns[0].Status != store.NotificationQueued || ns[0].Attempts != 1 {
		t.Errorf("outbox after the test: %+v", ns)
	}
	if len(*got) != 2 || len(rv.hits()) != 3 {
		t.Errorf("receiver got %d tests and %d requests, want 2 and 3", len(*got), len(rv.hits()))
	}
	// A receiver that is not there: the failure is in the record.
	rv.srv.Close()
	d, err = r.pipe.Tester().Test(ctx, r.org.ID, inst.ID)
	if err != nil || d.StatusCode != 0 || d.Error == "" {
		t.Errorf("closed receiver: %+v %v", d, err)
	}
}

func TestTestNotificationRefused(t *testing.T) {
	t.Parallel()
	r := newRig(t)
	rv := newReceiver(t)
	inst, _ := r.instance(rv)
	ctx := context.Background()
	var refused *TestRefusedError
	inst.Config = []store.ConfigItem{{Key: instance.KeySignatureKey, Value: "k"}}
	if err := r.st.UpdateInstance(ctx, inst); err != nil {
		t.Fatal(err)
	}
	if _, err := r.pipe.Tester().Test(ctx, r.org.ID, inst.ID); !errors.As(err, &refused) || !strings.Contains(err.Error(), "callback URL") ||
		refused.HTTPStatus() != http.StatusConflict {
		t.Errorf("no callback URL: %v", err)
	}
	inst.EventsEnabled = false
	if err := r.st.UpdateInstance(ctx, inst); err != nil {
		t.Fatal(err)
	}
	if _, err := r.pipe.Tester().Test(ctx, r.org.ID, inst.ID); !errors.As(err, &refused) || !strings.Contains(err.Error(), "events off") {
		t.Errorf("events off: %v", err)
	}
	if len(rv.hits()) != 0 {
		t.Errorf("sent: %v", rv.hits())
	}
}

func TestBuildTestIsBuildWithActionTest(t *testing.T) {
	m := Meta{OrgID: 1, UserID: 2, InstanceID: 3, InstanceName: "n", ElementKey: "insightly", HubKey: "crm"}
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	e := &store.Event{ObjectID: "7", Type: "UPDATED", Date: now, PollDate: now, ProviderData: `{"id":7}`}
	ns, err := Build(m, "contacts", []*store.Event{e}, now, func() string { return "abc" })
	if err != nil {
		t.Fatal(err)
	}
	tn, err := BuildTest(m, "contacts", e, now, "abc")
	if err != nil {
		t.Fatal(err)
	}
	if want := strings.Replace(string(ns[0].Body), `"action":"create"`, `"action":"test"`, 1); string(tn.Body) != want || want == string(ns[0].Body) {
		t.Errorf("test body\n%s\nwant\n%s", tn.Body, want)
	}
}

func readAll(r *http.Request) ([]byte, error) { return io.ReadAll(r.Body) }

func readCloser(b []byte) io.ReadCloser { return io.NopCloser(bytes.NewReader(b)) }
