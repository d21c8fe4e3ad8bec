package insightly

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pollhook/pollhook/internal/element"
	sim "github.com/pollhook/pollhook/internal/sim/insightly"
)

var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// counter counts the requests that reach the simulator: a real transport,
// observed.
type counter struct {
	n    atomic.Int64
	next http.RoundTripper
}

func (c *counter) RoundTrip(r *http.Request) (*http.Response, error) {
	c.n.Add(1)
	return c.next.RoundTrip(r)
}

type testBundle struct {
	sim    *sim.Sim
	srv    *httptest.Server
	clock  *sim.ManualClock // the simulator's clock, and our wall clock
	sent   *counter
	sleeps *sleepLog
}

// sleepLog stands in for time passing: each sleep is recorded and moves
// the shared manual clock, so retry and pause logic runs instantly.
type sleepLog struct {
	mu    sync.Mutex
	waits []time.Duration
	clock *sim.ManualClock
}

func (s *sleepLog) sleep(ctx context.Context, d time.Duration) error {
	s.mu.Lock()
	s.waits = append(s.waits, d)
	s.mu.Unlock()
	s.clock.Advance(d)
	return ctx.Err()
}

func (s *sleepLog) all() []time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]time.Duration(nil), s.waits...)
}

// setup starts a simulator and a client of it that share one manual clock.
func setup(t *testing.T, cfg sim.Config) (*Client, *testBundle) {
	t.Helper()
	clock := sim.NewManualClock(t0)
	cfg.Now = clock.Now
	if cfg.WallNow == nil {
		cfg.WallNow = clock.Now
	}
	if cfg.RateLimit == 0 {
		cfg.RateLimit = -1
	}
	s := sim.New(cfg)
	srv := httptest.NewServer(s.Handler())
	t.Cleanup(srv.Close)
	b := &testBundle{sim: s, srv: srv, clock: clock, sent: &counter{next: http.DefaultTransport},
		sleeps: &sleepLog{clock: clock}}
	return b.client(t, s.APIKey()), b
}

func (b *testBundle) client(t *testing.T, key string) *Client {
	t.Helper()
	lim := NewLimiter(1000, 4)
	lim.now = b.clock.Now
	c, err := New(Config{APIKey: key, BaseURL: b.srv.URL + "/v3.1", HTTPClient: &http.Client{Transport: b.sent},
		Limiter: lim, Sleep: b.sleeps.sleep, Now: b.clock.Now,
		Backoff: func(n int) time.Duration { return time.Duration(n+1) * time.Second }})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestResolveBaseURL(t *testing.T) {
	t.Parallel()
	cases := []struct{ pod, full, want, err string }{
		{"", "", "https://api.na1.insightly.com/v3.1", ""},
		{"eu1", "", "https://api.eu1.insightly.com/v3.1", ""},
		{" AU1 ", "", "https://api.au1.insightly.com/v3.1", ""},
		{"https://api.aps1.insightly.com/v3.1/", "", "https://api.aps1.insightly.com/v3.1", ""},
		{"", "https://api.na1.insightly.com/v3.1/", "https://api.na1.insightly.com/v3.1", ""},
		{"", "https://api.insightly.com", "https://api.insightly.com/v3.1", ""},
		{"na1", "http://127.0.0.1:8089/v3.1", "http://127.0.0.1:8089/v3.1", ""}, // the URL wins
		{"na-1", "", "", "not a pod name"},
		{"", "ftp://x/v3.1", "", "not an http(s) URL"},
		{"", "https://api.na1.insightly.com/v3.1?x=1", "", "must not carry"},
		{"", "https://key@api.na1.insightly.com/v3.1", "", "must not carry"},
	}
	for _, tc := range cases {
		u, err := ResolveBaseURL(tc.pod, tc.full)
		switch {
		case tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)):
			t.Errorf("(%q, %q): error %v, want %q", tc.pod, tc.full, err, tc.err)
		case tc.err == "" && (err != nil || u.String() != tc.want):
			t.Errorf("(%q, %q) = %v, %v; want %s", tc.pod, tc.full, u, err, tc.want)
		}
	}
}

func TestTypedErrors(t *testing.T) {
	t.Parallel()
	c, b := setup(t, sim.Config{Records: 2})
	ctx := context.Background()
	cases := []struct {
		path   string
		kind   error
		status int
	}{
		{"Contacts/1", ErrNotFound, 404},
		{"Product", ErrNotFound, 404},        // not on the plan
		{"Ticket", ErrForbidden, 403},        // gated by the plan
		{"Tickets", ErrInvalid, 405},         // wrong collection name
		{"Contacts/Search", ErrInvalid, 400}, // sent with top=0
	}
	for _, tc := range cases {
		_, err := c.Do(ctx, "GET", tc.path, url.Values{"top": {"0"}}, nil)
		var e *Error
		if !errors.Is(err, tc.kind) || !errors.As(err, &e) || e.Status != tc.status || e.Message == "" {
			t.Errorf("GET %s: %v, want %v with status %d and a message", tc.path, err, tc.kind, tc.status)
		}
	}
	bad := b.client(t, "not-a-key")
	_, err := bad.Do(ctx, "GET", "Users/Me", nil, nil)
	if !errors.Is(err, ErrUnauthorized) || strings.Contains(err.Error(), "not-a-key") {
		t.Errorf("bad key: %v", err)
	}
}

func TestRetriesServerErrors(t *testing.T) {
	t.Parallel()
	c, b := setup(t, sim.Config{})
	ctx := context.Background()
	b.sim.SetFaults(sim.Faults{FailNext: 2, FailStatus: 503})
	if _, err := c.Do(ctx, "GET", "Instance", nil, nil); err != nil {
		t.Fatalf("after 2 failures: %v", err)
	}
	if n := b.sent.n.Load(); n != 3 {
		t.Errorf("%d requests, want 3", n)
	}
	if w := b.sleeps.all(); len(w) != 2 || w[0] != time.Second || w[1] != 2*time.Second {
		t.Errorf("backoff waits %v, want [1s 2s]", w)
	}

	b.sim.SetFaults(sim.Faults{FailNext: 100, FailStatus: 502})
	_, err := c.Do(ctx, "GET", "Instance", nil, nil)
	var e *Error
	if !errors.Is(err, ErrUnavailable) || !errors.As(err, &e) || e.Status != 502 {
		t.Errorf("outlasting the retries: %v", err)
	}
	if n := b.sent.n.Load(); n != 3+1+MaxRetriesDefault {
		t.Errorf("%d requests in all, want %d", n, 3+1+MaxRetriesDefault)
	}

	// A POST that failed with a 5xx may have been applied: never retried.
	b.sim.SetFaults(sim.Faults{FailNext: 1})
	before := b.sent.n.Load()
	_, err = c.Do(ctx, "POST", "Contacts", nil, []byte(`{"LAST_NAME":"Once"}`))
	if !errors.Is(err, ErrUnavailable) || b.sent.n.Load() != before+1 {
		t.Errorf("POST after a 503: %v, %d requests", err, b.sent.n.Load()-before)
	}
}

func TestRateLimitRetry(t *testing.T) {
	t.Parallel()
	c, b := setup(t, sim.Config{RateLimit: 1, Burst: 1})
	ctx := context.Background()
	for range 3 {
		if _, err := c.Do(ctx, "GET", "Instance", nil, nil); err != nil {
			t.Fatal(err)
		}
	}
	// Each call after the first met a 429 with Retry-After: 1 and waited it out.
	if n := b.sent.n.Load(); n != 5 {
		t.Errorf("%d requests, want 5 (3 answered, 2 refused)", n)
	}
	for _, w := range b.sleeps.all() {
		if w != time.Second {
			t.Errorf("waited %v, want the Retry-After of 1s", w)
		}
	}

	// Without Retry-After, the fallback backoff applies.
	b.sim.SetFaults(sim.Faults{OmitRetryAfter: true})
	before := len(b.sleeps.all())
	if _, err := c.Do(ctx, "GET", "Instance", nil, nil); err != nil {
		t.Fatal(err)
	}
	if w := b.sleeps.all()[before:]; len(w) != 1 || w[0] != time.Second {
		t.Errorf("fallback waits %v, want [1s] (Backoff(0))", w)
	}
}

func TestDailyQuota(t *testing.T) {
	t.Parallel()
	c, b := setup(t, sim.Config{DailyQuota: 2})
	ctx := context.Background()
	for range 2 {
		if _, err := c.Do(ctx, "GET", "Instance", nil, nil); err != nil {
			t.Fatal(err)
		}
	}
	_, err := c.Do(ctx, "GET", "Instance", nil, nil)
	var q *QuotaError
	if !errors.As(err, &q) || !errors.Is(err, ErrQuotaExhausted) {
		t.Fatalf("third call: %v", err)
	}
	if want := time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC); !q.Reset.Equal(want) || q.Limit != 2 {
		t.Errorf("reset %v limit %d, want %v and 2", q.Reset, q.Limit, want)
	}
	// Known exhausted: fail at once without spending a request.
	sent := b.sent.n.Load()
	if _, err := c.Do(ctx, "GET", "Instance", nil, nil); !errors.Is(err, ErrQuotaExhausted) || b.sent.n.Load() != sent {
		t.Errorf("while exhausted: %v after %d requests", err, b.sent.n.Load()-sent)
	}
	if got := c.Limiter().Quota(); got.Remaining != 0 || got.Reset.IsZero() {
		t.Errorf("Quota() = %+v", got)
	}
	b.clock.Set(time.Date(2026, 3, 2, 0, 0, 1, 0, time.UTC))
	if _, err := c.Do(ctx, "GET", "Instance", nil, nil); err != nil {
		t.Errorf("after the reset: %v", err)
	}
}

func TestResponseCarriesUpstreamDate(t *testing.T) {
	t.Parallel()
	c, _ := setup(t, sim.Config{ClockOffset: -47 * time.Second, Records: 1})
	page, err := c.List(context.Background(), "Contacts", Query{}, 0, 10, true)
	if err != nil {
		t.Fatal(err)
	}
	if want := t0.Add(-47 * time.Second); !page.Date.Equal(want) {
		t.Errorf("Date %v, want the upstream clock %v", page.Date, want)
	}
	if page.Total != 1 || len(page.Records) != 1 {
		t.Errorf("total %d, %d records", page.Total, len(page.Records))
	}
}

func TestListQueries(t *testing.T) {
	t.Parallel()
	c, b := setup(t, sim.Config{})
	ctx := context.Background()
	mk := func(body string) {
		if _, err := c.Do(ctx, "POST", "Contacts", nil, []byte(body)); err != nil {
			t.Fatal(err)
		}
	}
	mk(`{"LAST_NAME":"Before","TAGS":[{"TAG_NAME":"VIP"}]}`)
	b.clock.Advance(time.Second)
	mk(`{"LAST_NAME":"After","CUSTOMFIELDS":[{"FIELD_NAME":"Hobby__c","FIELD_VALUE":"Chess"}]}`)
	cases := []struct {
		q    Query
		want []string
	}{
		{Query{}, []string{"Before", "After"}},
		{Query{UpdatedAfter: t0}, []string{"After"}},
		{Query{UpdatedAfter: t0.Add(999 * time.Millisecond)}, []string{"After"}}, // truncated to the second
		{Query{FieldName: "Hobby__c", FieldValue: "Chess"}, []string{"After"}},
		{Query{Tag: "VIP"}, []string{"Before"}},
	}
	for _, tc := range cases {
		page, err := c.List(ctx, "Contacts", tc.q, 0, 100, false)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, r := range page.Records {
			v, _ := r.Lookup("LAST_NAME")
			got = append(got, v.(string))
		}
		if len(got) != len(tc.want) || (len(got) > 0 && got[0] != tc.want[0]) {
			t.Errorf("%+v: got %v, want %v", tc.q, got, tc.want)
		}
	}
	if _, err := c.List(ctx, "Contacts", Query{Tag: "x", FieldName: "a"}, 0, 10, false); err == nil {
		t.Error("two filters at once were sent")
	}
	if _, err := c.List(ctx, "Contacts", Query{}, 0, 501, false); err == nil {
		t.Error("page size 501 accepted")
	}
	b.sim.SetFaults(sim.Faults{MalformedNext: 1})
	if _, err := c.List(ctx, "Contacts", Query{}, 0, 10, false); !errors.Is(err, ErrUnavailable) {
		t.Errorf("non-array page: %v", err)
	}
}

func TestRecordLookup(t *testing.T) {
	t.Parallel()
	r := element.NewRecord([]byte(`{"CONTACT_ID": 366638973, "A": {"B": [1, {"C": "deep"}]},
		"CUSTOMFIELDS": [{"FIELD_NAME": "Hobby__c", "FIELD_VALUE": "Skiing", "CUSTOM_FIELD_ID": "Hobby__c"}]}`))
	if id, ok := r.ID("CONTACT_ID"); !ok || id != 366638973 {
		t.Errorf("ID = %d, %v", id, ok)
	}
	for path, want := range map[string]any{"A.B.1.C": "deep", "Hobby__c": "Skiing", "hobby__c": "Skiing"} {
		if v, ok := lookup(r, path); !ok || v != want {
			t.Errorf("Lookup(%s) = %v, %v", path, v, ok)
		}
	}
	for _, path := range []string{"A.B.2", "A.X", "CONTACT_ID.x", "Nope__c"} {
		if v, ok := lookup(r, path); ok {
			t.Errorf("Lookup(%s) = %v, want absent", path, v)
		}
	}
	if _, err := element.NewRecord([]byte(`[1]`)).Fields(); err == nil {
		t.Error("an array decoded as a record")
	}
}
