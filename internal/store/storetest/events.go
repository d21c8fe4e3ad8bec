package storetest

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/pollhook/pollhook/internal/store"
)

// eventsFixture records two runs' events for two instances of one
// organization (and one event of another organization), a little apart in
// time, and puts some of them into notifications:
//
//	first run (at t0): A contacts CREATED a1, A contacts UPDATED a2, A leads DELETED a3, B contacts CREATED b1
//	second run (at t1): A contacts UPDATED a4, B leads CREATED b2
//
// Notifications: nA1 carries a1 and a2 (delivered), nA2 a4 (retry), nB1
// b1 (queued); a3 and b2 have none.
type eventsFixture struct {
	org, other *store.Organization
	a, b       *store.Instance
	t1, t1End  time.Time // the second run's first and last created_at
	seqs       map[string]int64
	nseq       map[string]int64
}

func newEventsFixture(t *testing.T, s *store.Store) *eventsFixture {
	t.Helper()
	ctx := context.Background()
	o, u := seed(t, s, "acme")
	o2, u2 := seed(t, s, "other")
	fx := &eventsFixture{org: o, other: o2, seqs: map[string]int64{}, nseq: map[string]int64{}}
	fx.a, fx.b = newInstance(o, u, "A"), newInstance(o, u, "B")
	c := newInstance(o2, u2, "C")
	for _, in := range []*store.Instance{fx.a, fx.b, c} {
		if err := s.CreateInstance(ctx, in); err != nil {
			t.Fatal(err)
		}
		if _, _, err := s.SyncPolls(ctx, in.ID, []string{"contacts", "leads"}, time.Minute, time.Now()); err != nil {
			t.Fatal(err)
		}
	}
	type ev struct {
		id       string
		in       *store.Instance
		resource string
		typ      string
	}
	commit := func(evs []ev) []*store.Event {
		var out []*store.Event
		err := s.InTx(ctx, func(tx *store.Tx) error {
			for _, e := range evs {
				se := &store.Event{ID: e.id, OrgID: e.in.OrgID, InstanceID: e.in.ID, Resource: e.resource, ObjectID: "o-" + e.id,
					Type: e.typ, Date: time.Now(), PollDate: time.Now(), Status: "CREATED", ProviderData: `{"id":"o-` + e.id + `"}`}
				r := &store.RunResult{InstanceID: e.in.ID, Resource: e.resource, Events: []*store.Event{se}, Cursor: time.Now(), RunAt: time.Now()}
				if err := tx.CommitRun(ctx, r); err != nil {
					return err
				}
				fx.seqs[e.id] = se.Seq
				out = append(out, se)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	commit([]ev{{"a1", fx.a, "contacts", store.EventCreated}, {"a2", fx.a, "contacts", store.EventUpdated},
		{"a3", fx.a, "leads", store.EventDeleted}, {"b1", fx.b, "contacts", store.EventCreated}, {"c1", c, "contacts", store.EventCreated}})
	time.Sleep(20 * time.Millisecond)
	second := commit([]ev{{"a4", fx.a, "contacts", store.EventUpdated}, {"b2", fx.b, "leads", store.EventCreated}})
	fx.t1, fx.t1End = second[0].CreatedAt, second[len(second)-1].CreatedAt
	err := s.InTx(ctx, func(tx *store.Tx) error {
		cb, err := tx.CallbackFor(ctx, o.ID, "https://hooks.example/x")
		if err != nil {
			return err
		}
		for _, n := range []struct {
			id     string
			in     *store.Instance
			status string
			events []string
		}{{"nA1", fx.a, store.NotificationCreated, []string{"a1", "a2"}}, {"nA2", fx.a, store.NotificationRetry, []string{"a4"}},
			{"nB1", fx.b, store.NotificationQueued, []string{"b1"}}} {
			var seqs []int64
			for _, e := range n.events {
				seqs = append(seqs, fx.seqs[e])
			}
			sn := &store.Notification{ID: n.id, OrgID: o.ID, InstanceID: n.in.ID, CallbackID: cb.ID, Resource: "contacts", Body: []byte("{}"), Status: n.status}
			if err := tx.InsertNotification(ctx, sn, seqs); err != nil {
				return err
			}
			fx.nseq[n.id] = sn.Seq
			if n.id == "nA1" {
				if err := tx.RecordAttempts(ctx, []store.AttemptResult{{Notification: sn, Attempt: store.Attempt{At: time.Now(), StatusCode: 200},
					Status: store.NotificationDelivered}}); err != nil {
					return err
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return fx
}

// Each event filter selects in the database, alone and combined, and a
// filtered list pages on AfterSeq like an unfiltered one.
func testEventFilters(t *testing.T, s *store.Store) {
	ctx := context.Background()
	fx := newEventsFixture(t, s)
	list := func(f store.EventFilter) []string {
		t.Helper()
		var ids []string
		for {
			page, err := s.Events(ctx, fx.org.ID, f)
			if err != nil {
				t.Fatal(err)
			}
			for _, e := range page {
				ids = append(ids, e.ID)
			}
			if f.Limit == 0 || len(page) < f.Limit {
				return ids
			}
			f.AfterSeq = page[len(page)-1].Seq
		}
	}
	for name, tt := range map[string]struct {
		f    store.EventFilter
		want []string
	}{
		"all":                {store.EventFilter{}, []string{"a1", "a2", "a3", "b1", "a4", "b2"}},
		"all, paged by 1":    {store.EventFilter{Limit: 1}, []string{"a1", "a2", "a3", "b1", "a4", "b2"}},
		"instance":           {store.EventFilter{InstanceID: fx.a.ID}, []string{"a1", "a2", "a3", "a4"}},
		"resource":           {store.EventFilter{Resource: "leads"}, []string{"a3", "b2"}},
		"type":               {store.EventFilter{Type: store.EventUpdated}, []string{"a2", "a4"}},
		"delivered":          {store.EventFilter{DeliveryStatus: store.NotificationDelivered}, []string{"a1", "a2"}},
		"retry":              {store.EventFilter{DeliveryStatus: store.NotificationRetry}, []string{"a4"}},
		"queued":             {store.EventFilter{DeliveryStatus: store.NotificationQueued}, []string{"b1"}},
		"created":            {store.EventFilter{DeliveryStatus: store.NotificationCreated}, nil},
		"none":               {store.EventFilter{DeliveryStatus: store.EventNotNotified}, []string{"a3", "b2"}},
		"since (inclusive)":  {store.EventFilter{Since: fx.t1}, []string{"a4", "b2"}},
		"until (exclusive)":  {store.EventFilter{Until: fx.t1}, []string{"a1", "a2", "a3", "b1"}},
		"since and until":    {store.EventFilter{Since: fx.t1, Until: fx.t1End.Add(time.Microsecond)}, []string{"a4", "b2"}},
		"until the last":     {store.EventFilter{Since: fx.t1, Until: fx.t1End}, []string{"a4"}},
		"empty window":       {store.EventFilter{Since: fx.t1, Until: fx.t1}, nil},
		"combined":           {store.EventFilter{InstanceID: fx.a.ID, Resource: "contacts", Type: store.EventUpdated, Since: fx.t1}, []string{"a4"}},
		"combined, paged":    {store.EventFilter{Limit: 1, Resource: "contacts", DeliveryStatus: store.NotificationDelivered}, []string{"a1", "a2"}},
		"instance and none":  {store.EventFilter{InstanceID: fx.b.ID, DeliveryStatus: store.EventNotNotified}, []string{"b2"}},
		"unknown resource":   {store.EventFilter{Resource: "nope"}, nil},
		"instance elsewhere": {store.EventFilter{InstanceID: fx.a.ID + 1000}, nil},
	} {
		if got := list(tt.f); fmt.Sprint(got) != fmt.Sprint(tt.want) {
			t.Errorf("%s: %v, want %v", name, got, tt.want)
		}
		n, err := s.CountEvents(ctx, fx.org.ID, tt.f)
		if err != nil || n != len(tt.want) {
			t.Errorf("%s: CountEvents %d %v, want %d", name, n, err, len(tt.want))
		}
	}
	if e, err := s.EventByID(ctx, fx.org.ID, "a1"); err != nil || e.NotificationID != "nA1" {
		t.Errorf("a1: %+v %v", e, err)
	}
}

// EventNotifications lists each notification carrying a matching event
// once, in seq order, a page at a time.
func testEventNotifications(t *testing.T, s *store.Store) {
	ctx := context.Background()
	fx := newEventsFixture(t, s)
	walk := func(f store.EventFilter, limit int) []string {
		t.Helper()
		var ids []string
		var after int64
		for {
			page, err := s.EventNotifications(ctx, fx.org.ID, f, after, limit)
			if err != nil {
				t.Fatal(err)
			}
			for _, n := range page {
				ids = append(ids, n.ID)
			}
			if len(page) < limit {
				return ids
			}
			after = page[len(page)-1].Seq
		}
	}
	for name, tt := range map[string]struct {
		f    store.EventFilter
		want []string
	}{
		"all":       {store.EventFilter{}, []string{"nA1", "nA2", "nB1"}},
		"instance":  {store.EventFilter{InstanceID: fx.a.ID}, []string{"nA1", "nA2"}},
		"updated":   {store.EventFilter{Type: store.EventUpdated}, []string{"nA1", "nA2"}},
		"since":     {store.EventFilter{Since: fx.t1}, []string{"nA2"}},
		"delivered": {store.EventFilter{DeliveryStatus: store.NotificationDelivered}, []string{"nA1"}},
		"none":      {store.EventFilter{DeliveryStatus: store.EventNotNotified}, nil},
		"leads":     {store.EventFilter{Resource: "leads"}, nil},
	} {
		for _, limit := range []int{1, 2, 100} {
			if got := walk(tt.f, limit); !slices.Equal(got, tt.want) {
				t.Errorf("%s, pages of %d: %v, want %v", name, limit, got, tt.want)
			}
		}
	}
	// Another organization sees none of them.
	if page, err := s.EventNotifications(ctx, fx.other.ID, store.EventFilter{}, 0, 10); err != nil || len(page) != 0 {
		t.Errorf("other organization: %v %v", page, err)
	}
}

// Test deliveries are recorded, read back within their organization only,
// listed newest first, and pruned with the retention.
func testTestDeliveries(t *testing.T, s *store.Store) {
	ctx := context.Background()
	o, u := seed(t, s, "acme")
	o2, _ := seed(t, s, "other")
	in := newInstance(o, u, "A")
	if err := s.CreateInstance(ctx, in); err != nil {
		t.Fatal(err)
	}
	old := time.Now().Add(-48 * time.Hour).UTC().Truncate(time.Millisecond)
	var ds []*store.TestDelivery
	for i, at := range []time.Time{old, time.Now().UTC().Truncate(time.Millisecond)} {
		d := &store.TestDelivery{OrgID: o.ID, InstanceID: in.ID, URL: "https://hooks.example/x", NotificationID: fmt.Sprintf("t%d", i),
			Resource: "contacts", Body: []byte(`{"action":"test"}`), Signature: "sha256=x", At: at, StatusCode: 500 + i,
			Latency: 12 * time.Millisecond, Error: "", Response: "nope"}
		if err := s.InsertTestDelivery(ctx, d); err != nil || d.ID == 0 {
			t.Fatalf("insert: %v %d", err, d.ID)
		}
		ds = append(ds, d)
	}
	got, err := s.TestDeliveryByID(ctx, o.ID, ds[0].ID)
	if err != nil || got.NotificationID != "t0" || got.StatusCode != 500 || got.Latency != 12*time.Millisecond ||
		string(got.Body) != `{"action":"test"}` || got.Response != "nope" || !got.At.Equal(old) || got.InstanceID != in.ID {
		t.Errorf("by id: %+v %v", got, err)
	}
	if _, err := s.TestDeliveryByID(ctx, o2.ID, ds[0].ID); err != store.ErrNotFound {
		t.Errorf("another organization's: %v, want ErrNotFound", err)
	}
	list, err := s.TestDeliveries(ctx, o.ID, in.ID, 10)
	if err != nil || len(list) != 2 || list[0].ID != ds[1].ID {
		t.Errorf("list: %v %v", list, err)
	}
	if _, err := s.Prune(ctx, store.PruneOptions{Before: time.Now().Add(-24 * time.Hour)}); err != nil {
		t.Fatal(err)
	}
	if list, _ := s.TestDeliveries(ctx, o.ID, in.ID, 10); len(list) != 1 || list[0].ID != ds[1].ID {
		t.Errorf("after pruning: %v", list)
	}
}
