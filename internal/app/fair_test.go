package app

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/riverqueue/river/rivertype"

	"github.com/pollhook/pollhook/internal/seal"
	sim "github.com/pollhook/pollhook/internal/sim/insightly"
	"github.com/pollhook/pollhook/internal/testdb"
)

// upstream is an Insightly simulator behind a real HTTP server that
// counts the requests it gets and, while held, keeps every request but
// the credential check (GET /Users/Me, /Instance) waiting until it is
// let go: an account whose Insightly answers very slowly.
type upstream struct {
	sim     *sim.Sim
	url     string       // …/v3.1
	got     atomic.Int64 // requests received
	waiting atomic.Int64 // requests held now
	held    bool
	letGo   chan struct{}
	once    sync.Once
}

func newUpstream(t *testing.T, held bool) *upstream {
	t.Helper()
	u := &upstream{sim: sim.New(sim.Config{Records: 5, Seed: 13, RateLimit: -1}), held: held, letGo: make(chan struct{})}
	h := u.sim.Handler()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u.got.Add(1)
		if u.held && !strings.HasSuffix(r.URL.Path, "/Users/Me") && !strings.HasSuffix(r.URL.Path, "/Instance") {
			u.waiting.Add(1)
			select {
			case <-u.letGo:
			case <-r.Context().Done():
			}
			u.waiting.Add(-1)
			if r.Context().Err() != nil {
				return
			}
		}
		h.ServeHTTP(w, r)
	}))
	// Let go first: Close waits for the requests in flight.
	t.Cleanup(func() { u.release(); srv.Close() })
	u.url = srv.URL + "/v3.1"
	return u
}

func (u *upstream) release() { u.once.Do(func() { close(u.letGo) }) }

// contactsPollers is a poller configuration of n resources, each reading
// the contacts: an organization with many polls on one account.
func contactsPollers(n int) map[string]any {
	out := map[string]any{}
	for i := range n {
		out[fmt.Sprintf("c%02d", i)] = map[string]any{
			"url":     "/hubs/crm/contacts?where=updated_after_utc='${gmtDate:yyyy-MM-dd HH:mm:ss}'",
			"idField": "CONTACT_ID",
			"datesConfiguration": map[string]any{"updatedDateField": "DATE_UPDATED_UTC", "updatedDateFormat": "yyyy-MM-dd HH:mm:ss",
				"createdDateField": "DATE_CREATED_UTC", "createdDateFormat": "yyyy-MM-dd HH:mm:ss"}}
	}
	return out
}

// fairCase is one way an organization could hold every worker.
type fairCase struct {
	name string
	// accounts of organization A, each with resources polls, all held.
	accounts, resources int
	orgMaxJobs          int
	inFlight            int    // requests A has waiting upstream once it settles
	reason              string // what pollhook_jobs_deferred_total says
}

var fairCases = []fairCase{
	// Two slow accounts × 4 request slots would hold all 8 workers: the
	// organization's cap of 4 polls keeps the others free.
	{name: "per-organization cap", accounts: 2, resources: 10, orgMaxJobs: 4, inFlight: 4, reason: "org_cap"},
	// No cap to speak of (8 = --workers): the polls that find their
	// account's 4 slots taken give their worker back instead of queueing.
	{name: "account gate", accounts: 1, resources: 20, orgMaxJobs: 8, inFlight: 4, reason: "account_busy"},
}

func TestSlowOrganizationDoesNotStallOthersSQLite(t *testing.T) {
	t.Parallel()
	for _, tc := range fairCases {
		t.Run(tc.name, func(t *testing.T) { testSlowOrganization(t, tc) })
	}
}

func TestSlowOrganizationDoesNotStallOthersPostgres(t *testing.T) {
	t.Parallel()
	base := testdb.PostgresURL(t)
	for _, tc := range fairCases {
		t.Run(tc.name, func(t *testing.T) {
			key := seal.NewKey("k1")
			testSlowOrganization(t, tc, withDatabase(testdb.FreshSchema(t, base)), func(c *serverConfig) { c.EncryptionKey = key })
		})
	}
}

// testSlowOrganization: organization A's polls all wait on upstreams
// that do not answer. While they still wait, organization B's poll-now
// runs and completes; then A's upstreams answer and every poll of A
// completes too. Order is asserted, not time.
func testSlowOrganization(t *testing.T, tc fairCase, opts ...harnessOpt) {
	ctx := context.Background()
	// The upstreams first, then the server: every setting the server needs
	// about them is here (workers, the cap, the account limits, and
	// whatever lets pollhook call loopback upstreams).
	healthy := newUpstream(t, false)
	var slow []*upstream
	for range tc.accounts {
		slow = append(slow, newUpstream(t, true))
	}
	opts = append(opts, func(c *serverConfig) {
		c.Workers, c.OrgMaxJobs = 8, tc.orgMaxJobs
		c.InsightlyRate, c.InsightlyConcurrency = 1000, 4
		c.AllowUpstream += "," + strings.TrimSuffix(strings.TrimPrefix(healthy.url, "http://"), "/v3.1")
		for _, u := range slow {
			c.AllowUpstream += "," + strings.TrimSuffix(strings.TrimPrefix(u.url, "http://"), "/v3.1")
		}
	})
	h := newHarness(t, opts...)
	// Should the test stop half way, let go of A's requests before the
	// server stops (it waits for the jobs in flight).
	t.Cleanup(func() {
		for _, u := range slow {
			u.release()
		}
	})

	// B: one healthy account, polled once.
	bodyB := h.instanceBody("B", map[string]any{"password": healthy.sim.APIKey(), "base.url": healthy.url,
		"event.poller.configuration": map[string]any{"contacts": map[string]any{}}})
	b, _ := h.create(bodyB)
	runsOf := func(id int64) (runs, failures, done int) {
		polls, err := h.srv.store.PollsOf(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range polls {
			runs += p.Runs
			failures += p.Failures
			if p.Runs > 0 && !p.RunNow {
				done++
			}
		}
		return runs, failures, done
	}
	// Asleep, not just done: River records a job's end a moment after
	// the run, and a poll-now asked meanwhile waits for the next interval
	// (a race of its own, not this test's subject).
	eventually(t, "B's first poll, its job asleep", func() bool {
		polls, _ := h.srv.store.PollsOf(ctx, b.ID)
		if len(polls) != 1 || polls[0].Runs == 0 || polls[0].JobID == 0 {
			return false
		}
		job, err := h.srv.jobs.Client().JobGet(ctx, polls[0].JobID)
		return err == nil && job.State == rivertype.JobStateScheduled
	})

	// A: every request of its polls waits.
	orgA := h.otherTenant()
	var instancesA []int64
	for i, u := range slow {
		body := h.instanceBody(fmt.Sprintf("A%d", i), map[string]any{"password": u.sim.APIKey(), "base.url": u.url,
			"event.poller.configuration": contactsPollers(tc.resources)})
		resp, out := h.call("POST", "/instances", orgA.header(), body)
		want(t, resp, out, 200, "")
		var in instanceJSON
		if err := json.Unmarshal(out, &in); err != nil {
			t.Fatal(err)
		}
		instancesA = append(instancesA, in.ID)
	}
	waiting := func() int64 {
		n := int64(0)
		for _, u := range slow {
			n += u.waiting.Load()
		}
		return n
	}
	eventually(t, "A's polls waiting upstream", func() bool { return waiting() >= int64(tc.inFlight) })

	// B asks for a poll now: it runs and completes while A still waits.
	runsB, _, _ := runsOf(b.ID)
	gotB := healthy.got.Load()
	resp, out := h.call("POST", fmt.Sprintf("/instances/%d/polls/run", b.ID), h.platform(), nil)
	want(t, resp, out, 202, "")
	eventually(t, "B's requested poll, while A's polls wait", func() bool {
		runs, _, done := runsOf(b.ID)
		return runs > runsB && done == 1
	})
	if n := waiting(); n < int64(tc.inFlight) {
		t.Fatalf("A's upstreams were answering before B's poll completed: %d requests waiting, want %d", n, tc.inFlight)
	}
	if healthy.got.Load() == gotB {
		t.Fatal("B's poll completed without a request to its upstream")
	}
	for _, id := range instancesA {
		if runs, failures, _ := runsOf(id); runs != 0 || failures != 0 {
			t.Fatalf("an instance of A recorded %d runs, %d failures while its upstream held every request", runs, failures)
		}
	}
	// A never had more requests waiting upstream than its cap or its
	// account's slots allow: the rest gave their workers back.
	if n := waiting(); n != int64(tc.inFlight) {
		t.Errorf("%d requests of A waiting upstream, want %d", n, tc.inFlight)
	}
	if m := h.scrape(); m[`pollhook_jobs_deferred_total{kind="poll",reason="`+tc.reason+`"}`] == 0 ||
		m[`pollhook_polls_total{result="deferred"}`] == 0 {
		t.Errorf("no poll deferred for %s in /metrics", tc.reason)
	}

	// A's upstreams answer: every poll of A completes, none lost.
	for _, u := range slow {
		u.release()
	}
	for _, id := range instancesA {
		eventually(t, "every poll of A", func() bool {
			_, failures, done := runsOf(id)
			if failures != 0 {
				t.Fatalf("instance %d: %d failures", id, failures)
			}
			return done == tc.resources
		})
	}
}
