package jobs

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	sim "github.com/pollhook/pollhook/internal/sim/insightly"
	"github.com/pollhook/pollhook/internal/store"
)

// The field trigger end to end, on the real engine's poll and delivery
// paths against the simulator: with {"snapshots": true, "fields":
// ["OPPORTUNITY_STATE"]}, a state change reaches the receiver as one
// UPDATED with its before and after; a change of only the name of
// another opportunity is not reported, and that opportunity's later state
// change is its only notification.
func TestFieldTriggerEndToEnd(t *testing.T) {
	t.Parallel()
	r := newRig(t, sim.Config{Records: 6, Seed: 5})
	var mu sync.Mutex
	var bodies []string
	rv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		b, _ := io.ReadAll(req.Body)
		mu.Lock()
		bodies = append(bodies, string(b))
		mu.Unlock()
	}))
	t.Cleanup(rv.Close)
	v := r.createWith(r.sim.APIKey(), map[string]any{"opportunities": map[string]any{"snapshots": true, "fields": []string{"OPPORTUNITY_STATE"}}},
		rv.URL+"/hook")
	r.poll(v, "opportunities") // the first poll, then the baseline
	if p := r.pollRow(v, "opportunities"); p.BaselineAt.IsZero() {
		t.Fatalf("no baseline after the first run: %+v", p)
	}
	opps, err := r.sim.Records(r.sim.APIKey(), "Opportunities")
	if err != nil || len(opps) < 2 {
		t.Fatalf("opportunities: %d %v", len(opps), err)
	}
	idOf := func(m map[string]any) string { return jsonString(m["OPPORTUNITY_ID"]) }
	a, b := opps[0], opps[1]
	newState := func(m map[string]any) string {
		if m["OPPORTUNITY_STATE"] == "WON" {
			return "LOST"
		}
		return "WON"
	}
	put := func(body map[string]any) {
		t.Helper()
		raw, _ := json.Marshal(body)
		req, _ := http.NewRequest("PUT", r.simURL+"/Opportunities", strings.NewReader(string(raw)))
		req.SetBasicAuth(r.sim.APIKey(), "")
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil || resp.StatusCode != http.StatusOK {
			t.Fatalf("PUT %s: %v %v", raw, resp, err)
		}
		resp.Body.Close()
	}
	r.clock.Advance(time.Second)
	aBefore, aAfter := a["OPPORTUNITY_STATE"], newState(a)
	put(map[string]any{"OPPORTUNITY_ID": a["OPPORTUNITY_ID"], "OPPORTUNITY_STATE": aAfter})
	put(map[string]any{"OPPORTUNITY_ID": b["OPPORTUNITY_ID"], "OPPORTUNITY_NAME": "Renamed, nothing else"})
	r.clock.Advance(61 * time.Second)
	r.poll(v, "opportunities")

	evs := r.events(v, "UPDATED")
	if len(evs) != 1 || evs[idOf(a)] != 1 {
		t.Fatalf("UPDATED events after a state change and a rename: %v, want one for %s", evs, idOf(a))
	}
	cb, err := r.st.CallbackFor(context.Background(), r.caller.Org.ID, rv.URL+"/hook")
	if err != nil {
		t.Fatal(err)
	}
	r.e.pipeline.Drain(context.Background(), cb.ID)
	mu.Lock()
	got := strings.Join(bodies, "\n")
	mu.Unlock()
	var env struct {
		Message struct {
			Events []struct {
				ObjectID      string                                 `json:"objectId"`
				EventType     string                                 `json:"eventType"`
				ChangedFields map[string]struct{ Before, After any } `json:"changedFields"`
			} `json:"events"`
		} `json:"message"`
	}
	if len(bodies) != 1 || json.Unmarshal([]byte(bodies[0]), &env) != nil || len(env.Message.Events) != 1 {
		t.Fatalf("the receiver got:\n%s", got)
	}
	e := env.Message.Events[0]
	c, ok := e.ChangedFields["OPPORTUNITY_STATE"]
	if e.ObjectID != idOf(a) || e.EventType != "UPDATED" || !ok || c.Before != aBefore || c.After != aAfter {
		t.Errorf("the notification's event: %+v, want OPPORTUNITY_STATE %v → %v", e, aBefore, aAfter)
	}

	// The renamed opportunity's state changes: its only notification.
	r.clock.Advance(time.Second)
	put(map[string]any{"OPPORTUNITY_ID": b["OPPORTUNITY_ID"], "OPPORTUNITY_STATE": newState(b)})
	r.clock.Advance(61 * time.Second)
	r.poll(v, "opportunities")
	if evs := r.events(v, "UPDATED"); len(evs) != 2 || evs[idOf(b)] != 1 {
		t.Fatalf("UPDATED events after the renamed one's state change: %v", evs)
	}
	r.e.pipeline.Drain(context.Background(), cb.ID)
	mu.Lock()
	got = strings.Join(bodies, "\n")
	var second []byte
	if len(bodies) == 2 {
		second = []byte(bodies[1])
	}
	mu.Unlock()
	env.Message.Events = nil
	if json.Unmarshal(second, &env) != nil || len(env.Message.Events) != 1 {
		t.Fatalf("the receiver got, after the renamed one's state change:\n%s", got)
	}
	if e := env.Message.Events[0]; e.ObjectID != idOf(b) || e.EventType != "UPDATED" || e.ChangedFields["OPPORTUNITY_STATE"].After != newState(b) {
		t.Errorf("the second notification's event: %+v, want %s's OPPORTUNITY_STATE → %s", e, idOf(b), newState(b))
	}
	all, _ := r.st.Events(context.Background(), r.caller.Org.ID, store.EventFilter{InstanceID: v.ID})
	for _, ev := range all {
		if ev.ObjectID == idOf(b) {
			var diff map[string]struct{ Before, After any }
			json.Unmarshal(ev.ChangedFields, &diff)
			if _, ok := diff["OPPORTUNITY_STATE"]; !ok {
				t.Errorf("the renamed one's UPDATED carries %s", ev.ChangedFields)
			}
			// The suppressed rename became the last observed version: the
			// diff is against it, so the name is not in it.
			if _, ok := diff["OPPORTUNITY_NAME"]; ok {
				t.Errorf("the diff is not against the last observed version (the rename): %s", ev.ChangedFields)
			}
		}
	}
}

func jsonString(v any) string {
	switch v := v.(type) {
	case float64:
		return strconv.FormatFloat(v, 'f', -1, 64)
	case json.Number:
		return v.String()
	}
	b, _ := json.Marshal(v)
	return string(b)
}
