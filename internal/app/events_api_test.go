package app

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"

	"github.com/pollhook/pollhook/internal/delivery"
	sim "github.com/pollhook/pollhook/internal/sim/insightly"
	"github.com/pollhook/pollhook/internal/store"
)

type filteredEvent struct {
	ID             string `json:"id"`
	EventType      string `json:"eventType"`
	ObjectType     string `json:"objectType"`
	CreatedDate    string `json:"createdDate"`
	NotificationID string `json:"notificationId"`
}

// listAll pages through GET path?query with pageSize, checking the page
// token carries the filters across pages.
func (h *harness) listAll(path string, q url.Values, pageSize int) []filteredEvent {
	h.t.Helper()
	q = maps(q)
	q.Set("pageSize", fmt.Sprint(pageSize))
	var all []filteredEvent
	for pages := 0; ; pages++ {
		if pages > 50 {
			h.t.Fatal("too many pages")
		}
		resp, out := h.call("GET", path+"?"+q.Encode(), h.platform(), nil)
		want(h.t, resp, out, 200, "")
		var page []filteredEvent
		if err := json.Unmarshal(out, &page); err != nil {
			h.t.Fatal(err)
		}
		if len(page) > pageSize {
			h.t.Fatalf("a page of %d, pageSize %d", len(page), pageSize)
		}
		all = append(all, page...)
		next := resp.Header.Get("Elements-Next-Page-Token")
		if next == "" {
			return all
		}
		q.Set("nextPage", next)
	}
}

func maps(q url.Values) url.Values {
	out := url.Values{}
	for k, v := range q {
		out[k] = slices.Clone(v)
	}
	return out
}

// The event filters (each one, since/until, paging across pages with the
// filters on), their 400s, and bulk replay: the count, and the receiver
// gets the same notification ids again.
func TestEventFiltersAndBulkReplay(t *testing.T) {
	t.Parallel()
	clock := sim.NewManualClock(time.Now())
	h := newHarness(t, withClock(clock.Now))
	ctx := context.Background()
	hook := newHookServer(t, func() int { return 200 })
	in, _ := h.create(h.instanceBody("Filtered", map[string]any{"event.poller.refresh_interval": "1",
		"event.notification.callback.url": hook.srv.URL + "/hook"}))
	eventually(t, "the first runs", func() bool {
		polls, _ := h.srv.store.PollsOf(ctx, in.ID)
		return len(polls) == 4 && polls[0].Runs > 0 && polls[1].Runs > 0 && polls[2].Runs > 0 && polls[3].Runs > 0
	})
	events := fmt.Sprintf("/instances/%d/events", in.ID)
	countEvents := func() int {
		resp, out := h.call("GET", events, h.platform(), nil)
		var list []filteredEvent
		json.Unmarshal(out, &list)
		if resp.StatusCode != 200 {
			t.Fatalf("events: %s", out)
		}
		return len(list)
	}
	change := func(resource string, n int) {
		t.Helper()
		before := countEvents()
		for i := range n {
			resp, out := h.call("POST", "/hubs/crm/"+resource, h.hub(in.Token), map[string]any{"LAST_NAME": fmt.Sprint("Filtered ", i)})
			want(t, resp, out, 200, "")
		}
		clock.Advance(61 * time.Second)
		eventually(t, "the events", func() bool { h.srv.jobs.WakeAll(ctx); return countEvents() == before+n })
	}
	change("contacts", 3)
	change("leads", 1)
	eventually(t, "the first deliveries", func() bool { return hook.count() == 2 })
	time.Sleep(5 * time.Millisecond)
	mid := time.Now().UTC()
	time.Sleep(5 * time.Millisecond)
	change("contacts", 2)
	eventually(t, "the deliveries", func() bool { return hook.count() == 3 })

	all := h.listAll(events, nil, 1000)
	if len(all) != 6 {
		t.Fatalf("%d events, want 6", len(all))
	}
	ids := func(es []filteredEvent) (out []string) {
		for _, e := range es {
			out = append(out, e.ID)
		}
		return out
	}
	pick := func(keep func(filteredEvent) bool) (out []string) {
		for _, e := range all {
			if keep(e) {
				out = append(out, e.ID)
			}
		}
		return out
	}
	contacts := pick(func(e filteredEvent) bool { return e.ObjectType == "contacts" })
	for name, tt := range map[string]struct {
		q    url.Values
		want []string
	}{
		"resource":        {url.Values{"resource": {"contacts"}}, contacts},
		"other resource":  {url.Values{"resource": {"leads"}}, pick(func(e filteredEvent) bool { return e.ObjectType == "leads" })},
		"eventType":       {url.Values{"eventType": {"CREATED"}}, ids(all)},
		"eventType lower": {url.Values{"eventType": {"deleted"}}, nil},
		"since":           {url.Values{"since": {mid.Format(time.RFC3339Nano)}}, ids(all[4:])},
		"until":           {url.Values{"until": {mid.Format(time.RFC3339Nano)}}, ids(all[:4])},
		"since and until": {url.Values{"since": {mid.Add(-time.Hour).Format(time.RFC3339)}, "until": {mid.Format(time.RFC3339Nano)}, "resource": {"contacts"}}, ids(all[:3])},
		"none":            {url.Values{"deliveryStatus": {"none"}}, nil},
		"queued":          {url.Values{"deliveryStatus": {"queued"}}, nil},
	} {
		for _, size := range []int{1, 2, 1000} {
			if got := ids(h.listAll(events, tt.q, size)); !slices.Equal(got, tt.want) {
				t.Errorf("%s, pages of %d: %v, want %v", name, size, got, tt.want)
			}
		}
	}
	// Delivered: once the attempts are recorded.
	eventually(t, "every event delivered", func() bool {
		return len(h.listAll(events, url.Values{"deliveryStatus": {"delivered"}}, 1000)) == 6
	})
	// The organization's list takes the same filters.
	if got := ids(h.listAll("/instances/events", url.Values{"resource": {"contacts"}}, 2)); !slices.Equal(got, contacts) {
		t.Errorf("organization's contacts: %v, want %v", got, contacts)
	}
	for _, tc := range []struct{ query, param string }{
		{"eventType=MOVED", "eventType"}, {"deliveryStatus=lost", "deliveryStatus"}, {"since=yesterday", "since"},
		{"until=2026-13-01", "until"}, {"since=2026-01-02T00:00:00Z&until=2026-01-01T00:00:00Z", "until"},
		{"resource=" + strings.Repeat("x", 300), "resource"}, {"pageSize=0", "pageSize"},
	} {
		for _, path := range []string{events, "/instances/events"} {
			resp, out := h.call("GET", path+"?"+tc.query, h.platform(), nil)
			want(t, resp, out, 400, tc.param+":")
		}
		if tc.param != "pageSize" { // replay takes no paging
			resp, out := h.call("POST", events+"/replay?"+tc.query, h.platform(), nil)
			want(t, resp, out, 400, tc.param+":")
		}
	}

	// Bulk replay of the contacts: each of their notifications once.
	var contactNotes []string
	for _, e := range all {
		if e.ObjectType == "contacts" && !slices.Contains(contactNotes, e.NotificationID) {
			contactNotes = append(contactNotes, e.NotificationID)
		}
	}
	before := hook.count()
	resp, out := h.call("POST", events+"/replay?resource=contacts", h.platform(), nil)
	want(t, resp, out, 202, "")
	var replayed struct {
		Notifications   int      `json:"notifications"`
		NotificationIDs []string `json:"notificationIds"`
		SkippedEvents   int      `json:"skippedEvents"`
	}
	json.Unmarshal(out, &replayed)
	if replayed.Notifications != len(contactNotes) || !slices.Equal(replayed.NotificationIDs, contactNotes) || replayed.SkippedEvents != 0 {
		t.Fatalf("replay: %s; want %v", out, contactNotes)
	}
	eventually(t, "the replays", func() bool { return hook.count() == before+len(contactNotes) })
	hook.mu.Lock()
	var again []string
	for _, hd := range hook.heads[before:] {
		again = append(again, hd.Get("Elements-Webhook-Id"))
	}
	hook.mu.Unlock()
	if !slices.Equal(again, contactNotes) {
		t.Errorf("the receiver got %v again, want %v", again, contactNotes)
	}
	// Nothing matches: nothing replayed; another organization's caller
	// replays nothing of this one's.
	resp, out = h.call("POST", "/instances/events/replay?eventType=DELETED", h.platform(), nil)
	want(t, resp, out, 202, "")
	if !strings.Contains(string(out), `"notifications":0,"notificationIds":[]`) {
		t.Errorf("no match: %s", out)
	}
	eve := h.otherTenant()
	resp, out = h.call("POST", events+"/replay", eve.header(), nil)
	want(t, resp, out, 404, "no such instance")
	resp, out = h.call("POST", "/instances/events/replay", eve.header(), nil)
	want(t, resp, out, 202, "")
	if !strings.Contains(string(out), `"notifications":0`) {
		t.Errorf("another organization's replay: %s", out)
	}
}

type testJSON struct {
	ID             int64           `json:"id"`
	NotificationID string          `json:"notificationId"`
	OK             bool            `json:"ok"`
	Status         int             `json:"status"`
	LatencyMs      int64           `json:"latencyMs"`
	Error          string          `json:"error"`
	Response       string          `json:"response"`
	At             string          `json:"at"`
	Signature      string          `json:"signature"`
	Notification   json.RawMessage `json:"notification"`
}

// A test notification over the API: signed like a real one (both
// signatures check), marked, recorded, readable by id; the receiver's
// failure is data; the callback's state is untouched; 409 when there is
// nothing to test.
func TestCallbackTest(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	ctx := context.Background()
	var mu sync.Mutex
	answer := 200
	hook := newHookServer(t, func() int { mu.Lock(); defer mu.Unlock(); return answer })
	hookURL := hook.srv.URL + "/hook"
	in, _ := h.create(h.instanceBody("Tested", map[string]any{"event.notification.callback.url": hookURL,
		"event.notification.callback.headers": "X-Team: blue"}))
	resp, out := h.call("GET", fmt.Sprintf("/instances/%d/signature-key", in.ID), h.platform(), nil)
	want(t, resp, out, 200, "")
	var keys struct{ SignatureKey, StandardWebhooksSecret string }
	json.Unmarshal(out, &keys)

	testPath := fmt.Sprintf("/instances/%d/callback-test", in.ID)
	resp, out = h.call("POST", testPath, h.platform(), nil)
	want(t, resp, out, 200, "")
	var got testJSON
	json.Unmarshal(out, &got)
	if !got.OK || got.Status != 200 || got.ID == 0 || got.NotificationID == "" || got.At == "" {
		t.Fatalf("test: %s", out)
	}
	if hook.count() != 1 {
		t.Fatalf("the receiver got %d requests", hook.count())
	}
	hook.mu.Lock()
	body, head := hook.bodies[0], hook.heads[0]
	hook.mu.Unlock()
	wh, _ := standardwebhooks.NewWebhook(keys.StandardWebhooksSecret)
	if err := wh.Verify(body, head); err != nil {
		t.Errorf("standardwebhooks: %v", err)
	}
	if head.Get("Elements-Webhook-Signature") != delivery.ElementsSignature(keys.SignatureKey, body) || got.Signature != head.Get("Elements-Webhook-Signature") {
		t.Errorf("Elements-Webhook-Signature %q", head.Get("Elements-Webhook-Signature"))
	}
	if head.Get("Pollhook-Test") != "true" || head.Get("X-Team") != "blue" || head.Get("Elements-Webhook-Id") != got.NotificationID {
		t.Errorf("headers: %v", head)
	}
	var env struct {
		Action, ID, Topic string
		Message           struct {
			Events []struct{ ObjectType string }
		}
	}
	json.Unmarshal(body, &env)
	if env.Action != "test" || env.ID != got.NotificationID || env.Topic != fmt.Sprintf("instance-%d-insightly-events", in.ID) ||
		len(env.Message.Events) != 1 || string(got.Notification) != string(body) {
		t.Errorf("test body: %s", body)
	}

	// Read back by id; not by another organization, nor under another instance.
	testByID := fmt.Sprintf("/instances/%d/callback-tests/%d", in.ID, got.ID)
	resp, out = h.call("GET", testByID, h.platform(), nil)
	want(t, resp, out, 200, "")
	var read testJSON
	json.Unmarshal(out, &read)
	if read.ID != got.ID || read.NotificationID != got.NotificationID || read.Status != 200 {
		t.Errorf("read back: %s", out)
	}
	eve := h.otherTenant()
	resp, out = h.call("GET", testByID, eve.header(), nil)
	want(t, resp, out, 404, "no such instance")
	resp, out = h.call("POST", testPath, eve.header(), nil)
	want(t, resp, out, 404, "no such instance")
	other, _ := h.create(h.instanceBody("Other", nil))
	resp, out = h.call("GET", fmt.Sprintf("/instances/%d/callback-tests/%d", other.ID, got.ID), h.platform(), nil)
	want(t, resp, out, 404, "no such callback test")
	resp, out = h.call("GET", fmt.Sprintf("/instances/%d/callback-tests/x", in.ID), h.platform(), nil)
	want(t, resp, out, 400, "testId")

	// A failing receiver behind a suspended callback: the failure is the
	// answer's data, and the callback stays as it was.
	cb, err := h.srv.store.CallbackFor(ctx, mustOrg(t, h, in.ID), hookURL)
	if err != nil {
		t.Fatal(err)
	}
	cb.State, cb.Failures, cb.SuspendedAt, cb.FirstFailureAt, cb.LastError = store.CallbackSuspended, 7, time.Now().Add(-time.Hour).UTC().Truncate(time.Second),
		time.Now().Add(-2*time.Hour).UTC().Truncate(time.Second), "410 Gone"
	if err := h.srv.store.UpdateCallback(ctx, cb); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	answer = 503
	mu.Unlock()
	resp, out = h.call("POST", testPath, h.platform(), nil)
	want(t, resp, out, 200, "")
	json.Unmarshal(out, &got)
	if got.OK || got.Status != 503 {
		t.Errorf("a failing receiver: %s", out)
	}
	after, err := h.srv.store.GetCallback(ctx, 0, cb.ID)
	if err != nil || after.State != store.CallbackSuspended || after.Failures != 7 || !after.SuspendedAt.Equal(cb.SuspendedAt) ||
		!after.FirstFailureAt.Equal(cb.FirstFailureAt) || after.LastError != "410 Gone" || !after.NextAttemptAt.IsZero() {
		t.Errorf("the callback changed: %+v %v", after, err)
	}
	if list, err := h.srv.store.TestDeliveries(ctx, after.OrgID, in.ID, 10); err != nil || len(list) != 2 {
		t.Errorf("recorded tests: %d %v", len(list), err)
	}
	if ns, _ := h.srv.store.Notifications(ctx, after.OrgID, store.NotificationFilter{InstanceID: in.ID}); len(ns) != 0 {
		t.Errorf("a test went into the outbox: %v", ns)
	}

	// Events off: nothing to test.
	resp, out = h.call("PATCH", fmt.Sprintf("/instances/%d", in.ID), h.platform(), map[string]any{"configuration": map[string]any{"event.notification.enabled": false}})
	want(t, resp, out, 200, "")
	resp, out = h.call("POST", testPath, h.platform(), nil)
	want(t, resp, out, http.StatusConflict, "events off")
}

func mustOrg(t *testing.T, h *harness, instanceID int64) int64 {
	t.Helper()
	in, err := h.srv.store.InstanceByID(context.Background(), instanceID)
	if err != nil {
		t.Fatal(err)
	}
	return in.OrgID
}

// With snapshots on, an UPDATED carries changedFields in the events API
// and in the notification the receiver gets, the same diff in both.
func TestChangedFieldsOverHTTP(t *testing.T) {
	t.Parallel()
	clock := sim.NewManualClock(time.Now())
	h := newHarness(t, withClock(clock.Now))
	ctx := context.Background()
	hook := newHookServer(t, func() int { return 200 })
	in, _ := h.create(h.instanceBody("Diffs", map[string]any{"event.poller.refresh_interval": "1",
		"event.notification.callback.url": hook.srv.URL + "/hook",
		"event.poller.configuration":      map[string]any{"contacts": map[string]any{"snapshots": true}}}))
	eventually(t, "the first run and the baseline", func() bool {
		p, err := h.srv.store.GetPoll(ctx, in.ID, "contacts")
		return err == nil && !p.BaselineAt.IsZero()
	})
	resp, out := h.call("GET", "/hubs/crm/contacts?pageSize=1", h.hub(in.Token), nil)
	want(t, resp, out, 200, "")
	var contacts []map[string]any
	if err := json.Unmarshal(out, &contacts); err != nil || len(contacts) != 1 {
		t.Fatalf("a contact: %s", out)
	}
	id := int64(contacts[0]["CONTACT_ID"].(float64))
	before := contacts[0]["TITLE"]
	clock.Advance(time.Second)
	resp, out = h.call("PATCH", fmt.Sprintf("/hubs/crm/contacts/%d", id), h.hub(in.Token), map[string]any{"TITLE": "Chief Diff Officer"})
	want(t, resp, out, 200, "")
	clock.Advance(61 * time.Second)
	type diffEvent struct {
		EventType     string                                 `json:"eventType"`
		ObjectID      string                                 `json:"objectId"`
		ChangedFields map[string]struct{ Before, After any } `json:"changedFields"`
	}
	var got []diffEvent
	eventually(t, "the UPDATED", func() bool {
		h.srv.jobs.WakeAll(ctx)
		resp, out := h.call("GET", fmt.Sprintf("/instances/%d/events?eventType=UPDATED", in.ID), h.platform(), nil)
		got = nil
		return resp.StatusCode == 200 && json.Unmarshal(out, &got) == nil && len(got) == 1
	})
	title, ok := got[0].ChangedFields["TITLE"]
	if !ok || title.Before != before || title.After != "Chief Diff Officer" {
		t.Errorf("the events API's UPDATED: %+v, want TITLE %v → Chief Diff Officer", got[0], before)
	}
	eventually(t, "the notification", func() bool { return hook.count() == 1 })
	var env struct {
		Message struct {
			Events []diffEvent `json:"events"`
		} `json:"message"`
	}
	hook.mu.Lock()
	body := hook.bodies[0]
	hook.mu.Unlock()
	if err := json.Unmarshal(body, &env); err != nil || len(env.Message.Events) != 1 {
		t.Fatalf("the notification: %s", body)
	}
	if sent := env.Message.Events[0].ChangedFields["TITLE"]; sent != title {
		t.Errorf("the notification's changedFields.TITLE %+v, the API's %+v", sent, title)
	}
}

// The sender's guard, not only the form's check, keeps test notifications
// off private networks: a callback on 127.0.0.1 stored while private
// callbacks were allowed (an instance made under
// --allow-private-callbacks, a database copied from a demo) is refused at
// connection time once they are not. The test is recorded with no answer
// and the blocked-address error, and nothing reaches the listener.
func TestCallbackTestPrivateAddressRefused(t *testing.T) {
	t.Parallel()
	h := newHarness(t, withoutPrivateCallbacks())
	ctx := context.Background()
	hook := newHookServer(t, func() int { return 200 })
	hookURL := hook.srv.URL + "/hook" // http://127.0.0.1:port/hook
	body := h.instanceBody("Guarded", map[string]any{"event.notification.enabled": false})
	delete(body["configuration"].(map[string]any), "event.notification.callback.url")
	in, _ := h.create(body)
	// The service refuses this URL now (TestPrivateCallbacksRefused): put it
	// in the store as an earlier, permissive server would have.
	inst, err := h.srv.store.InstanceByID(ctx, in.ID)
	if err != nil {
		t.Fatal(err)
	}
	set := func(key, value string) {
		for i := range inst.Config {
			if inst.Config[i].Key == key {
				inst.Config[i].Value = value
				return
			}
		}
		inst.Config = append(inst.Config, store.ConfigItem{Key: key, Value: value})
	}
	set("event.notification.enabled", "true")
	set("event.notification.callback.url", hookURL)
	inst.EventsEnabled = true
	if err := h.srv.store.UpdateInstance(ctx, inst); err != nil {
		t.Fatal(err)
	}

	resp, out := h.call("POST", fmt.Sprintf("/instances/%d/callback-test", in.ID), h.platform(), nil)
	want(t, resp, out, 200, "")
	var got testJSON
	json.Unmarshal(out, &got)
	if got.OK || got.Status != 0 || got.ID == 0 || !strings.Contains(got.Error, "not on the public Internet") {
		t.Errorf("a test to %s under the guard: %s", hookURL, out)
	}
	if n := hook.count(); n != 0 {
		t.Errorf("the private listener got %d requests", n)
	}
	list, err := h.srv.store.TestDeliveries(ctx, inst.OrgID, in.ID, 10)
	if err != nil || len(list) != 1 || list[0].StatusCode != 0 || list[0].Error != delivery.ErrBlocked.Error() || list[0].URL != hookURL {
		t.Errorf("the recorded test: %+v %v", list, err)
	}
}
