package delivery

import (
	"context"
	"testing"

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
