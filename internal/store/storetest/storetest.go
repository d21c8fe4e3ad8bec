// Package storetest is the store's conformance suite: the same tests run
// against every database pollhook supports.
package storetest

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/pollhook/pollhook/internal/store"
)

// Run runs the suite. open returns a fresh, empty, migrated store.
func Run(t *testing.T, open func(t *testing.T) *store.Store) {
	t.Run("Tenancy", func(t *testing.T) { t.Parallel(); testTenancy(t, open(t)) })
	t.Run("Instances", func(t *testing.T) { t.Parallel(); testInstances(t, open(t)) })
	t.Run("ConfigItems", func(t *testing.T) { t.Parallel(); testConfigItems(t, open(t)) })
	t.Run("Transactions", func(t *testing.T) { t.Parallel(); testTransactions(t, open(t)) })
	t.Run("ConcurrentWriters", func(t *testing.T) { t.Parallel(); testConcurrentWriters(t, open(t)) })
	t.Run("Migrations", func(t *testing.T) { t.Parallel(); testMigrations(t, open(t)) })
	t.Run("NotificationPages", func(t *testing.T) { t.Parallel(); testNotificationPages(t, open(t)) })
	t.Run("ReplayDuringSend", func(t *testing.T) { t.Parallel(); testReplayDuringSend(t, open(t)) })
	t.Run("InlineFirstAttempt", func(t *testing.T) { t.Parallel(); testInlineFirstAttempt(t, open(t)) })
	t.Run("DeliverySummaries", func(t *testing.T) { t.Parallel(); testDeliverySummaries(t, open(t)) })
	t.Run("ChartsCountInlineAttempts", func(t *testing.T) { t.Parallel(); testChartsCountInlineAttempts(t, open(t)) })
	t.Run("PendingFollowsStatus", func(t *testing.T) { t.Parallel(); testPendingFollowsStatus(t, open(t)) })
	t.Run("OrganizationLock", func(t *testing.T) { t.Parallel(); testOrganizationLock(t, open(t)) })
	t.Run("LongConfigValues", func(t *testing.T) { t.Parallel(); testLongConfigValues(t, open(t)) })
	t.Run("Windows", func(t *testing.T) { t.Parallel(); testWindows(t, open(t)) })
	t.Run("RequestsDuringARun", func(t *testing.T) { t.Parallel(); testRequestsDuringARun(t, open(t)) })
	t.Run("Snapshots", func(t *testing.T) { t.Parallel(); testSnapshots(t, open(t)) })
	t.Run("CallbackQueues", func(t *testing.T) { t.Parallel(); testCallbackQueues(t, open(t)) })
	t.Run("ConsoleUsers", func(t *testing.T) { t.Parallel(); testConsoleUsers(t, open(t)) })
	t.Run("ConsoleSessions", func(t *testing.T) { t.Parallel(); testConsoleSessions(t, open(t)) })
	t.Run("EventFilters", func(t *testing.T) { t.Parallel(); testEventFilters(t, open(t)) })
	t.Run("EventNotifications", func(t *testing.T) { t.Parallel(); testEventNotifications(t, open(t)) })
	t.Run("TestDeliveries", func(t *testing.T) { t.Parallel(); testTestDeliveries(t, open(t)) })
	t.Run("ConsoleSessionsCascade", func(t *testing.T) { t.Parallel(); testConsoleSessionsCascade(t, open(t)) })
	t.Run("EventsPerHour", func(t *testing.T) { t.Parallel(); testEventsPerHour(t, open(t)) })
	t.Run("FailuresPerHour", func(t *testing.T) { t.Parallel(); testFailuresPerHour(t, open(t)) })
	t.Run("DeliveryLatency", func(t *testing.T) { t.Parallel(); testDeliveryLatency(t, open(t)) })
	t.Run("AccountPolls", func(t *testing.T) { t.Parallel(); testAccountPolls(t, open(t)) })
	t.Run("PaceRate", func(t *testing.T) { t.Parallel(); testPaceRate(t, open(t)) })
	t.Run("PaceRealClock", func(t *testing.T) { t.Parallel(); testPaceRealClock(t, open(t)) })
	t.Run("PaceSlots", func(t *testing.T) { t.Parallel(); testPaceSlots(t, open(t)) })
	t.Run("PaceLeases", func(t *testing.T) { t.Parallel(); testPaceLeases(t, open(t)) })
	t.Run("PaceRefusalTakesNothing", func(t *testing.T) { t.Parallel(); testPaceRefusalTakesNothing(t, open(t)) })
	t.Run("Counts", func(t *testing.T) { t.Parallel(); testCounts(t, open(t)) })
	t.Run("PruneBatches", func(t *testing.T) { t.Parallel(); testPruneBatches(t, open(t)) })
	t.Run("PruneUnbatched", func(t *testing.T) { t.Parallel(); testPruneUnbatched(t, open(t)) })
	t.Run("PruneCancelled", func(t *testing.T) { t.Parallel(); testPruneCancelled(t, open(t)) })
}

// The pending queue follows every change of status: sent, failed, queued
// behind a suspension, released, replayed.
func testPendingFollowsStatus(t *testing.T, s *store.Store) {
	ctx := context.Background()
	_, cb, ns := outbox(t, s, "n1", "n2", "n3")
	tx := func(f func(tx *store.Tx) error) {
		t.Helper()
		if err := s.InTx(ctx, f); err != nil {
			t.Fatal(err)
		}
	}
	check := func(step string, wantPending ...string) {
		t.Helper()
		pending, err := s.PendingNotifications(ctx, cb.ID, 0, 10)
		if err != nil {
			t.Fatal(err)
		}
		var ids []string
		for _, n := range pending {
			ids = append(ids, n.ID)
		}
		if fmt.Sprint(ids) != fmt.Sprint(wantPending) {
			t.Errorf("%s: pending %v, want %v", step, ids, wantPending)
		}
	}
	check("created", "n1", "n2", "n3")
	tx(func(tx *store.Tx) error {
		return tx.RecordAttempts(ctx, []store.AttemptResult{
			{Notification: ns[0], Attempt: store.Attempt{At: time.Now(), StatusCode: 200}, Status: store.NotificationDelivered},
			{Notification: ns[1], Attempt: store.Attempt{At: time.Now(), StatusCode: 503}, Status: store.NotificationRetry},
		})
	})
	check("one delivered, one failed", "n2", "n3")
	tx(func(tx *store.Tx) error { return tx.QueueAll(ctx, cb.ID) })
	check("queued")
	tx(func(tx *store.Tx) error { return tx.Reactivate(ctx, cb.ID) })
	check("released", "n2", "n3")
	ns[0].Status = store.NotificationCreated
	tx(func(tx *store.Tx) error { return tx.Requeue(ctx, ns[0]) })
	check("replayed", "n1", "n2", "n3")
}

// A replay asked for while a notification is being sent survives the
// attempt's result: the notification stays pending and goes out again.
func testReplayDuringSend(t *testing.T, s *store.Store) {
	ctx := context.Background()
	o, cb, _ := outbox(t, s, "n1", "n2")
	pending, err := s.PendingNotifications(ctx, cb.ID, 0, 10)
	if err != nil || len(pending) != 2 {
		t.Fatalf("pending: %v %v", pending, err)
	}
	// n1 is replayed while in flight; n2 is not.
	replayed, err := s.NotificationByID(ctx, o.ID, "n1")
	if err != nil {
		t.Fatal(err)
	}
	replayed.Status = store.NotificationCreated
	if err := s.InTx(ctx, func(tx *store.Tx) error { return tx.Requeue(ctx, replayed) }); err != nil {
		t.Fatal(err)
	}
	err = s.InTx(ctx, func(tx *store.Tx) error {
		var rs []store.AttemptResult
		for _, n := range pending {
			rs = append(rs, store.AttemptResult{Notification: n, Attempt: store.Attempt{At: time.Now(), StatusCode: 200}, Status: store.NotificationDelivered})
		}
		return tx.RecordAttempts(ctx, rs)
	})
	if err != nil {
		t.Fatal(err)
	}
	if got, err := s.Attempts(ctx, pending[0].Seq); err != nil || len(got) != 1 || got[0].StatusCode != 200 {
		t.Errorf("attempts of n1: %+v %v", got, err)
	}
	for id, want := range map[string]string{"n1": store.NotificationCreated, "n2": store.NotificationDelivered} {
		n, err := s.NotificationByID(ctx, o.ID, id)
		if err != nil || n.Status != want || n.Attempts != 1 {
			t.Errorf("%s: %+v %v; want status %s after 1 attempt", id, n, err, want)
		}
	}
	again, _ := s.PendingNotifications(ctx, cb.ID, 0, 10)
	if len(again) != 1 || again[0].ID != "n1" {
		t.Errorf("pending after the attempts: %v", again)
	}
	// A run reading its next pass skips what it has sent already.
	if past, _ := s.PendingNotifications(ctx, cb.ID, again[0].Seq, 10); len(past) != 0 {
		t.Errorf("pending after n1's seq: %v", past)
	}
	if from, _ := s.PendingNotifications(ctx, cb.ID, again[0].Seq-1, 10); len(from) != 1 {
		t.Errorf("pending after the seq before n1: %v", from)
	}
}

// A callback's queue counts what is not delivered, held or not, and
// dates its head.
func testCallbackQueues(t *testing.T, s *store.Store) {
	ctx := context.Background()
	o, cb, ns := outbox(t, s, "q1", "q2", "q3")
	if err := s.InTx(ctx, func(tx *store.Tx) error {
		return tx.RecordAttempts(ctx, []store.AttemptResult{{Notification: ns[0], Attempt: store.Attempt{At: time.Now(), StatusCode: 200},
			Status: store.NotificationDelivered}})
	}); err != nil {
		t.Fatal(err)
	}
	if err := s.QueueAll(ctx, cb.ID); err != nil {
		t.Fatal(err)
	}
	qs, err := s.CallbackQueues(ctx, o.ID)
	if err != nil {
		t.Fatal(err)
	}
	q := qs[cb.ID]
	if len(qs) != 1 || q.Waiting != 2 || !q.Oldest.Equal(ns[1].CreatedAt) {
		t.Errorf("queues %+v, want q2 and q3 waiting since %s", qs, ns[1].CreatedAt)
	}
	if other, err := s.CallbackQueues(ctx, o.ID+1000); err != nil || len(other) != 0 {
		t.Errorf("another organization's queues: %v %v", other, err)
	}
}

// outbox makes an organization, an instance and a callback with the
// notifications ids waiting to be sent, in order.
func outbox(t *testing.T, s *store.Store, ids ...string) (*store.Organization, *store.Callback, []*store.Notification) {
	t.Helper()
	ctx := context.Background()
	o, u := seed(t, s, "acme")
	in := newInstance(o, u, "Alpha")
	if err := s.CreateInstance(ctx, in); err != nil {
		t.Fatal(err)
	}
	var cb *store.Callback
	var ns []*store.Notification
	err := s.InTx(ctx, func(tx *store.Tx) error {
		var err error
		if cb, err = tx.CallbackFor(ctx, o.ID, "https://hooks.example/x"); err != nil {
			return err
		}
		for _, id := range ids {
			n := &store.Notification{ID: id, OrgID: o.ID, InstanceID: in.ID, CallbackID: cb.ID, Resource: "contacts", Body: []byte("{}")}
			if err := tx.InsertNotification(ctx, n, nil); err != nil {
				return err
			}
			ns = append(ns, n)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return o, cb, ns
}

// More notifications than one page are all reachable by paging on
// AfterSeq, and the filters a CEQL where pushes down (statuses, callbacks,
// id, creation time) select in the database.
func testNotificationPages(t *testing.T, s *store.Store) {
	ctx := context.Background()
	const total = store.MaxNotificationPage + 7
	ids := make([]string, total)
	for i := range ids {
		ids[i] = fmt.Sprintf("n%04d", i)
	}
	o, cb, _ := outbox(t, s, ids...)
	walk := func(f store.NotificationFilter) (n int) {
		t.Helper()
		for {
			page, err := s.Notifications(ctx, o.ID, f)
			if err != nil {
				t.Fatal(err)
			}
			n += len(page)
			if limit := cmp.Or(f.Limit, store.MaxNotificationPage); len(page) < limit {
				return n
			}
			f.AfterSeq = page[len(page)-1].Seq
		}
	}
	if got := walk(store.NotificationFilter{}); got != total {
		t.Errorf("paged through %d notifications, want %d", got, total)
	}
	if got := walk(store.NotificationFilter{Limit: 100, CallbackIDs: []int64{cb.ID}, Statuses: []string{"queued", "created"}}); got != total {
		t.Errorf("by callback and status: %d, want %d", got, total)
	}
	for name, f := range map[string]store.NotificationFilter{
		"other status":   {Statuses: []string{"queued", "delivered"}},
		"no status":      {Statuses: []string{}},
		"other callback": {CallbackIDs: []int64{cb.ID + 1000}},
		"no callback":    {CallbackIDs: []int64{}},
		"future":         {CreatedFrom: time.Now().Add(time.Hour)},
		"past":           {CreatedBefore: time.Now().Add(-time.Hour)},
	} {
		if got := walk(f); got != 0 {
			t.Errorf("%s: %d notifications, want 0", name, got)
		}
	}
	if got := walk(store.NotificationFilter{CreatedFrom: time.Now().Add(-time.Hour), CreatedBefore: time.Now().Add(time.Hour)}); got != total {
		t.Errorf("created within the hour: %d, want %d", got, total)
	}
	if page, err := s.Notifications(ctx, o.ID, store.NotificationFilter{ID: "n0042"}); err != nil || len(page) != 1 || page[0].ID != "n0042" {
		t.Errorf("by id: %v %v", page, err)
	}
}

// seed makes an organization with one user.
func seed(t *testing.T, s *store.Store, name string) (*store.Organization, *store.User) {
	t.Helper()
	ctx := context.Background()
	o := &store.Organization{Name: name, SecretHash: []byte("org-" + name)}
	if err := s.CreateOrganization(ctx, o); err != nil {
		t.Fatal(err)
	}
	u := &store.User{OrgID: o.ID, Email: name + "@example.com", FirstName: "A", LastName: name, SecretHash: []byte("user-" + name)}
	if err := s.CreateUser(ctx, u); err != nil {
		t.Fatal(err)
	}
	return o, u
}

func testTenancy(t *testing.T, s *store.Store) {
	ctx := context.Background()
	if n, err := s.CountOrganizations(ctx); err != nil || n != 0 {
		t.Fatalf("fresh store: %d organizations, %v", n, err)
	}
	o, u := seed(t, s, "acme")
	if o.ID == 0 || u.ID == 0 || o.CreatedAt.IsZero() {
		t.Fatalf("IDs not set: %+v %+v", o, u)
	}
	got, err := s.OrganizationBySecret(ctx, []byte("org-acme"))
	if err != nil || got.ID != o.ID || got.Name != "acme" || !got.CreatedAt.Equal(o.CreatedAt) {
		t.Errorf("OrganizationBySecret: %+v %v (want created %v)", got, err, o.CreatedAt)
	}
	gu, err := s.UserBySecret(ctx, []byte("user-acme"))
	if err != nil || gu.ID != u.ID || gu.OrgID != o.ID || gu.Email != "acme@example.com" || gu.LastName != "acme" {
		t.Errorf("UserBySecret: %+v %v", gu, err)
	}
	if _, err := s.UserBySecret(ctx, []byte("nope")); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("unknown secret: %v", err)
	}
	if _, err := s.OrganizationBySecret(ctx, []byte("nope")); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("unknown org secret: %v", err)
	}
	dup := &store.User{OrgID: o.ID, Email: "acme@example.com", SecretHash: []byte("other")}
	if err := s.CreateUser(ctx, dup); !errors.Is(err, store.ErrConflict) {
		t.Errorf("duplicate email: %v", err)
	}
	// Sign-in matches an address in any case: so does uniqueness.
	dup = &store.User{OrgID: o.ID, Email: "ACME@Example.com", SecretHash: []byte("other case")}
	if err := s.CreateUser(ctx, dup); !errors.Is(err, store.ErrConflict) {
		t.Errorf("duplicate email in another case: %v", err)
	}
	if users, err := s.Users(ctx, o.ID); err != nil || len(users) != 1 {
		t.Errorf("Users: %d %v", len(users), err)
	}
	if n, _ := s.CountOrganizations(ctx); n != 1 {
		t.Errorf("count %d", n)
	}
}

func newInstance(o *store.Organization, u *store.User, name string, tags ...string) *store.Instance {
	return &store.Instance{OrgID: o.ID, UserID: u.ID, ElementKey: "insightly", Name: name, Tags: tags,
		TokenHash: []byte("tok-" + name), TokenSealed: "sealed-" + name, Valid: true, EventsEnabled: true,
		Account: "api.example/acme",
		Config: []store.ConfigItem{
			{Key: "username", Value: "ada"},
			{Key: "password", Value: "sealed-key", Secret: true},
			{Key: "event.notification.enabled", Value: "true"},
		}}
}

func testInstances(t *testing.T, s *store.Store) {
	ctx := context.Background()
	o, u := seed(t, s, "acme")
	o2, u2 := seed(t, s, "globex")
	a := newInstance(o, u, "Alpha", "prod", "eu")
	b := newInstance(o, u, "Beta", "test")
	c := newInstance(o2, u2, "Gamma", "prod")
	for _, in := range []*store.Instance{a, b, c} {
		if err := s.CreateInstance(ctx, in); err != nil {
			t.Fatal(err)
		}
	}
	got, err := s.Instance(ctx, o.ID, a.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Name != "Alpha" || !slices.Equal(got.Tags, []string{"prod", "eu"}) || !got.Valid || got.Disabled ||
		!got.EventsEnabled || got.Account != "api.example/acme" || got.TokenSealed != "sealed-Alpha" || len(got.Config) != 3 {
		t.Errorf("Instance: %+v", got)
	}
	if v, ok := got.ConfigValue("password"); !ok || v != "sealed-key" || !got.Config[1].Secret {
		t.Errorf("config: %+v", got.Config)
	}
	// Tenancy: another organization's instance does not exist for you.
	if _, err := s.Instance(ctx, o.ID, c.ID); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("foreign instance: %v", err)
	}
	if err := s.DeleteInstance(ctx, o.ID, c.ID); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("deleting a foreign instance: %v", err)
	}
	byTok, err := s.InstanceByToken(ctx, []byte("tok-Beta"))
	if err != nil || byTok.ID != b.ID || len(byTok.Config) != 3 {
		t.Errorf("InstanceByToken: %+v %v", byTok, err)
	}
	for _, tc := range []struct {
		f    store.InstanceFilter
		want []string
	}{
		{store.InstanceFilter{}, []string{"Alpha", "Beta"}},
		{store.InstanceFilter{Tags: []string{"prod"}}, []string{"Alpha"}},
		{store.InstanceFilter{Tags: []string{"prod", "test"}}, nil},
		{store.InstanceFilter{Search: "bet"}, []string{"Beta"}},
		{store.InstanceFilter{Search: "INSIGHT"}, []string{"Alpha", "Beta"}},
	} {
		list, err := s.Instances(ctx, o.ID, tc.f)
		var names []string
		for _, in := range list {
			names = append(names, in.Name)
		}
		if err != nil || !slices.Equal(names, tc.want) {
			t.Errorf("Instances(%+v) = %v, %v; want %v", tc.f, names, err, tc.want)
		}
	}
	dup := newInstance(o, u, "Beta")
	if err := s.CreateInstance(ctx, dup); !errors.Is(err, store.ErrConflict) {
		t.Errorf("duplicate token: %v", err)
	}
	if err := s.DeleteInstance(ctx, o.ID, b.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := s.InstanceByToken(ctx, []byte("tok-Beta")); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("token of a deleted instance: %v", err)
	}
}

func testConfigItems(t *testing.T, s *store.Store) {
	ctx := context.Background()
	o, u := seed(t, s, "acme")
	in := newInstance(o, u, "Alpha")
	if err := s.CreateInstance(ctx, in); err != nil {
		t.Fatal(err)
	}
	ids := map[string]int64{}
	for _, c := range in.Config {
		if c.ID == 0 {
			t.Fatalf("config item without ID: %+v", c)
		}
		ids[c.Key] = c.ID
	}
	// Change one, drop one, add one, keep one.
	in.Name, in.Tags, in.Disabled, in.Valid = "Renamed", []string{"x"}, true, false
	in.Config = []store.ConfigItem{
		{Key: "username", Value: "ada"},
		{Key: "password", Value: "sealed-new", Secret: true},
		{Key: "event.poller.refresh_interval", Value: "5"},
	}
	if err := s.UpdateInstance(ctx, in); err != nil {
		t.Fatal(err)
	}
	got, err := s.Instance(ctx, o.ID, in.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Name != "Renamed" || !got.Disabled || got.Valid || !slices.Equal(got.Tags, []string{"x"}) || !got.UpdatedAt.After(got.CreatedAt) && !got.UpdatedAt.Equal(got.CreatedAt) {
		t.Errorf("after update: %+v", got)
	}
	byKey := map[string]store.ConfigItem{}
	for _, c := range got.Config {
		byKey[c.Key] = c
	}
	if len(got.Config) != 3 || byKey["username"].ID != ids["username"] || byKey["password"].ID != ids["password"] ||
		byKey["password"].Value != "sealed-new" || byKey["event.poller.refresh_interval"].ID == 0 {
		t.Errorf("config after update: %+v (ids before %v)", got.Config, ids)
	}
	if _, ok := byKey["event.notification.enabled"]; ok {
		t.Error("a removed key survived")
	}
	ghost := *in
	ghost.ID = 999999
	if err := s.UpdateInstance(ctx, &ghost); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("updating a missing instance: %v", err)
	}
}

func testTransactions(t *testing.T, s *store.Store) {
	ctx := context.Background()
	o, u := seed(t, s, "acme")
	boom := errors.New("boom")
	err := s.InTx(ctx, func(tx *store.Tx) error {
		if err := tx.CreateInstance(ctx, newInstance(o, u, "Doomed")); err != nil {
			return err
		}
		if tx.SQL() == nil {
			t.Error("no underlying transaction")
		}
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("InTx returned %v", err)
	}
	if list, _ := s.Instances(ctx, o.ID, store.InstanceFilter{}); len(list) != 0 {
		t.Errorf("a rolled-back instance is visible: %d", len(list))
	}
	if err := s.InTx(ctx, func(tx *store.Tx) error { return tx.CreateInstance(ctx, newInstance(o, u, "Kept")) }); err != nil {
		t.Fatal(err)
	}
	if list, _ := s.Instances(ctx, o.ID, store.InstanceFilter{}); len(list) != 1 || len(list[0].Config) != 3 {
		t.Errorf("committed instance: %d", len(list))
	}
}

func testConcurrentWriters(t *testing.T, s *store.Store) {
	ctx := context.Background()
	o, u := seed(t, s, "acme")
	var wg sync.WaitGroup
	errs := make(chan error, 40)
	for i := range 40 {
		wg.Go(func() {
			errs <- s.InTx(ctx, func(tx *store.Tx) error {
				return tx.CreateInstance(ctx, newInstance(o, u, fmt.Sprintf("I%02d", i)))
			})
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatalf("concurrent write: %v", err)
		}
	}
	if list, _ := s.Instances(ctx, o.ID, store.InstanceFilter{}); len(list) != 40 {
		t.Errorf("%d instances after 40 concurrent creates", len(list))
	}
}

func testMigrations(t *testing.T, s *store.Store) {
	v, err := s.SchemaVersion(context.Background())
	if err != nil || v < 1 {
		t.Errorf("schema version %d, %v", v, err)
	}
}

// The store counts every statement and transaction on its pool, its own
// and those run on DB() (River's): prepared statements' runs included,
// rolled-back transactions too.
func testCounts(t *testing.T, s *store.Store) {
	ctx := context.Background()
	seed(t, s, "acme")
	expect := func(step string, before store.Counts, want store.Counts) {
		t.Helper()
		if got := s.Counts().Sub(before); got != want {
			t.Errorf("%s: counted %+v, want %+v", step, got, want)
		}
	}
	before := s.Counts()
	err := s.InTx(ctx, func(tx *store.Tx) error {
		if _, err := tx.SQL().ExecContext(ctx, s.Rebind(`UPDATE organizations SET name = name WHERE id = ?`), -1); err != nil {
			return err
		}
		var n int
		return tx.SQL().QueryRowContext(ctx, `SELECT COUNT(*) FROM organizations`).Scan(&n)
	})
	if err != nil {
		t.Fatal(err)
	}
	expect("a transaction of two statements", before, store.Counts{Statements: 2, Transactions: 1})

	before = s.Counts()
	boom := errors.New("boom")
	if err := s.InTx(ctx, func(tx *store.Tx) error { return boom }); !errors.Is(err, boom) {
		t.Fatal(err)
	}
	expect("a rolled-back transaction", before, store.Counts{Transactions: 1})

	before = s.Counts()
	stmt, err := s.DB().PrepareContext(ctx, s.Rebind(`SELECT COUNT(*) FROM organizations WHERE id > ?`))
	if err != nil {
		t.Fatal(err)
	}
	defer stmt.Close()
	for i := range 3 {
		var n int
		if err := stmt.QueryRowContext(ctx, i).Scan(&n); err != nil {
			t.Fatal(err)
		}
	}
	expect("three runs of a prepared statement", before, store.Counts{Statements: 3})

	// Counting is atomic: statements from many goroutines all count.
	before = s.Counts()
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 10 {
				if _, err := s.CountOrganizations(ctx); err != nil {
					t.Error(err)
				}
			}
		})
	}
	wg.Wait()
	expect("80 concurrent statements", before, store.Counts{Statements: 80})
}
