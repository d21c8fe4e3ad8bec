package app

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	sim "github.com/pollhook/pollhook/internal/sim/insightly"
)

// The status and control endpoints over HTTP: per-resource status, poll
// now, and a backfill whose events are marked as such.
func TestPollStatusAndControl(t *testing.T) {
	t.Parallel()
	clock := sim.NewManualClock(time.Now())
	h := newHarness(t, withClock(clock.Now))
	ctx := context.Background()
	in, _ := h.create(h.instanceBody("Controlled", map[string]any{"event.poller.refresh_interval": "60"}))
	path := fmt.Sprintf("/instances/%d/polls", in.ID)
	type statusJSON struct {
		Valid bool `json:"valid"`
		Quota *struct {
			Account   string `json:"account"`
			Remaining int    `json:"remaining"`
		} `json:"quota"`
		Polls []struct {
			Resource        string `json:"resource"`
			IntervalSeconds int    `json:"intervalSeconds"`
			Cursor          string `json:"cursor"`
			NextRunAt       string `json:"nextRunAt"`
			LastRun         *struct {
				Pages   int            `json:"pages"`
				Records int            `json:"records"`
				Events  map[string]int `json:"events"`
			} `json:"lastRun"`
		} `json:"polls"`
	}
	var st statusJSON
	eventually(t, "first runs in the status", func() bool {
		resp, out := h.call("GET", path, h.platform(), nil)
		json.Unmarshal(out, &st)
		if resp.StatusCode != 200 || len(st.Polls) != 4 {
			return false
		}
		for _, p := range st.Polls {
			if p.LastRun == nil {
				return false
			}
		}
		return true
	})
	if !st.Valid || st.Polls[0].IntervalSeconds != 3600 || st.Polls[0].Cursor == "" || st.Polls[0].NextRunAt == "" || st.Quota == nil || st.Quota.Remaining <= 0 {
		t.Errorf("status: %+v", st)
	}

	// Poll now: the next run comes at once despite the hour-long interval.
	// (Count the runs before asking: the run may be over before the answer.)
	polls, _ := h.srv.store.PollsOf(ctx, in.ID)
	runs := map[string]int{}
	for _, p := range polls {
		runs[p.Resource] = p.Runs
	}
	resp, out := h.call("POST", path+"/contacts/run", h.platform(), nil)
	want(t, resp, out, 202, "")
	eventually(t, "the requested run", func() bool {
		polls, _ := h.srv.store.PollsOf(ctx, in.ID)
		for _, p := range polls {
			if p.Resource == "contacts" && p.Runs > runs["contacts"] && !p.RunNow {
				return true
			}
		}
		h.srv.jobs.WakeAll(ctx)
		return false
	})

	// A backfill from before polling began reports old records, marked as backfill.
	resp, out = h.call("POST", path+"/accounts/run", h.platform(), map[string]any{"backfillFrom": "2000-01-01T00:00:00Z"})
	want(t, resp, out, 202, "")
	var events []struct {
		ObjectType string `json:"objectType"`
		Backfill   bool   `json:"backfill"`
	}
	eventually(t, "backfilled events", func() bool {
		h.srv.jobs.WakeAll(ctx)
		_, out := h.call("GET", fmt.Sprintf("/instances/%d/events?pageSize=1000", in.ID), h.platform(), nil)
		events = nil
		json.Unmarshal(out, &events)
		return len(events) > 0
	})
	truth, _ := h.sim.Records(h.sim.APIKey(), "Organisations")
	backfilled := 0
	for _, e := range events {
		if e.ObjectType == "accounts" && e.Backfill {
			backfilled++
		}
	}
	if backfilled != len(truth) {
		t.Errorf("backfill reported %d accounts, the simulator has %d", backfilled, len(truth))
	}

	for _, tc := range []struct {
		path string
		body any
		code int
		msg  string
	}{
		{path + "/run", map[string]any{"backfillFrom": "2000-01-01T00:00:00Z"}, 400, "names one resource"},
		{path + "/contacts/run", map[string]any{"backfillFrom": "yesterday"}, 400, "backfillFrom"},
		{path + "/contacts/run", map[string]any{"since": "x"}, 400, "body"},
		{path + "/widgets/run", nil, 404, `does not poll "widgets"`},
	} {
		resp, out := h.call("POST", tc.path, h.platform(), tc.body)
		want(t, resp, out, tc.code, tc.msg)
	}
	eve := h.otherTenant()
	resp, out = h.call("GET", path, eve.header(), nil)
	want(t, resp, out, 404, "no such instance")
	resp, out = h.call("POST", path+"/run", eve.header(), nil)
	want(t, resp, out, 404, "no such instance")
}
