package app

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"

	sim "github.com/pollhook/pollhook/internal/sim/insightly"
)

// hookServer records the notifications it receives; it answers status()
// to each.
type hookServer struct {
	mu     sync.Mutex
	bodies [][]byte
	heads  []http.Header
	status func() int
	srv    *httptest.Server
}

func newHookServer(t *testing.T, status func() int) *hookServer {
	h := &hookServer{status: status}
	h.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		h.mu.Lock()
		h.bodies, h.heads = append(h.bodies, b), append(h.heads, r.Header.Clone())
		h.mu.Unlock()
		w.WriteHeader(h.status())
	}))
	t.Cleanup(h.srv.Close)
	return h
}

func (h *hookServer) count() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.bodies)
}

// End to end on the real engine: a change in Insightly reaches the
// receiver as a signed Cloud Elements notification; the owner can fetch
// the signature key; attempts are listed; a notification can be replayed;
// a suspended callback is reactivated through Cloud Elements' deliveries
// API.
func TestDeliveryEndToEnd(t *testing.T) {
	t.Parallel()
	clock := sim.NewManualClock(time.Now())
	h := newHarness(t, withClock(clock.Now), func(c *serverConfig) { c.schedule = []time.Duration{time.Second} })
	ctx := context.Background()
	var mu sync.Mutex
	answer := 200
	hook := newHookServer(t, func() int { mu.Lock(); defer mu.Unlock(); return answer })
	in, _ := h.create(h.instanceBody("Delivered", map[string]any{"event.poller.refresh_interval": "1",
		"event.notification.callback.url": hook.srv.URL + "/hook"}))
	eventually(t, "the first runs", func() bool {
		polls, _ := h.srv.store.PollsOf(ctx, in.ID)
		return len(polls) == 4 && polls[0].Runs > 0 && polls[1].Runs > 0 && polls[2].Runs > 0 && polls[3].Runs > 0
	})
	resp, out := h.call("POST", "/hubs/crm/contacts", h.hub(in.Token), map[string]any{"LAST_NAME": "Hooked"})
	want(t, resp, out, 200, "")
	clock.Advance(61 * time.Second)
	eventually(t, "the webhook", func() bool { h.srv.jobs.WakeAll(ctx); return hook.count() > 0 })

	// Signed with the key the owner can fetch.
	resp, out = h.call("GET", fmt.Sprintf("/instances/%d/signature-key", in.ID), h.platform(), nil)
	want(t, resp, out, 200, "")
	var keys struct{ SignatureKey, StandardWebhooksSecret string }
	json.Unmarshal(out, &keys)
	wh, _ := standardwebhooks.NewWebhook(keys.StandardWebhooksSecret)
	hook.mu.Lock()
	body, head := hook.bodies[0], hook.heads[0]
	hook.mu.Unlock()
	if err := wh.Verify(body, head); err != nil {
		t.Errorf("standardwebhooks: %v", err)
	}
	var env struct {
		Topic   string
		Message struct {
			Events []struct{ EventType, ObjectType string }
		}
	}
	json.Unmarshal(body, &env)
	if env.Topic != fmt.Sprintf("instance-%d-insightly-events", in.ID) || len(env.Message.Events) != 1 || env.Message.Events[0].EventType != "CREATED" {
		t.Errorf("notification: %s", body)
	}
	eve := h.otherTenant()
	resp, out = h.call("GET", fmt.Sprintf("/instances/%d/signature-key", in.ID), eve.header(), nil)
	want(t, resp, out, 404, "no such instance")
	if strings.Contains(h.logs.String(), keys.SignatureKey) {
		t.Error("the signature key is in the log")
	}

	// Attempts, and a replay with the same id.
	// The receiver has answered; the attempt is recorded just after.
	nid := head.Get("Elements-Webhook-Id")
	var attempts []struct{ StatusCode int }
	eventually(t, "the recorded attempt", func() bool {
		resp, out = h.call("GET", "/notifications/"+nid+"/attempts", h.platform(), nil)
		attempts = nil
		json.Unmarshal(out, &attempts)
		return resp.StatusCode == 200 && len(attempts) > 0
	})
	if len(attempts) != 1 || attempts[0].StatusCode != 200 {
		t.Errorf("attempts: %s", out)
	}
	resp, out = h.call("POST", "/notifications/"+nid+"/replay", h.platform(), nil)
	want(t, resp, out, 202, "")
	eventually(t, "the replay", func() bool { return hook.count() == 2 })
	hook.mu.Lock()
	if hook.heads[1].Get("Elements-Webhook-Id") != nid || string(hook.bodies[1]) != string(body) {
		t.Errorf("the replay differs")
	}
	hook.mu.Unlock()
	// Delivered at the first try, then replayed: both attempts, in order.
	eventually(t, "the replay's attempt", func() bool {
		resp, out = h.call("GET", "/notifications/"+nid+"/attempts", h.platform(), nil)
		attempts = nil
		json.Unmarshal(out, &attempts)
		return resp.StatusCode == 200 && len(attempts) == 2
	})
	var listed []struct{ At string }
	json.Unmarshal(out, &listed)
	if attempts[0].StatusCode != 200 || attempts[1].StatusCode != 200 || len(listed) != 2 || listed[0].At > listed[1].At {
		t.Errorf("attempts after the replay: %s", out)
	}
	resp, out = h.call("GET", "/notifications/"+nid, eve.header(), nil)
	want(t, resp, out, 404, "no such notification")

	// The receiver refuses for good: suspended; more changes queue.
	mu.Lock()
	answer = 410
	mu.Unlock()
	h.call("POST", "/hubs/crm/contacts", h.hub(in.Token), map[string]any{"LAST_NAME": "Queued"})
	clock.Advance(61 * time.Second)
	eventually(t, "the suspension", func() bool {
		h.srv.jobs.WakeAll(ctx)
		_, out := h.call("GET", "/callbacks", h.platform(), nil)
		var cbs []struct{ State string }
		json.Unmarshal(out, &cbs)
		return len(cbs) == 1 && cbs[0].State == "suspended"
	})
	where := url.QueryEscape("channel='webhook' and status='queued' and config.url='" + hook.srv.URL + "/hook'")
	resp, out = h.call("GET", "/notifications/subscriptions/deliveries?where="+where, h.platform(), nil)
	want(t, resp, out, 200, "")
	var queued []struct{ NotificationID, Status string }
	json.Unmarshal(out, &queued)
	if len(queued) != 1 || queued[0].Status != "queued" {
		t.Fatalf("queued deliveries: %s", out)
	}
	mu.Lock()
	answer = 200
	mu.Unlock()
	before := hook.count()
	resp, out = h.call("PUT", "/notifications/subscriptions/deliveries?where="+where, h.platform(), nil)
	want(t, resp, out, 200, "")
	defer func() {
		if t.Failed() {
			t.Log(h.logs.String())
		}
	}()
	eventually(t, "the redelivery", func() bool { return hook.count() > before })
	hook.mu.Lock()
	last := hook.heads[len(hook.heads)-1].Get("Elements-Webhook-Id")
	hook.mu.Unlock()
	if last != queued[0].NotificationID {
		t.Errorf("redelivered %s, want %s", last, queued[0].NotificationID)
	}

	// What happened shows in /metrics, read over HTTP like Prometheus does.
	metrics := h.scrape()
	for _, m := range []string{`pollhook_polls_total{result="ok"}`, `pollhook_events_total{type="CREATED"}`, `pollhook_notifications_total`,
		`pollhook_delivery_attempts_total{result="delivered"}`, `pollhook_delivery_attempts_total{result="failed"}`,
		`pollhook_callback_suspensions_total`, `pollhook_delivery_latency_seconds_count`, `pollhook_records_read_total`} {
		if v, ok := metrics[m]; !ok || v < 1 {
			t.Errorf("%s = %v, %v; want ≥ 1", m, v, ok)
		}
	}
	if v, ok := metrics[`pollhook_callbacks_suspended`]; !ok || v != 0 {
		t.Errorf("pollhook_callbacks_suspended = %v, %v; want 0 after the reactivation", v, ok)
	}
	if _, ok := metrics[`pollhook_notifications_pending{status="retry"}`]; !ok {
		t.Errorf("no pending gauge in %v", metrics)
	}
}
