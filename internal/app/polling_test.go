package app

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/pollhook/pollhook/internal/jsonschema"
	sim "github.com/pollhook/pollhook/internal/sim/insightly"
)

// eventually retries cond until it holds or 20 s pass.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

type eventJSON struct {
	ID         string `json:"id"`
	EventType  string `json:"eventType"`
	ObjectType string `json:"objectType"`
	ObjectID   string `json:"objectId"`
	Status     string `json:"status"`
}

// End to end on the real engine: an instance created over the API is
// polled by River jobs, a change in Insightly becomes an event listed by
// the events API, and turning events off stops the polling.
func TestPollingEndToEnd(t *testing.T) {
	t.Parallel()
	clock := sim.NewManualClock(time.Now())
	h := newHarness(t, withClock(clock.Now))
	ctx := context.Background()
	in, _ := h.create(h.instanceBody("Polled", map[string]any{"event.poller.refresh_interval": "1"}))

	// The first run of each resource happens at once.
	eventually(t, "the first runs", func() bool {
		polls, _ := h.srv.store.PollsOf(ctx, in.ID)
		done := 0
		for _, p := range polls {
			if p.Runs > 0 {
				done++
			}
		}
		return len(polls) == 4 && done == 4
	})
	// A change upstream, then the next interval.
	resp, out := h.call("POST", "/hubs/crm/contacts", h.hub(in.Token), map[string]any{"LAST_NAME": "Polled"})
	want(t, resp, out, 200, "")
	var created map[string]any
	json.Unmarshal(out, &created)
	contactID := fmt.Sprint(int64(created["CONTACT_ID"].(float64)))
	clock.Advance(61 * time.Second)
	var events []eventJSON
	var raw []byte
	eventually(t, "the event", func() bool {
		// A job may still be finishing its first run: wake until it has.
		if err := h.srv.jobs.WakeAll(ctx); err != nil {
			t.Fatal(err)
		}
		resp, out := h.call("GET", fmt.Sprintf("/instances/%d/events", in.ID), h.platform(), nil)
		raw = out
		events = nil
		json.Unmarshal(out, &events)
		return resp.StatusCode == 200 && len(events) > 0
	})
	if len(events) != 1 || events[0].EventType != "CREATED" || events[0].ObjectType != "contacts" || events[0].ObjectID != contactID ||
		(events[0].Status != "NEW" && events[0].Status != "NOTIFIED") { // NOTIFIED once the receiver has it
		t.Fatalf("events: %s", raw)
	}
	resp, out = h.call("GET", "/instances/events/"+events[0].ID, h.platform(), nil)
	want(t, resp, out, 200, "")
	errs, err := jsonschema.Validate(readTestdata(t, "event.schema.json"), out)
	if err != nil || len(errs) != 0 {
		t.Errorf("the event does not validate against Cloud Elements' schema: %v %v\n%s", errs, err, out)
	}
	resp, out = h.call("GET", fmt.Sprintf("/instances/%d/events/%s", in.ID, events[0].ID), h.platform(), nil)
	want(t, resp, out, 200, "")
	eve := h.otherTenant()
	resp, out = h.call("GET", "/instances/events/"+events[0].ID, eve.header(), nil)
	want(t, resp, out, 404, "no such event")
	resp, out = h.call("GET", fmt.Sprintf("/instances/%d/events", in.ID), eve.header(), nil)
	want(t, resp, out, 404, "no such instance")

	// Events off: the polls go, in the same transaction, and nothing more is reported.
	resp, out = h.call("PATCH", fmt.Sprintf("/instances/%d", in.ID), h.platform(), map[string]any{"configuration": map[string]any{"event.notification.enabled": false}})
	want(t, resp, out, 200, "")
	if polls, _ := h.srv.store.PollsOf(ctx, in.ID); len(polls) != 0 {
		t.Fatalf("%d polls remain after events were turned off", len(polls))
	}
	h.call("POST", "/hubs/crm/contacts", h.hub(in.Token), map[string]any{"LAST_NAME": "Unseen"})
	clock.Advance(61 * time.Second)
	h.srv.jobs.WakeAll(ctx)
	time.Sleep(500 * time.Millisecond)
	resp, out = h.call("GET", fmt.Sprintf("/instances/%d/events", in.ID), h.platform(), nil)
	json.Unmarshal(out, &events)
	if len(events) != 1 {
		t.Errorf("%d events after events were turned off", len(events))
	}
}
