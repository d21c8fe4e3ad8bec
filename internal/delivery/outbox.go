package delivery

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"maps"
	"slices"
	"time"

	"github.com/pollhook/pollhook/internal/store"
)

// Route is where an instance's notifications go, and what they say of it.
type Route struct {
	CallbackURL string
	Meta        Meta
}

// Outbox is the queue of notifications each callback waits to receive:
// what a poll reports goes in, what an operator replays goes in again,
// and a suspended callback holds its queue until it is reactivated.
type Outbox struct {
	Store *store.Store
	// Enqueue is called in every transaction that gives a callback
	// something to send, to schedule its delivery (package jobs wakes the
	// callback's job); nil: nothing is scheduled.
	Enqueue func(ctx context.Context, tx *store.Tx, callbackID int64) error
}

// arrivalStatus is the status a notification takes when it joins its
// callback's queue: a suspended callback holds it until reactivated.
func arrivalStatus(cb *store.Callback) string {
	if cb.State == store.CallbackSuspended {
		return store.NotificationQueued
	}
	return store.NotificationCreated
}

// Add puts events into notifications for the route's callback, in the
// transaction that stores the events, so events and notifications land
// together, and schedules their delivery (a nil Outbox schedules
// nothing). It says how many notifications it queued.
func (o *Outbox) Add(ctx context.Context, tx *store.Tx, to *Route, resource string, events []*store.Event, now time.Time) (int, error) {
	if to == nil || to.CallbackURL == "" || len(events) == 0 {
		return 0, nil
	}
	cb, err := tx.CallbackFor(ctx, to.Meta.OrgID, to.CallbackURL)
	if err != nil {
		return 0, err
	}
	ns, err := Build(to.Meta, resource, events, now, NewID)
	if err != nil {
		return 0, err
	}
	status := arrivalStatus(cb)
	for _, n := range ns {
		seqs := make([]int64, len(n.Events))
		for i, e := range n.Events {
			seqs[i] = e.Seq
		}
		if err := tx.InsertNotification(ctx, &store.Notification{ID: n.ID, OrgID: to.Meta.OrgID, InstanceID: to.Meta.InstanceID,
			CallbackID: cb.ID, Resource: resource, Body: n.Body, Status: status}, seqs); err != nil {
			return 0, err
		}
	}
	return len(ns), o.enqueue(ctx, tx, cb.ID)
}

func (o *Outbox) enqueue(ctx context.Context, tx *store.Tx, callbackID int64) error {
	if o == nil || o.Enqueue == nil {
		return nil
	}
	return o.Enqueue(ctx, tx, callbackID)
}

// Reactivate makes a suspended callback active again and redelivers its
// queue, in order, starting now.
func (o *Outbox) Reactivate(ctx context.Context, orgID, callbackID int64) error {
	return o.Store.InTx(ctx, func(tx *store.Tx) error {
		if _, err := tx.GetCallback(ctx, orgID, callbackID); err != nil {
			return err
		}
		if err := tx.Reactivate(ctx, callbackID); err != nil {
			return err
		}
		return o.enqueue(ctx, tx, callbackID)
	})
}

// Replay sends a notification again: same ids and body, new attempts. It
// joins its callback's queue like a new one (held while it is suspended).
func (o *Outbox) Replay(ctx context.Context, orgID int64, id string) (*store.Notification, error) {
	var n *store.Notification
	err := o.Store.InTx(ctx, func(tx *store.Tx) error {
		var err error
		if n, err = tx.NotificationByID(ctx, orgID, id); err != nil {
			return err
		}
		cb, err := tx.GetCallback(ctx, 0, n.CallbackID)
		if err != nil {
			return err
		}
		n.Status = arrivalStatus(cb)
		if err := tx.Requeue(ctx, n); err != nil {
			return err
		}
		return o.enqueue(ctx, tx, n.CallbackID)
	})
	return n, err
}

// replayBatch is how many notifications ReplayMatching replays in one
// transaction; tests lower it.
var replayBatch = 200

// ReplayMatching replays, as Replay does one, every distinct notification
// carrying at least one of the organization's events matching f (its
// AfterSeq and Limit aside), each once, in seq order: same ids and bodies,
// held behind a suspended callback, deliveries scheduled. It pages through
// all of them, replayBatch to a transaction, and says how many it replayed
// and their ids. Events without a notification (no callback, or history
// pruned) are skipped: store.CountEvents with DeliveryStatus
// store.EventNotNotified counts them. A failure stops it: what earlier
// transactions replayed stays replayed, and is in the ids returned.
func (o *Outbox) ReplayMatching(ctx context.Context, orgID int64, f store.EventFilter) (notifications int, ids []string, err error) {
	if f.DeliveryStatus == store.EventNotNotified {
		return 0, nil, nil
	}
	f.AfterSeq, f.Limit = 0, 0
	var after int64
	for {
		var page []*store.Notification
		err := o.Store.InTx(ctx, func(tx *store.Tx) error {
			var err error
			if page, err = tx.EventNotifications(ctx, orgID, f, after, replayBatch); err != nil {
				return err
			}
			cbs := map[int64]*store.Callback{}
			for _, n := range page {
				cb, ok := cbs[n.CallbackID]
				if !ok {
					if cb, err = tx.GetCallback(ctx, 0, n.CallbackID); err != nil {
						return err
					}
					cbs[n.CallbackID] = cb
				}
				n.Status = arrivalStatus(cb)
				if err := tx.Requeue(ctx, n); err != nil {
					return err
				}
			}
			for _, id := range slices.Sorted(maps.Keys(cbs)) {
				if err := o.enqueue(ctx, tx, id); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return len(ids), ids, err
		}
		for _, n := range page {
			ids = append(ids, n.ID)
		}
		if len(page) < replayBatch {
			return len(ids), ids, nil
		}
		after = page[len(page)-1].Seq
	}
}

// NewID makes a notification or event id: 24 hex digits.
func NewID() string {
	var b [12]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
