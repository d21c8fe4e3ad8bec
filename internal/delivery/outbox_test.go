package delivery

import (
	"context"
	"testing"
	"time"

	"github.com/pollhook/pollhook/internal/store"
)

// The outbox's rules, without sending anything: a notification joins a
// suspended callback's queue held, a replay joins it like a new one, a
// reactivation releases the queue and schedules its delivery.
func TestOutboxHoldsBehindASuspension(t *testing.T) {
	t.Parallel()
	r := newRig(t)
	ctx := context.Background()
	var scheduled []int64
	r.outbox.Enqueue = func(_ context.Context, _ *store.Tx, cb int64) error {
		scheduled = append(scheduled, cb)
		return nil
	}
	rv := newReceiver(t) // never called: nothing is sent here
	inst, cb := r.instance(rv)
	statuses := func() (out []string) {
		for _, n := range r.notifications(inst) {
			out = append(out, n.Status)
		}
		return out
	}

	r.report(inst, 12) // 10 + 2 events: two notifications
	if got := statuses(); len(got) != 2 || got[0] != store.NotificationCreated || got[1] != store.NotificationCreated {
		t.Fatalf("while active: %v", got)
	}
	if len(scheduled) != 1 || scheduled[0] != cb {
		t.Fatalf("delivery scheduled for %v, want [%d]", scheduled, cb)
	}

	c := r.callback(cb)
	c.State = store.CallbackSuspended
	if err := r.st.InTx(ctx, func(tx *store.Tx) error {
		if err := tx.UpdateCallback(ctx, c); err != nil {
			return err
		}
		return tx.QueueAll(ctx, cb)
	}); err != nil {
		t.Fatal(err)
	}
	r.report(inst, 1)
	first := r.notifications(inst)[0]
	if _, err := r.outbox.Replay(ctx, r.org.ID, first.ID); err != nil {
		t.Fatal(err)
	}
	for i, s := range statuses() {
		if s != store.NotificationQueued {
			t.Errorf("notification %d is %s while its callback is suspended, want queued", i, s)
		}
	}
	if pending, _ := r.st.PendingNotifications(ctx, cb, 0, 10); len(pending) != 0 {
		t.Errorf("%d notifications pending behind a suspension", len(pending))
	}

	if err := r.outbox.Reactivate(ctx, r.org.ID, cb); err != nil {
		t.Fatal(err)
	}
	if got := statuses(); len(got) != 3 || got[0] != store.NotificationCreated || got[2] != store.NotificationCreated {
		t.Errorf("after reactivation: %v", got)
	}
	if c := r.callback(cb); c.State != store.CallbackActive || scheduled[len(scheduled)-1] != cb {
		t.Errorf("after reactivation: callback %s, scheduled %v", c.State, scheduled)
	}
	// Another organization's callback is not this one's to reactivate.
	if err := r.outbox.Reactivate(ctx, r.org.ID+1, cb); err == nil {
		t.Error("another organization reactivated the callback")
	}
	if len(rv.hits()) != 0 {
		t.Errorf("the outbox sent %d requests", len(rv.hits()))
	}
}

// ReplayMatching replays every notification carrying a matching event,
// each once, across batches, held behind a suspension; the receiver gets
// the same ids again.
func TestReplayMatching(t *testing.T) {
	defer func(n int) { replayBatch = n }(replayBatch)
	replayBatch = 2
	r := newRig(t)
	ctx := context.Background()
	var scheduled []int64
	r.outbox.Enqueue = func(_ context.Context, _ *store.Tx, cb int64) error {
		scheduled = append(scheduled, cb)
		return nil
	}
	rv, held := newReceiver(t), newReceiver(t)
	inst, cb := r.instance(rv)
	other, heldCB := r.instance(held)
	r.report(inst, 25) // three notifications
	r.report(inst, 3)  // a fourth
	r.report(other, 1)
	r.deliver(cb)
	first := rv.hits()
	if len(first) != 4 || r.allDelivered(inst) != 4 {
		t.Fatalf("first delivery: %v", first)
	}
	c := r.callback(heldCB)
	c.State = store.CallbackSuspended
	if err := r.st.UpdateCallback(ctx, c); err != nil {
		t.Fatal(err)
	}
	scheduled = nil

	n, ids, err := r.outbox.ReplayMatching(ctx, r.org.ID, store.EventFilter{InstanceID: inst.ID, Limit: 1, AfterSeq: 1 << 40})
	if err != nil || n != 4 || len(ids) != 4 {
		t.Fatalf("replayed %d %v %v", n, ids, err)
	}
	for i, h := range first {
		if ids[i] != h.id {
			t.Errorf("replayed %v, first sent %v", ids, first)
		}
	}
	if len(scheduled) != 2 { // one per batch that replayed something: 2 and 2, then an empty page
		t.Errorf("scheduled %v", scheduled)
	}
	for _, n := range r.notifications(inst) {
		if n.Status != store.NotificationCreated {
			t.Errorf("%s is %s after a replay", n.ID, n.Status)
		}
	}
	r.deliver(cb)
	if again := rv.hits()[4:]; len(again) != 4 || again[0].id != first[0].id || again[3].id != first[3].id {
		t.Errorf("sent again: %v, first %v", again, first)
	}

	// Every instance of the organization: the suspended callback's
	// notification is held, not sent.
	n, _, err = r.outbox.ReplayMatching(ctx, r.org.ID, store.EventFilter{Resource: "contacts"})
	if err != nil || n != 5 {
		t.Fatalf("replayed %d, %v; want 5", n, err)
	}
	if ns := r.notifications(other); len(ns) != 1 || ns[0].Status != store.NotificationQueued {
		t.Errorf("behind a suspension: %+v", ns)
	}
	for name, f := range map[string]store.EventFilter{
		"none":     {DeliveryStatus: store.EventNotNotified},
		"leads":    {Resource: "leads"},
		"deleted":  {Type: store.EventDeleted},
		"future":   {Since: time.Now().Add(time.Hour)},
		"no match": {InstanceID: inst.ID + 100},
	} {
		if n, ids, err := r.outbox.ReplayMatching(ctx, r.org.ID, f); err != nil || n != 0 || len(ids) != 0 {
			t.Errorf("%s: %d %v %v", name, n, ids, err)
		}
	}
	if n, _, err := r.outbox.ReplayMatching(ctx, r.org.ID+1, store.EventFilter{}); err != nil || n != 0 {
		t.Errorf("another organization: %d %v", n, err)
	}
	if len(held.hits()) != 0 {
		t.Errorf("a suspended callback got %v", held.hits())
	}
}
