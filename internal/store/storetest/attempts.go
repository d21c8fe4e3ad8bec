package storetest

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/pollhook/pollhook/internal/store"
)

// attemptRows counts a notification's rows in the attempts table, which
// the listing (Store.Attempts) does not tell apart from inline attempts.
func attemptRows(t *testing.T, s *store.Store, seq int64) int {
	t.Helper()
	var n int
	if err := s.DB().QueryRowContext(context.Background(), s.Rebind(`SELECT COUNT(*) FROM attempts WHERE notification_id = ?`), seq).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// record records one pass of results, as the pipeline does.
func record(t *testing.T, s *store.Store, rs ...store.AttemptResult) {
	t.Helper()
	ctx := context.Background()
	if err := s.InTx(ctx, func(tx *store.Tx) error { return tx.RecordAttempts(ctx, rs) }); err != nil {
		t.Fatal(err)
	}
}

func ok(n *store.Notification, at time.Time, latency time.Duration, response string) store.AttemptResult {
	return store.AttemptResult{Notification: n, Status: store.NotificationDelivered,
		Attempt: store.Attempt{At: at, StatusCode: 200, Latency: latency, Response: response}}
}

func failed(n *store.Notification, at time.Time, code int, errText string) store.AttemptResult {
	return store.AttemptResult{Notification: n, Status: store.NotificationRetry,
		Attempt: store.Attempt{At: at, StatusCode: code, Latency: 5 * time.Millisecond, Error: errText, Response: "busy"}}
}

// history is a notification's listed attempts in a comparable form.
func history(t *testing.T, s *store.Store, seq int64) string {
	t.Helper()
	as, err := s.Attempts(context.Background(), seq)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, a := range as {
		out = append(out, fmt.Sprintf("%s %d %s %q %q", a.At.UTC().Format("15:04:05.000000"), a.StatusCode, a.Latency, a.Error, a.Response))
	}
	return strings.Join(out, "; ")
}

// A first-try success writes no attempts row, yet is listed as the first
// attempt, with its time, status, latency and response, under an id that
// is no real attempt's; any other attempt is a row, listed in order after
// it: a failure then a success, a replay after a first-try success, and a
// pass that mixes first tries with retries.
func testInlineFirstAttempt(t *testing.T, s *store.Store) {
	ctx := context.Background()
	o, cb, ns := outbox(t, s, "first", "retried", "replayed", "alone")
	at := func(s int) time.Time { return time.Date(2026, 3, 2, 10, 0, s, 123456000, time.UTC) }
	byID := func(id string) *store.Notification {
		t.Helper()
		n, err := s.NotificationByID(ctx, o.ID, id)
		if err != nil {
			t.Fatal(err)
		}
		return n
	}

	// One pass: first-try successes, and a failure between them.
	p := pendingOf(t, s, cb.ID)
	record(t, s, ok(p[0], at(1), 42*time.Millisecond, `{"ok":true}`), failed(p[1], at(1), 503, ""),
		ok(p[2], at(1), 7*time.Millisecond, "fine"))
	if n := attemptRows(t, s, ns[0].Seq); n != 0 {
		t.Errorf("a first-try success wrote %d attempts rows", n)
	}
	as, err := s.Attempts(ctx, ns[0].Seq)
	if err != nil {
		t.Fatal(err)
	}
	if len(as) != 1 || as[0].ID != -ns[0].Seq || !as[0].At.Equal(at(1)) || as[0].StatusCode != 200 ||
		as[0].Latency != 42*time.Millisecond || as[0].Error != "" || as[0].Response != `{"ok":true}` {
		t.Errorf("a first-try success is listed as %+v", as)
	}
	if n := byID("first"); n.Status != store.NotificationDelivered || n.Attempts != 1 || !n.DeliveredAt.Equal(at(1)) {
		t.Errorf("after a first-try success: %+v", n)
	}
	if n := attemptRows(t, s, ns[1].Seq); n != 1 {
		t.Errorf("a first failure wrote %d attempts rows", n)
	}

	// The failure's retry succeeds, in a pass with a first try (alone):
	// the retry is a row after the failure's; alone is inline.
	p = pendingOf(t, s, cb.ID)
	if len(p) != 2 || p[0].ID != "retried" || p[1].ID != "alone" {
		t.Fatalf("pending: %v", p)
	}
	record(t, s, ok(p[0], at(2), 9*time.Millisecond, "done"), ok(p[1], at(2), 3*time.Millisecond, ""))
	want := `10:00:01.123456 503 5ms "" "busy"; 10:00:02.123456 200 9ms "" "done"`
	if got := history(t, s, ns[1].Seq); got != want {
		t.Errorf("a failure then a success:\n%s\nwant %s", got, want)
	}
	if rows := attemptRows(t, s, ns[1].Seq); rows != 2 {
		t.Errorf("a failure then a success wrote %d attempts rows, want 2", rows)
	}
	as, _ = s.Attempts(ctx, ns[1].Seq)
	if len(as) != 2 || as[0].ID <= 0 || as[1].ID <= as[0].ID {
		t.Errorf("attempts rows' ids: %+v", as)
	}
	if got, rows := history(t, s, ns[3].Seq), attemptRows(t, s, ns[3].Seq); got != `10:00:02.123456 200 3ms "" ""` || rows != 0 {
		t.Errorf("a first try beside a retry: %s, %d rows", got, rows)
	}

	// Replayed after its first-try success: the new attempts are rows,
	// listed after the inline one, which keeps its id.
	replayed := byID("replayed")
	replayed.Status = store.NotificationCreated
	if err := s.InTx(ctx, func(tx *store.Tx) error { return tx.Requeue(ctx, replayed) }); err != nil {
		t.Fatal(err)
	}
	p = pendingOf(t, s, cb.ID)
	record(t, s, failed(p[0], at(3), 0, "connection refused"))
	p = pendingOf(t, s, cb.ID)
	record(t, s, ok(p[0], at(4), 11*time.Millisecond, "again"))
	want = `10:00:01.123456 200 7ms "" "fine"; 10:00:03.123456 0 5ms "connection refused" "busy"; 10:00:04.123456 200 11ms "" "again"`
	if got := history(t, s, ns[2].Seq); got != want {
		t.Errorf("a replay after a first-try success:\n%s\nwant %s", got, want)
	}
	as, _ = s.Attempts(ctx, ns[2].Seq)
	if len(as) != 3 || as[0].ID != -ns[2].Seq || attemptRows(t, s, ns[2].Seq) != 2 {
		t.Errorf("a replay after a first-try success: %+v", as)
	}
	if n := byID("replayed"); n.Status != store.NotificationDelivered || n.Attempts != 3 || !n.DeliveredAt.Equal(at(4)) {
		t.Errorf("after the replay: %+v", n)
	}

	// The prune takes the inline attempt with its notification.
	if _, err := s.Prune(ctx, store.PruneOptions{Before: time.Now().Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	if as, err := s.Attempts(ctx, ns[0].Seq); err != nil || len(as) != 0 {
		t.Errorf("after the prune: %+v %v", as, err)
	}
}

// The charts count first-try successes kept on their notifications' rows
// as they count attempts rows: by hour, organization and instance.
func testChartsCountInlineAttempts(t *testing.T, s *store.Store) {
	ctx := context.Background()
	f := newChartFixture(t, s)
	h := func(n int, m time.Duration) time.Time { return chartBase.Add(time.Duration(n)*time.Hour + m) }
	read := func(org int64, id string) *store.Notification {
		t.Helper()
		n, err := s.NotificationByID(ctx, org, id)
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	record(t, s, ok(read(f.acme.ID, "n-Alpha"), h(0, time.Minute), 100*time.Millisecond, ""))
	record(t, s, ok(read(f.acme.ID, "n-Beta"), h(1, time.Minute), 7*time.Millisecond, ""))
	record(t, s, ok(read(f.globex.ID, "n-Gamma"), h(0, 0), time.Millisecond, ""))
	insertRows(t, s, "attempts", attemptCols, [][]any{{f.nBeta, h(1, 0), 200, 300, ""}})
	show := func(ls []store.HourLatency) string {
		var b []string
		for _, l := range ls {
			b = append(b, fmt.Sprintf("%s %d %s %s", l.Hour.Format("15:04"), l.Count, l.P50, l.P99))
		}
		return strings.Join(b, ", ")
	}
	for _, tc := range []struct {
		name    string
		org, in int64
		want    string
	}{
		{"organization", f.acme.ID, 0, "10:00 1 100ms 100ms, 11:00 2 7ms 300ms"},
		{"instance", f.acme.ID, f.alpha.ID, "10:00 1 100ms 100ms"},
		{"other organization", f.globex.ID, 0, "10:00 1 1ms 1ms"},
		{"another organization's instance", f.globex.ID, f.alpha.ID, ""},
	} {
		got, err := s.DeliveryLatency(ctx, tc.org, tc.in, h(0, 0), h(2, 0))
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if show(got) != tc.want {
			t.Errorf("%s: %s\nwant %s", tc.name, show(got), tc.want)
		}
	}
	if got, err := s.DeliveryLatency(ctx, f.acme.ID, 0, h(2, 0), h(3, 0)); err != nil || len(got) != 0 {
		t.Errorf("out of the range: %+v %v", got, err)
	}
	if got, err := s.FailuresPerHour(ctx, f.acme.ID, 0, h(0, 0), h(2, 0)); err != nil || len(got) != 0 {
		t.Errorf("successes counted as failures: %+v %v", got, err)
	}
}

// DeliverySummaries reads a page's notifications at once: each one's
// status and last attempt, whether that is the first try kept on its row
// or the newest attempts row; never tried, it has none; an unknown id or
// another organization's is absent.
func testDeliverySummaries(t *testing.T, s *store.Store) {
	ctx := context.Background()
	o, cb, _ := outbox(t, s, "inline", "retried", "failing", "untried")
	at := func(s int) time.Time { return time.Date(2026, 3, 2, 10, 0, s, 0, time.UTC) }
	p := pendingOf(t, s, cb.ID)
	record(t, s, ok(p[0], at(1), 42*time.Millisecond, ""), failed(p[1], at(1), 503, ""), failed(p[2], at(1), 0, "refused"))
	p = pendingOf(t, s, cb.ID)
	record(t, s, ok(p[0], at(2), 9*time.Millisecond, ""), failed(p[1], at(2), 502, "bad gateway"))
	other, _ := seed(t, s, "globex")
	got, err := s.DeliverySummaries(ctx, o.ID, []string{"inline", "retried", "failing", "untried", "nope"})
	if err != nil {
		t.Fatal(err)
	}
	show := func(d store.DeliverySummary) string {
		if d.Last == nil {
			return fmt.Sprintf("%s %d never", d.Status, d.Attempts)
		}
		return fmt.Sprintf("%s %d %s %d %s %q", d.Status, d.Attempts, d.Last.At.UTC().Format("15:04:05"), d.Last.StatusCode,
			d.Last.Latency, d.Last.Error)
	}
	for id, want := range map[string]string{
		"inline":  `delivered 1 10:00:01 200 42ms ""`,
		"retried": `delivered 2 10:00:02 200 9ms ""`,
		"failing": `retry 2 10:00:02 502 5ms "bad gateway"`,
		"untried": `created 0 never`,
	} {
		d, found := got[id]
		if !found || show(d) != want {
			t.Errorf("%s: %s (found %v), want %s", id, show(d), found, want)
		}
	}
	if _, found := got["nope"]; found || len(got) != 4 {
		t.Errorf("an unknown id is listed: %v", got)
	}
	if got, err := s.DeliverySummaries(ctx, other.ID, []string{"inline"}); err != nil || len(got) != 0 {
		t.Errorf("another organization reads %v, %v", got, err)
	}
	if got, err := s.DeliverySummaries(ctx, o.ID, nil); err != nil || len(got) != 0 {
		t.Errorf("no ids: %v, %v", got, err)
	}
}

// pendingOf is a callback's first ten waiting notifications.
func pendingOf(t *testing.T, s *store.Store, callbackID int64) []*store.Notification {
	t.Helper()
	p, err := s.PendingNotifications(context.Background(), callbackID, 0, 10)
	if err != nil {
		t.Fatal(err)
	}
	return p
}
