package poller

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"

	"github.com/pollhook/pollhook/internal/delivery"
	"github.com/pollhook/pollhook/internal/element"
	"github.com/pollhook/pollhook/internal/store"
)

// ScanStats describe one delete scan.
type ScanStats struct {
	Known, Present, Missing, Deleted int
	Notified                         int // notifications queued for the callback
	Complete                         bool
	Note                             string
}

// minDistrust is the number of known IDs below which the missing-share
// check does not apply: with a handful of records, losing half is normal.
const minDistrust = 10

// ScanDeletes looks for deleted records of a resource (pollhook's
// delete detection, opt-in per resource): it snapshots the IDs known to
// exist, lists every ID (brief, 500 a page, through the paging-safe
// scan), and for each known ID missing from a complete listing asks for
// the record itself: only a 404 confirms the deletion and gives one
// DELETED event. An incomplete listing deletes nothing; a listing missing
// an implausible share of the known IDs is distrusted and deletes
// nothing, and the status says so. The first scan only learns the IDs.
func (r *Runner) ScanDeletes(ctx context.Context, t Target) (ScanStats, error) {
	var st ScanStats
	cfg := t.Config.Config
	known, err := r.Store.KnownIDs(ctx, t.InstanceID, t.Resource)
	if err != nil {
		return st, err
	}
	st.Known = len(known)
	at := r.now()
	present := map[string]bool{}
	res, err := t.Conn.Scan(ctx, t.Config.Resource, nil, element.ScanOptions{PageSize: 500, Brief: true, MaxPages: r.maxPages()}, func(rec *element.Record) error {
		if v, ok := rec.Lookup(cfg.IDField); ok {
			if id, ok := objectID(v); ok {
				present[id] = true
			}
		}
		return nil
	})
	out := &store.ScanResult{InstanceID: t.InstanceID, Resource: t.Resource, At: at}
	if err != nil {
		out.Note = fmt.Sprintf("delete scan incomplete (%v): nothing deleted", err)
		st.Note = out.Note
		r.commitScan(ctx, t, out)
		return st, err
	}
	st.Complete, out.Complete, st.Present = true, true, len(present)
	for id := range present {
		out.Present = append(out.Present, id)
	}
	slices.Sort(out.Present)
	var missing []string
	for id := range known {
		if !present[id] {
			missing = append(missing, id)
		}
	}
	slices.Sort(missing)
	st.Missing = len(missing)
	limit := cfg.Deletes.MaxMissingRatio
	switch {
	case len(known) == 0:
		out.Note = fmt.Sprintf("baseline: %d records known", len(present))
	case len(known) >= minDistrust && float64(len(missing)) > limit*float64(len(known)):
		out.Note = fmt.Sprintf("delete scan distrusted: %d of %d known records missing, more than the %.0f%% limit; nothing deleted",
			len(missing), len(known), limit*100)
	default:
		// With snapshots, a DELETED carries the record's last observed
		// version, and the filter judges that version.
		obs := newObserver(t)
		var last map[string]store.Seen
		if obs.active() {
			if last, err = r.Store.SeenFor(ctx, t.InstanceID, t.Resource, missing); err != nil {
				return st, err
			}
		}
		for _, id := range missing {
			if _, err := t.Conn.Get(ctx, t.Config.Resource, id); element.StatusOf(err) != http.StatusNotFound {
				continue // found after all (a lagging index), or no answer: not confirmed
			}
			data, _ := json.Marshal(map[string]string{cfg.IDField: id})
			snap := last[id].Snapshot
			if snap != nil {
				data = snap
			}
			if report, _ := obs.decide(Deleted, snap, data); !report {
				out.Forgotten = append(out.Forgotten, id)
				continue
			}
			out.Deleted = append(out.Deleted, &store.Event{ID: delivery.NewID(), OrgID: t.OrgID, InstanceID: t.InstanceID,
				Resource: t.Resource, ObjectID: id, Type: Deleted, Date: res.Date, PollDate: res.Date, Status: "NEW",
				ProviderData: string(data)})
		}
		st.Deleted = len(out.Deleted)
		out.Note = fmt.Sprintf("%d records, %d missing, %d deletions confirmed", len(present), len(missing), len(out.Deleted)+len(out.Forgotten))
		if len(out.Forgotten) > 0 {
			out.Note += fmt.Sprintf(" (%d not reported: the filter did not match their last version)", len(out.Forgotten))
		}
	}
	st.Note = out.Note
	st.Notified, err = r.commitScan(ctx, t, out)
	return st, err
}

func (r *Runner) commitScan(ctx context.Context, t Target, out *store.ScanResult) (int, error) {
	// A scan that ran out of time still records what it concluded: every
	// statement, not only the transaction, outlives the scan's context.
	ctx = context.WithoutCancel(ctx)
	notified := 0
	err := r.Store.InTx(ctx, func(tx *store.Tx) error {
		if err := tx.CommitScan(ctx, out); err != nil {
			return err
		}
		var err error
		notified, err = r.Outbox.Add(ctx, tx, t.Notify, t.Resource, out.Deleted, r.now())
		return err
	})
	if errors.Is(err, store.ErrNotFound) {
		return 0, ErrRemoved
	}
	return notified, err
}
