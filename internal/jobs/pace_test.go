package jobs

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/pollhook/pollhook/internal/element/insightly"
	"github.com/pollhook/pollhook/internal/instance"
	"github.com/pollhook/pollhook/internal/oracle"
	"github.com/pollhook/pollhook/internal/poller"
	sim "github.com/pollhook/pollhook/internal/sim/insightly"
	"github.com/pollhook/pollhook/internal/store"
	"github.com/pollhook/pollhook/internal/testdb"
)

// The quota tests run a simulated day on the manual clock: the simulator
// counts its daily quota on it too, and resets it at midnight UTC.

// paceResources are the element's four default resources, with the
// simulator objects they read.
var paceResources = []oracle.Resource{{Name: "contacts", Object: "Contacts"}, {Name: "accounts", Object: "Organisations"},
	{Name: "leads", Object: "Leads"}, {Name: "opportunities", Object: "Opportunities"}}

// onBothDatabases runs a test on SQLite and on PostgreSQL.
func onBothDatabases(t *testing.T, test func(t *testing.T, dsn string)) {
	t.Run("sqlite", func(t *testing.T) { t.Parallel(); test(t, "") })
	t.Run("postgres", func(t *testing.T) {
		t.Parallel()
		test(t, testdb.FreshSchema(t, testdb.PostgresURL(t)))
	})
}

// createEvery makes an instance of key polling the four default resources
// every minutes.
func (r *rig) createEvery(key string, minutes int) *instance.View {
	r.t.Helper()
	body, _ := json.Marshal(map[string]any{"element": map[string]any{"key": "insightly"}, "name": "i",
		"configuration": map[string]any{"password": key, "base.url": r.simURL, "event.notification.enabled": true,
			"event.notification.callback.url": "http://127.0.0.1:1/hook", "event.poller.refresh_interval": minutes,
			"event.poller.configuration": json.RawMessage(insightly.NewElement(insightly.Options{}).DefaultPollerConfig())}})
	v, err := r.svc.Create(context.Background(), r.caller, "", body)
	if err != nil {
		r.t.Fatal(err)
	}
	return v
}

// pollKey names one poll.
type pollKey struct {
	v        *instance.View
	resource string
}

// day drives polls as their jobs would (each runs when its snooze ends)
// until the clock reaches until, calling tick as the clock passes each
// whole every. It returns when each poll ran.
func (r *rig) day(polls []pollKey, until time.Time, every time.Duration, tick func(now time.Time)) map[pollKey][]time.Time {
	r.t.Helper()
	runs := map[pollKey][]time.Time{}
	next := map[pollKey]time.Time{}
	for _, k := range polls {
		next[k] = r.clock.Now()
	}
	ticked := r.clock.Now().Truncate(every)
	for {
		k := polls[0]
		for _, p := range polls {
			if next[p].Before(next[k]) {
				k = p
			}
		}
		if !next[k].Before(until) {
			return runs
		}
		for ; !ticked.Add(every).After(next[k]); ticked = ticked.Add(every) {
			r.clock.Set(ticked.Add(every))
			tick(r.clock.Now())
		}
		if next[k].After(r.clock.Now()) {
			r.clock.Set(next[k])
		}
		before := r.pollRow(k.v, k.resource).LastRunAt
		d := r.poll(k.v, k.resource)
		if after := r.pollRow(k.v, k.resource).LastRunAt; !after.Equal(before) {
			runs[k] = append(runs[k], after)
		}
		next[k] = r.clock.Now().Add(max(d, time.Second))
	}
}

// status reads an instance's polling status.
func (r *rig) status(v *instance.View) *poller.InstanceStatus {
	r.t.Helper()
	inst, err := r.st.InstanceByID(context.Background(), v.ID)
	if err != nil {
		r.t.Fatal(err)
	}
	s, err := r.e.Status(context.Background(), inst)
	if err != nil {
		r.t.Fatal(err)
	}
	return s
}

// checkReported holds an instance's events to the simulator's journal.
func (r *rig) checkReported(v *instance.View, since int64) int {
	r.t.Helper()
	var events []*store.Event
	for after := int64(0); ; {
		page, err := r.st.Events(context.Background(), r.caller.Org.ID, store.EventFilter{InstanceID: v.ID, AfterSeq: after})
		if err != nil {
			r.t.Fatal(err)
		}
		if len(page) == 0 {
			break
		}
		events, after = append(events, page...), page[len(page)-1].Seq
	}
	for _, problem := range oracle.Check(events, r.sim.Journal(0), since, paceResources) {
		r.t.Errorf("instance %d: %s", v.ID, problem)
	}
	return len(events)
}

// callAsAnotherApp spends n of the account's calls, as the customer's
// other integrations would.
func (r *rig) callAsAnotherApp(key string, n int) {
	r.t.Helper()
	for range n {
		req, _ := http.NewRequest("GET", r.simURL+"/Contacts?top=1", nil)
		req.Header.Set("Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte(key+":")))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			r.t.Fatal(err)
		}
		resp.Body.Close()
	}
}

// Eight polls of one account (two instances, two users' keys) at every 5
// minutes would spend 1,152 calls in the half day from noon; a Gratis
// quota of 1,000 with a 20 % reserve leaves 800. The polls stretch, the
// same for both instances, the reserve is never touched, and every change
// is still reported, later.
func TestQuotaStretchKeepsTheReserve(t *testing.T) {
	t.Parallel()
	onBothDatabases(t, func(t *testing.T, dsn string) {
		noon := time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)
		r := newRigWith(t, sim.Config{Records: 5, Seed: 5, DailyQuota: 1000}, rigOptions{dsn: dsn, start: noon, reserve: 0.2})
		keys := r.sim.Accounts()[0].Keys
		a, b := r.createEvery(keys[0], 5), r.createEvery(keys[1], 5)
		var polls []pollKey
		for _, v := range []*instance.View{a, b} {
			for _, res := range paceResources {
				polls = append(polls, pollKey{v, res.Name})
			}
		}
		since := int64(len(r.sim.Journal(0)))
		midnight := noon.Add(12 * time.Hour)
		stretches := map[string]bool{}
		runs := r.day(polls, midnight.Add(-time.Minute), 20*time.Minute, func(now time.Time) {
			r.sim.Step(4)
			if now.Minute() == 0 && now.Hour()%3 == 0 {
				sa, sb := r.status(a).Quota, r.status(b).Quota
				if sa.Stretch != sb.Stretch {
					t.Errorf("at %s the two instances of one account keep different paces: %v and %v", now.Format(time.TimeOnly), sa.Stretch, sb.Stretch)
				}
				stretches[fmt.Sprint(sa.Stretch)] = true
			}
		})
		spent := r.sent.n.Load()
		least := r.sent.least.Load() - 1
		t.Logf("%d calls spent; the least left was %d; stretches seen %v", spent, least, stretches)
		if least < 200 {
			t.Errorf("an answer said %d calls were left: the reserve of 200 was touched", least)
		}
		if spent < 600 {
			t.Errorf("only %d of the 800 calls above the reserve were spent: the stretch is needlessly slow", spent)
		}
		var gaps []time.Duration
		for k, at := range runs {
			for i := 1; i < len(at); i++ {
				gap := at[i].Sub(at[i-1])
				if gap < 5*time.Minute {
					t.Errorf("%d/%s ran %s after its last run, sooner than configured", k.v.ID, k.resource, gap)
				}
				gaps = append(gaps, gap)
			}
		}
		slices.Sort(gaps)
		if len(gaps) == 0 || gaps[len(gaps)/2] < 6*time.Minute {
			t.Errorf("the polls were not stretched: median gap %v of %d", gaps[len(gaps)/2], len(gaps))
		}
		for _, k := range polls {
			if p := r.pollRow(k.v, k.resource); p.PausedReason != "" {
				t.Errorf("%d/%s paused: %s", k.v.ID, k.resource, p.PausedReason)
			}
		}

		// After the reset the account's full quota sets the pace again,
		// and the changes held back by the stretch are all reported.
		r.clock.Set(midnight.Add(time.Second))
		after := r.day(polls, midnight.Add(time.Hour), time.Hour, func(time.Time) {})
		if len(after) != len(polls) {
			t.Errorf("after the reset %d of %d polls ran", len(after), len(polls))
		}
		q := r.status(a).Quota
		if want := 8 * 288.0 / 800; q.Stretch < want*0.95 || q.Stretch > want*1.05 || q.PausedUntil != "" {
			t.Errorf("the new day's pace: %+v, want a stretch of about %.2f for 2,304 calls a day", q, want)
		}
		if n := r.checkReported(a, since) + r.checkReported(b, since); n == 0 {
			t.Error("no event was reported")
		}
	})
}

// Another app of the customer's spends the account's quota: the stretch
// grows with what it spends, the polls pause at the reserve (a run asked
// for is refused with the reason, a backfill waits), and the reset brings
// the configured intervals back. Insightly's clock is 3 minutes behind
// ours: the pause ends at its midnight, not ours.
func TestQuotaStretchFollowsOtherApps(t *testing.T) {
	t.Parallel()
	onBothDatabases(t, func(t *testing.T, dsn string) {
		noon := time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)
		r := newRigWith(t, sim.Config{Records: 5, Seed: 6, DailyQuota: 1000, ClockOffset: -3 * time.Minute},
			rigOptions{dsn: dsn, start: noon, reserve: 0.2})
		key := r.sim.APIKey()
		v := r.createEvery(key, 10) // 4 × 144 = 576 calls a day: the quota holds them
		var polls []pollKey
		for _, res := range paceResources {
			polls = append(polls, pollKey{v, res.Name})
		}
		since := int64(len(r.sim.Journal(0)))
		r.day(polls, noon.Add(time.Hour), 20*time.Minute, func(time.Time) { r.sim.Step(2) })
		if q := r.status(v).Quota; q.Stretch != 1 || q.Limit != 1000 {
			t.Fatalf("with the quota to spare: %+v", q)
		}
		if d := r.poll(v, "contacts"); d > 10*time.Minute {
			t.Errorf("unstretched, the next check is in %s", d)
		}

		// Another app spends 650 calls: about 320 are left, 120 above the
		// reserve, for 11 hours at 576 a day (about 260): the polls
		// stretch by about 2.
		r.callAsAnotherApp(key, 650)
		r.clock.Advance(10 * time.Minute)
		r.day(polls, r.clock.Now().Add(30*time.Minute), 20*time.Minute, func(time.Time) { r.sim.Step(2) })
		q := r.status(v).Quota
		if q.Stretch < 1.5 || q.Stretch > 3 || !strings.Contains(q.Pace, "less often") {
			t.Errorf("after another app spent 650 calls: %+v", q)
		}
		inst, _ := r.st.InstanceByID(context.Background(), v.ID)
		due := r.status(v).Polls[0]
		if last, _ := time.Parse(time.RFC3339, due.LastAttemptAt); !last.IsZero() {
			next, _ := time.Parse(time.RFC3339, due.NextRunAt)
			if gap := next.Sub(last); gap < 15*time.Minute {
				t.Errorf("stretched by %v, the next run is %s after the last", q.Stretch, gap)
			}
		}

		// It spends nearly all the rest: the reserve is reached and the
		// account's polls pause until midnight, saying why.
		r.callAsAnotherApp(key, q.Remaining-150)
		r.clock.Advance(20 * time.Minute)
		r.day(polls, r.clock.Now().Add(40*time.Minute), 20*time.Minute, func(time.Time) { r.sim.Step(2) })
		midnight := noon.Add(12 * time.Hour)
		reset := midnight.Add(3 * time.Minute) // Insightly's midnight, on our clock
		sent := r.sent.n.Load()
		d := r.poll(v, "leads")
		if p := r.pollRow(v, "leads"); !strings.HasPrefix(p.PausedReason, poller.ReservePause) || r.sent.n.Load() != sent ||
			d < reset.Sub(r.clock.Now()) {
			t.Errorf("at the reserve: paused %q, %d calls, next check in %s", p.PausedReason, r.sent.n.Load()-sent, d)
		}
		if q := r.status(v).Quota; q.PausedUntil != reset.Format(time.RFC3339) || !strings.Contains(q.Pace, "left to its other apps") {
			t.Errorf("the status at the reserve: %+v", q)
		}
		_, err := r.e.RunNow(context.Background(), inst, "contacts", time.Time{})
		var paused *poller.PausedError
		if !errors.As(err, &paused) || !strings.HasPrefix(paused.Reason, poller.ReservePause) {
			t.Errorf("a run asked for at the reserve: %v", err)
		}
		if n, err := r.e.RunNow(context.Background(), inst, "contacts", noon.Add(-time.Hour)); err != nil || n != 1 {
			t.Errorf("a backfill asked for at the reserve: %d %v", n, err)
		}
		sent = r.sent.n.Load()
		r.poll(v, "contacts")
		if r.sent.n.Load() != sent || !r.pollRow(v, "contacts").RunNow {
			t.Errorf("the backfill did not wait for the reset: %d calls", r.sent.n.Load()-sent)
		}

		// Our midnight: Insightly's day is not over yet, and nothing is sent.
		r.clock.Set(midnight.Add(time.Second))
		if d := r.poll(v, "leads"); r.sent.n.Load() != sent || d < reset.Sub(r.clock.Now()) {
			t.Errorf("at our midnight, before Insightly's: %d calls, next check in %s", r.sent.n.Load()-sent, d)
		}

		// Insightly's midnight: the quota is whole again, the polls run at
		// once, then at their configured interval; the backfill runs.
		r.clock.Set(reset.Add(time.Second))
		runs := r.day(polls, reset.Add(45*time.Minute), 20*time.Minute, func(time.Time) { r.sim.Step(2) })
		for _, k := range polls {
			at := runs[k]
			if len(at) < 4 || !at[0].Equal(reset.Add(time.Second)) {
				t.Errorf("%s after the reset ran at %v", k.resource, at)
				continue
			}
			for i := 1; i < len(at); i++ {
				if gap := at[i].Sub(at[i-1]); gap != 10*time.Minute && !(k.resource == "contacts" && i == 1) {
					t.Errorf("%s after the reset: runs %s apart, want the configured 10m", k.resource, gap)
				}
			}
		}
		if q := r.status(v).Quota; q.Stretch != 1 || q.PausedUntil != "" || q.Pace != "" {
			t.Errorf("after the reset: %+v", q)
		}
		if p := r.pollRow(v, "contacts"); p.RunNow || !p.BackfillFrom.IsZero() {
			t.Errorf("the backfill never ran: %+v", p)
		}
		r.checkReported(v, since)
	})
}
