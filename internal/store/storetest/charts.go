package storetest

import (
	"context"
	"fmt"
	"math"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/pollhook/pollhook/internal/store"
)

// chartBase is the start of the charts tests' first hour.
var chartBase = time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)

// chartFixture is two organizations: acme with instances Alpha and Beta,
// globex with Gamma; a callback and a notification per instance.
type chartFixture struct {
	acme, globex        *store.Organization
	alpha, beta, gamma  *store.Instance
	nAlpha, nBeta, nGam int64 // notification seqs
}

func newChartFixture(t *testing.T, s *store.Store) *chartFixture {
	t.Helper()
	ctx := context.Background()
	f := &chartFixture{}
	var ua, ug *store.User
	f.acme, ua = seed(t, s, "acme")
	f.globex, ug = seed(t, s, "globex")
	f.alpha, f.beta, f.gamma = newInstance(f.acme, ua, "Alpha"), newInstance(f.acme, ua, "Beta"), newInstance(f.globex, ug, "Gamma")
	for _, in := range []*store.Instance{f.alpha, f.beta, f.gamma} {
		if err := s.CreateInstance(ctx, in); err != nil {
			t.Fatal(err)
		}
	}
	err := s.InTx(ctx, func(tx *store.Tx) error {
		for _, x := range []struct {
			in  *store.Instance
			seq *int64
		}{{f.alpha, &f.nAlpha}, {f.beta, &f.nBeta}, {f.gamma, &f.nGam}} {
			cb, err := tx.CallbackFor(ctx, x.in.OrgID, "https://hooks.example/x")
			if err != nil {
				return err
			}
			n := &store.Notification{ID: "n-" + x.in.Name, OrgID: x.in.OrgID, InstanceID: x.in.ID, CallbackID: cb.ID,
				Resource: "contacts", Body: []byte("{}")}
			if err := tx.InsertNotification(ctx, n, nil); err != nil {
				return err
			}
			*x.seq = n.Seq
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// insertRows inserts rows into table in statements of up to 100 rows,
// as the store writes them (times in UTC through the driver).
func insertRows(t *testing.T, s *store.Store, table, columns string, rows [][]any) {
	t.Helper()
	n := strings.Count(columns, ",") + 1
	one := "(" + strings.TrimSuffix(strings.Repeat("?, ", n), ", ") + ")"
	for len(rows) > 0 {
		chunk := rows[:min(100, len(rows))]
		rows = rows[len(chunk):]
		var args []any
		values := make([]string, len(chunk))
		for i, r := range chunk {
			values[i] = one
			args = append(args, r...)
		}
		q := "INSERT INTO " + table + " (" + columns + ") VALUES " + strings.Join(values, ", ")
		if _, err := s.DB().ExecContext(context.Background(), s.Rebind(q), args...); err != nil {
			t.Fatal(err)
		}
	}
}

var eventSeq int

func eventRow(in *store.Instance, typ string, at time.Time) []any {
	eventSeq++
	return []any{fmt.Sprintf("ev-%d", eventSeq), in.OrgID, in.ID, "contacts", "1", typ, at, at, "NEW", "{}", at}
}

const eventCols = "id, org_id, instance_id, resource, object_id, event_type, event_date, poll_date, status, provider_data, created_at"

// Events per hour and type, per organization and per instance, in the
// range [since, until) only.
func testEventsPerHour(t *testing.T, s *store.Store) {
	ctx := context.Background()
	f := newChartFixture(t, s)
	h := func(n int) time.Time { return chartBase.Add(time.Duration(n) * time.Hour) }
	us := time.Microsecond
	rows := [][]any{
		eventRow(f.alpha, "CREATED", h(0).Add(-us)), // before the range
		eventRow(f.alpha, "CREATED", h(0)),          // its first instant
		eventRow(f.alpha, "CREATED", h(0).Add(59*time.Minute+59*time.Second+999999*us)),
		eventRow(f.beta, "CREATED", h(0).Add(30*time.Minute)),
		eventRow(f.alpha, "UPDATED", h(0).Add(time.Second)),
		eventRow(f.beta, "DELETED", h(2).Add(5*time.Minute)),
		eventRow(f.alpha, "UPDATED", h(3).Add(-us)), // the range's last instant
		eventRow(f.alpha, "UPDATED", h(3)),          // after the range
		eventRow(f.gamma, "CREATED", h(1)),          // another organization
	}
	insertRows(t, s, "events", eventCols, rows)
	show := func(cs []store.HourCount) string {
		var b []string
		for _, c := range cs {
			if c.Hour.Location() != time.UTC {
				t.Errorf("hour %v is not in UTC", c.Hour)
			}
			b = append(b, fmt.Sprintf("%s %s %d", c.Hour.Format("15:04"), c.Type, c.Count))
		}
		return strings.Join(b, ", ")
	}
	for _, tc := range []struct {
		name     string
		org, in  int64
		from, to time.Time
		want     string
	}{
		{"organization", f.acme.ID, 0, h(0), h(3), "10:00 CREATED 3, 10:00 UPDATED 1, 12:00 DELETED 1, 12:00 UPDATED 1"},
		{"instance", f.acme.ID, f.alpha.ID, h(0), h(3), "10:00 CREATED 2, 10:00 UPDATED 1, 12:00 UPDATED 1"},
		{"other instance", f.acme.ID, f.beta.ID, h(0), h(3), "10:00 CREATED 1, 12:00 DELETED 1"},
		{"another organization's instance", f.acme.ID, f.gamma.ID, h(0), h(3), ""},
		{"other organization", f.globex.ID, 0, h(0), h(3), "11:00 CREATED 1"},
		{"wider", f.acme.ID, f.alpha.ID, h(-1), h(4), "09:00 CREATED 1, 10:00 CREATED 2, 10:00 UPDATED 1, 12:00 UPDATED 1, 13:00 UPDATED 1"},
		{"empty range", f.acme.ID, 0, h(5), h(6), ""},
		{"local times", f.acme.ID, f.beta.ID, h(0).In(time.FixedZone("X", 5*3600)), h(3).In(time.FixedZone("Y", -7*3600)),
			"10:00 CREATED 1, 12:00 DELETED 1"},
	} {
		got, err := s.EventsPerHour(ctx, tc.org, tc.in, tc.from, tc.to)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if show(got) != tc.want {
			t.Errorf("%s: %s\nwant %s", tc.name, show(got), tc.want)
		}
	}
}

const attemptCols = "notification_id, at, status_code, latency_ms, error"

// Failed attempts per hour by kind; successful ones and those out of the
// range or of another organization do not count.
func testFailuresPerHour(t *testing.T, s *store.Store) {
	ctx := context.Background()
	f := newChartFixture(t, s)
	h := func(n int, m time.Duration) time.Time { return chartBase.Add(time.Duration(n)*time.Hour + m) }
	insertRows(t, s, "attempts", attemptCols, [][]any{
		{f.nAlpha, h(0, 0), 200, 10, ""},
		{f.nAlpha, h(0, time.Minute), 0, 10000, "context deadline exceeded"},
		{f.nAlpha, h(0, 2*time.Minute), 0, 3, "connection refused"},
		{f.nBeta, h(0, 3*time.Minute), 503, 40, ""},
		{f.nAlpha, h(0, 4*time.Minute), 404, 40, ""},
		{f.nAlpha, h(0, 5*time.Minute), 302, 40, ""},
		{f.nBeta, h(1, 0), 500, 40, ""},
		{f.nBeta, h(1, time.Second), 204, 40, ""},
		{f.nAlpha, h(-1, 0), 500, 40, ""}, // before
		{f.nAlpha, h(2, 0), 500, 40, ""},  // after
		{f.nGam, h(1, 0), 500, 40, ""},    // globex
	})
	show := func(cs []store.HourCount) string {
		var b []string
		for _, c := range cs {
			b = append(b, fmt.Sprintf("%s %s %d", c.Hour.Format("15:04"), c.Type, c.Count))
		}
		return strings.Join(b, ", ")
	}
	for _, tc := range []struct {
		name    string
		org, in int64
		want    string
	}{
		{"organization", f.acme.ID, 0, "10:00 4xx 1, 10:00 5xx 1, 10:00 no response 2, 10:00 other 1, 11:00 5xx 1"},
		{"instance", f.acme.ID, f.beta.ID, "10:00 5xx 1, 11:00 5xx 1"},
		{"other organization", f.globex.ID, 0, "11:00 5xx 1"},
		{"another organization's instance", f.globex.ID, f.alpha.ID, ""},
	} {
		got, err := s.FailuresPerHour(ctx, tc.org, tc.in, h(0, 0), h(2, 0))
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if show(got) != tc.want {
			t.Errorf("%s: %s\nwant %s", tc.name, show(got), tc.want)
		}
	}
}

// The latency percentiles of successful attempts per hour agree with the
// exact ones within the exact value's histogram bucket, and are exact
// where the data make them so.
func testDeliveryLatency(t *testing.T, s *store.Store) {
	ctx := context.Background()
	f := newChartFixture(t, s)
	h := func(n int, m time.Duration) time.Time { return chartBase.Add(time.Duration(n)*time.Hour + m) }
	var rows [][]any
	var exact [3][]int64 // per hour, acme's successful latencies
	add := func(hour int, seq int64, status int, ms int64, err string) {
		rows = append(rows, []any{seq, h(hour, time.Duration(len(rows))*time.Millisecond), status, ms, err})
		if seq != f.nGam && status/100 == 2 && err == "" && hour >= 0 && hour < 3 {
			exact[hour] = append(exact[hour], ms)
		}
	}
	// Hour 0: three values, each alone in its bucket: exact.
	for _, ms := range []int64{300, 100, 200} {
		add(0, f.nAlpha, 200, ms, "")
	}
	// Hour 1: 1000 spread latencies, skewed, with a long tail; failures
	// (slow) and another organization's attempts do not count.
	x := uint64(12345)
	for i := range 1000 {
		x = x*6364136223846793005 + 1442695040888963407
		u := float64(x>>11) / (1 << 53)
		ms := int64(20 + 200*u*u + float64(i%97))
		if i%50 == 0 {
			ms = int64(2000 + 30000*u)
		}
		add(1, []int64{f.nAlpha, f.nBeta}[i%2], 200+i%3, ms, "")
	}
	for range 30 {
		add(1, f.nAlpha, 503, 60000, "")
		add(1, f.nAlpha, 0, 30000, "timeout")
		add(1, f.nGam, 200, 1, "")
	}
	// Hour 2: one attempt; hour 4: out of the range.
	add(2, f.nBeta, 201, 7, "")
	add(4, f.nBeta, 200, 7, "")
	insertRows(t, s, "attempts", attemptCols, rows)

	got, err := s.DeliveryLatency(ctx, f.acme.ID, 0, h(0, 0), h(3, 0))
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 3 {
		t.Fatalf("%d hours: %+v", len(got), got)
	}
	nearestRank := func(ms []int64, p float64) time.Duration {
		s := slices.Sorted(slices.Values(ms))
		return time.Duration(s[max(1, int(math.Ceil(p*float64(len(s)))))-1]) * time.Millisecond
	}
	for i, l := range got {
		if want := h(i, 0); !l.Hour.Equal(want) || l.Hour.Location() != time.UTC {
			t.Errorf("hour %d is %v, want %v", i, l.Hour, want)
		}
		if l.Count != len(exact[i]) {
			t.Errorf("hour %d: %d attempts, want %d", i, l.Count, len(exact[i]))
		}
		for _, p := range []struct {
			q   float64
			got time.Duration
		}{{0.5, l.P50}, {0.99, l.P99}} {
			want := nearestRank(exact[i], p.q)
			lo, hi := store.LatencyBucket(want)
			if p.got < lo || p.got >= hi {
				t.Errorf("hour %d: p%v %v, exact %v, outside its bucket [%v, %v)", i, p.q*100, p.got, want, lo, hi)
			}
			if i != 1 && p.got != want {
				t.Errorf("hour %d: p%v %v, want exactly %v", i, p.q*100, p.got, want)
			}
			t.Logf("hour %d: p%v %v, exact %v", i, p.q*100, p.got, want)
		}
	}

	// One instance; another organization.
	if got, err := s.DeliveryLatency(ctx, f.acme.ID, f.beta.ID, h(2, 0), h(3, 0)); err != nil || len(got) != 1 ||
		got[0].Count != 1 || got[0].P50 != 7*time.Millisecond || got[0].P99 != 7*time.Millisecond {
		t.Errorf("beta, hour 2: %+v %v", got, err)
	}
	if got, err := s.DeliveryLatency(ctx, f.globex.ID, 0, h(0, 0), h(3, 0)); err != nil || len(got) != 1 ||
		got[0].Count != 30 || got[0].P50 != time.Millisecond {
		t.Errorf("globex: %+v %v", got, err)
	}
	if got, err := s.DeliveryLatency(ctx, f.acme.ID, f.gamma.ID, h(0, 0), h(3, 0)); err != nil || len(got) != 0 {
		t.Errorf("another organization's instance: %+v %v", got, err)
	}
}
