package jobs

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/pollhook/pollhook/internal/auth"
	"github.com/pollhook/pollhook/internal/element/insightly"
	"github.com/pollhook/pollhook/internal/instance"
	"github.com/pollhook/pollhook/internal/store"
	"github.com/pollhook/pollhook/internal/testdb"
)

func engineOn(t *testing.T, dsn string) (*Engine, *store.Store, *store.Instance) {
	t.Helper()
	ctx := context.Background()
	st, err := store.Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	e, err := New(ctx, Config{Store: st, Instances: &instance.Service{Store: st}})
	if err != nil {
		t.Fatal(err)
	}
	org := &store.Organization{Name: "o", SecretHash: auth.Hash(dsn + "o")}
	st.CreateOrganization(ctx, org)
	u := &store.User{OrgID: org.ID, Email: "u@x", SecretHash: auth.Hash(dsn + "u")}
	st.CreateUser(ctx, u)
	in := &store.Instance{OrgID: org.ID, UserID: u.ID, ElementKey: "insightly", Name: "i", TokenHash: auth.Hash(dsn + "t"),
		TokenSealed: "x", Valid: true, EventsEnabled: true}
	if err := st.CreateInstance(ctx, in); err != nil {
		t.Fatal(err)
	}
	return e, st, in
}

func setConfig(in *store.Instance, pollerConfig, interval string) {
	in.Config = []store.ConfigItem{{Key: instance.KeyPollerConfig, Value: pollerConfig}, {Key: instance.KeyRefreshInterval, Value: interval}}
}

func save(t *testing.T, e *Engine, st *store.Store, in *store.Instance) {
	t.Helper()
	ctx := context.Background()
	err := st.InTx(ctx, func(tx *store.Tx) error {
		if err := tx.UpdateInstance(ctx, in); err != nil {
			return err
		}
		return e.InstanceSaved(ctx, tx, in)
	})
	if err != nil {
		t.Fatal(err)
	}
}

func liveJobs(t *testing.T, e *Engine) map[string]*rivertype.JobRow {
	t.Helper()
	res, err := e.client.JobList(context.Background(), river.NewJobListParams().Kinds("poll").First(1000).
		States(uniqueStates...))
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]*rivertype.JobRow{}
	for _, j := range res.Jobs {
		out[string(j.EncodedArgs)] = j
	}
	return out
}

func testScheduling(t *testing.T, dsn string) {
	e, st, in := engineOn(t, dsn)
	ctx := context.Background()
	def := string(insightly.NewElement(insightly.Options{}).DefaultPollerConfig())
	setConfig(in, def, "5")
	save(t, e, st, in)
	polls, _ := st.PollsOf(ctx, in.ID)
	if len(polls) != 4 || polls[0].Interval != 5*time.Minute || len(liveJobs(t, e)) != 4 {
		t.Fatalf("after enabling: %d polls, %d jobs", len(polls), len(liveJobs(t, e)))
	}
	for _, p := range polls {
		if p.JobID == 0 {
			t.Errorf("%s has no job", p.Resource)
		}
	}
	// Saving again changes nothing: no duplicate jobs, cursors kept.
	cursor := polls[0].Cursor
	save(t, e, st, in)
	if polls, _ := st.PollsOf(ctx, in.ID); !polls[0].Cursor.Equal(cursor) || len(liveJobs(t, e)) != 4 {
		t.Errorf("a second save moved the cursor or doubled jobs")
	}
	// Fewer resources and a new interval: the others' jobs are cancelled.
	setConfig(in, `{"contacts":{"url":"/hubs/crm/contacts?where=updated_after_utc='${gmtDate:yyyy-MM-dd HH:mm:ss}'","idField":"CONTACT_ID","datesConfiguration":{"updatedDateField":"DATE_UPDATED_UTC","updatedDateFormat":"yyyy-MM-dd HH:mm:ss"}}}`, "2")
	save(t, e, st, in)
	polls, _ = st.PollsOf(ctx, in.ID)
	if len(polls) != 1 || polls[0].Resource != "contacts" || polls[0].Interval != 2*time.Minute || !polls[0].Cursor.Equal(cursor) {
		t.Errorf("after narrowing: %+v", polls)
	}
	if n := len(liveJobs(t, e)); n != 1 {
		t.Errorf("%d live jobs after narrowing to one resource", n)
	}
	// Disabled: no polls at all.
	in.Disabled = true
	save(t, e, st, in)
	if polls, _ := st.PollsOf(ctx, in.ID); len(polls) != 0 || len(liveJobs(t, e)) != 0 {
		t.Errorf("%d polls, %d jobs for a disabled instance", len(polls), len(liveJobs(t, e)))
	}
	// Enabled again: polling starts afresh.
	in.Disabled = false
	save(t, e, st, in)
	polls, _ = st.PollsOf(ctx, in.ID)
	if len(polls) != 1 || !polls[0].Cursor.After(cursor) {
		t.Errorf("re-enabled: %+v", polls)
	}
	// A lost job comes back with the next reconcile.
	row, err := e.client.JobCancel(ctx, polls[0].JobID)
	if err != nil {
		t.Fatal(err)
	}
	if live := liveJobs(t, e); len(live) != 0 {
		for _, j := range live {
			t.Logf("live job %d %s; cancelled %d %s", j.ID, j.State, row.ID, row.State)
		}
		t.Fatal("the job is still live")
	}
	if err := (&reconcileWorker{e: e}).Work(ctx, nil); err != nil {
		t.Fatal(err)
	}
	jobs := liveJobs(t, e)
	if len(jobs) != 1 {
		t.Fatalf("after reconcile: %d jobs", len(jobs))
	}
	for args := range jobs {
		var a PollArgs
		if err := json.Unmarshal([]byte(args), &a); err != nil || a != (PollArgs{InstanceID: in.ID, Resource: "contacts"}) {
			t.Errorf("job args %s", args)
		}
	}
}

func TestSchedulingSQLite(t *testing.T) {
	t.Parallel()
	testScheduling(t, "sqlite:"+filepath.Join(t.TempDir(), "db"))
}

func TestSchedulingPostgres(t *testing.T) {
	t.Parallel()
	testScheduling(t, testdb.FreshSchema(t, testdb.PostgresURL(t)))
}

// WakeAll wakes every scheduled poll job, page after page.
func TestWakeAllPages(t *testing.T) {
	t.Parallel()
	t.Run("SQLite", func(t *testing.T) { t.Parallel(); testWakeAllPages(t, "sqlite:"+filepath.Join(t.TempDir(), "db")) })
	t.Run("PostgreSQL", func(t *testing.T) { t.Parallel(); testWakeAllPages(t, testdb.FreshSchema(t, testdb.PostgresURL(t))) })
}

func testWakeAllPages(t *testing.T, dsn string) {
	e, _, in := engineOn(t, dsn)
	e.wakePage = 3
	ctx := context.Background()
	for i := range 10 {
		if _, err := e.client.Insert(ctx, PollArgs{InstanceID: in.ID, Resource: fmt.Sprintf("r%d", i)},
			&river.InsertOpts{ScheduledAt: time.Now().Add(time.Hour)}); err != nil {
			t.Fatal(err)
		}
	}
	scheduled := func() int {
		res, err := e.client.JobList(ctx, river.NewJobListParams().Kinds(PollArgs{}.Kind()).States(rivertype.JobStateScheduled).First(100))
		if err != nil {
			t.Fatal(err)
		}
		return len(res.Jobs)
	}
	if n := scheduled(); n != 10 {
		t.Fatalf("%d scheduled jobs, want 10", n)
	}
	if err := e.WakeAll(ctx); err != nil {
		t.Fatal(err)
	}
	if n := scheduled(); n != 0 {
		t.Errorf("%d poll jobs still scheduled after WakeAll", n)
	}
}
