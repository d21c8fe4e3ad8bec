package insightly

import (
	"strconv"
	"testing"
	"time"
)

func TestFailNextBurst(t *testing.T) {
	t.Parallel()
	_, b := setup(t, Config{Records: 1})
	b.sim.SetFaults(Faults{FailNext: 3, FailStatus: 502})
	for i := range 3 {
		resp, body := b.do(t, "GET", "/v3.1/Contacts", nil)
		wantStatus(t, resp, body, 502)
		message(t, body)
		if resp.Header.Get("X-RateLimit-Remaining") == "" {
			t.Errorf("failure %d lacks rate headers", i)
		}
	}
	b.getList(t, "/v3.1/Contacts")
	// The default status of a burst is 503.
	b.sim.SetFaults(Faults{FailNext: 1})
	resp, body := b.do(t, "GET", "/v3.1/Contacts", nil)
	wantStatus(t, resp, body, 503)
}

func TestFailureRate(t *testing.T) {
	t.Parallel()
	_, b := setup(t, Config{Seed: 7})
	b.sim.SetFaults(Faults{FailureRate: 0.5, FailStatus: 500})
	fails := 0
	for range 200 {
		if resp, _ := b.do(t, "GET", "/v3.1/Instance", nil); resp.StatusCode == 500 {
			fails++
		}
	}
	if fails < 60 || fails > 140 {
		t.Errorf("failure rate 0.5 failed %d of 200", fails)
	}
}

func TestLatency(t *testing.T) {
	t.Parallel()
	_, b := setup(t, Config{})
	b.sim.SetFaults(Faults{Latency: Duration(150 * time.Millisecond)})
	start := time.Now()
	b.do(t, "GET", "/v3.1/Instance", nil)
	if d := time.Since(start); d < 150*time.Millisecond {
		t.Errorf("response after %v, want at least the injected 150ms", d)
	}
}

func TestMalformedPage(t *testing.T) {
	t.Parallel()
	_, b := setup(t, Config{Records: 3})
	b.sim.SetFaults(Faults{MalformedNext: 1})
	resp, body := b.do(t, "GET", "/v3.1/Contacts", nil)
	wantStatus(t, resp, body, 200)
	if body[0] != '{' {
		t.Errorf("malformed page starts with %q, want an object", body[0])
	}
	b.getList(t, "/v3.1/Contacts") // healed
}

// A record deleted below the offset between two page reads makes a naive
// offset pager skip one record: the fault must really do that.
func TestDeleteBetweenPagesShiftsTheNextPage(t *testing.T) {
	t.Parallel()
	sim, b := setup(t, Config{Records: 250})
	before, _ := sim.Records(b.key, "Contacts")
	sim.SetFaults(Faults{DeleteBetweenPages: map[string]int{"Contacts": 1}})
	var got []int64
	for skip := 0; ; skip += 100 {
		page, _ := b.getList(t, "/v3.1/Contacts/Search?top=100&skip="+strconv.Itoa(skip))
		for _, r := range page {
			got = append(got, idOf(t, r, "CONTACT_ID"))
		}
		if len(page) < 100 {
			break
		}
	}
	after, _ := sim.Records(b.key, "Contacts")
	if len(after) != len(before)-1 {
		t.Fatalf("%d contacts after the fault, want %d", len(after), len(before)-1)
	}
	// The deleted one was read (it was on page 1); the first record of
	// page 2 as it was before the delete was never read.
	missed := before[100]["CONTACT_ID"].(int64)
	for _, id := range got {
		if id == missed {
			t.Fatalf("record %d was read; the fault did not shift the page", missed)
		}
	}
	if len(got) != len(before)-1 {
		t.Errorf("naive pager read %d records, want %d (one deleted, one skipped, the deleted one read)", len(got), len(before)-1)
	}
	j := sim.Journal(0)
	if len(j) != 1 || j[0].Op != OpDelete || j[0].ID != before[0]["CONTACT_ID"].(int64) {
		t.Errorf("journal: %+v", j)
	}
}

// An index that lags: a write is not seen until later, and then carries the
// DATE_UPDATED_UTC of when it happened, behind a cursor that moved on.
func TestLateVisibleWrites(t *testing.T) {
	t.Parallel()
	_, b := setup(t, Config{})
	c := b.write(t, "POST", "/v3.1/Contacts", map[string]any{"LAST_NAME": "Early"}, 201)
	id := itoa(idOf(t, c, "CONTACT_ID"))
	b.clock.Advance(10 * time.Second)
	b.sim.SetFaults(Faults{LateNext: 1, LateNextDelay: Duration(5 * time.Second)})
	b.write(t, "PUT", "/v3.1/Contacts", map[string]any{"CONTACT_ID": c["CONTACT_ID"], "TITLE": "Late"}, 200)

	b.clock.Advance(2 * time.Second)
	if got := b.getRecord(t, "/v3.1/Contacts/"+id); got["TITLE"] != nil {
		t.Errorf("late update visible after 2s: %v", got["TITLE"])
	}
	if page, _ := b.getList(t, "/v3.1/Contacts/Search?updated_after_utc=2026-03-01T12:00:05Z"); len(page) != 0 {
		t.Errorf("late update found by search after 2s")
	}
	b.clock.Advance(3 * time.Second)
	page, _ := b.getList(t, "/v3.1/Contacts/Search?updated_after_utc=2026-03-01T12:00:05Z")
	if len(page) != 1 || page[0]["TITLE"] != "Late" || page[0]["DATE_UPDATED_UTC"] != "2026-03-01 12:00:10" {
		t.Fatalf("after 5s: %v", page)
	}
	j := b.sim.Journal(0)
	last := j[len(j)-1]
	if last.Op != OpUpdate || !last.VisibleAt.Equal(last.At.Add(5*time.Second)) {
		t.Errorf("journal of the late write: %+v", last)
	}

	// A late create is absent everywhere until visible; writes see it at once.
	b.sim.SetFaults(Faults{LateWrites: 1, LateDelay: Duration(time.Minute)})
	n := b.write(t, "POST", "/v3.1/Contacts", map[string]any{"LAST_NAME": "Hidden"}, 201)
	nid := itoa(idOf(t, n, "CONTACT_ID"))
	resp, body := b.do(t, "GET", "/v3.1/Contacts/"+nid, nil)
	wantStatus(t, resp, body, 404)
	b.write(t, "PUT", "/v3.1/Contacts/"+nid, map[string]any{"TITLE": "Still hidden"}, 200)
	b.clock.Advance(time.Minute)
	if got := b.getRecord(t, "/v3.1/Contacts/"+nid); got["TITLE"] != "Still hidden" {
		t.Errorf("after a minute: %v", got)
	}
}

func TestForbidObject(t *testing.T) {
	t.Parallel()
	_, b := setup(t, Config{Records: 2})
	b.sim.SetFaults(Faults{Forbid: []string{"leads"}})
	resp, body := b.do(t, "GET", "/v3.1/Leads/Search", nil)
	wantStatus(t, resp, body, 403)
	if got := message(t, body); got != "API User does not have access to Leads." {
		t.Errorf("message %q", got)
	}
	b.getList(t, "/v3.1/Contacts/Search") // other objects unaffected
	b.sim.SetFaults(Faults{})
	b.getList(t, "/v3.1/Leads/Search")
}
