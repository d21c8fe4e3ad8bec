package poller

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"time"

	"github.com/pollhook/pollhook/internal/changes"
	"github.com/pollhook/pollhook/internal/element"
	"github.com/pollhook/pollhook/internal/store"
)

// Record snapshots (opt-in per resource): each record's last observed
// version rides on its per-record state (store.Seen.Snapshot). A run
// compares every record it reads with it: an UPDATED carries the diff
// (changedFields), and the resource's fields, ignoreFields and filter
// decide whether it is reported. Every version read becomes the last
// observed one, reported or not; a stale read (older than the version
// observed) does not replace it.
//
// The state's reported part and its observed part are apart: a record
// observed but never reported (by the baseline scan, or read and not
// reported) has a state with store.NoHash, which classify treats as
// nothing reported.

// observer is how a run keeps and judges observed versions.
type observer struct {
	snapshots bool
	rules     changes.Rules
	flatten   changes.Flatten
	updated   func(get func(string) (any, bool)) (time.Time, error) // the record's updated date, as the resource configures it
}

func newObserver(t Target) *observer {
	cfg := t.Config.Config
	o := &observer{snapshots: cfg.Snapshots, flatten: changes.TopLevel,
		rules: changes.Rules{Fields: cfg.Fields, IgnoreFields: cfg.IgnoreFields, Filter: t.Config.Filter}}
	if fn, ok := t.Conn.(element.FieldNamer); ok {
		o.flatten = fn.FieldsOf
	}
	if cfg.FilterByUpdatedDate || cfg.FilterByCurrentDate {
		o.updated = t.Config.Updated
	}
	return o
}

// active says whether the observer judges anything: snapshots kept, or a
// filter.
func (o *observer) active() bool { return o.snapshots || o.rules.Filter != nil }

// reported is the state's reported part: nil when nothing was reported.
func reported(s store.Seen, ok bool) *store.Seen {
	if !ok || !s.Reported() {
		return nil
	}
	return &s
}

// keep is the version to keep as the last observed one after reading raw
// (updated at updated): raw, unless last is a later version.
func (o *observer) keep(last []byte, raw json.RawMessage, updated time.Time) []byte {
	if !o.snapshots {
		return nil
	}
	if last != nil && o.updated != nil {
		if was, err := o.updated(element.NewRecord(last).Lookup); err == nil && was.After(updated) {
			return last // a stale read
		}
	}
	return raw
}

// decide says whether an event of kind is reported, given the last
// observed version (nil: unknown) and the version read, and returns its
// diff when the previous version is known. A record the rules cannot
// judge (a filter comparing a field of another type, say) is reported:
// never drop a change for want of a verdict.
func (o *observer) decide(kind string, last, raw json.RawMessage) (bool, map[string]changes.Change) {
	if !o.active() {
		return true, nil
	}
	after, err := o.flatten.Fields(raw)
	if err != nil {
		return true, nil
	}
	var before map[string]json.RawMessage // nil: the previous version is unknown
	if last != nil && o.snapshots {
		if f, err := o.flatten.Fields(last); err == nil {
			before = f
		}
	}
	report, diff, err := o.rules.Decide(kind, before, after)
	if err != nil {
		return true, diff
	}
	return report, diff
}

// BaselineStats describe a baseline scan.
type BaselineStats struct {
	Read, Observed, Skipped int
}

// Baseline observes every record of a resource with snapshots once,
// through the paging-safe scan delete detection uses, full records a
// page at a time. It records observed versions only, never a reported
// one.
//
// A version the next poll will read is not observed: one updated at or
// after the start of the next poll's window (on the upstream's clock:
// the cursor less the overlap and delay), which is where a change made
// since the last poll, or written late within the overlap, lies. Had the
// baseline observed it, the next poll would diff the change against
// itself and find nothing. Such a record's snapshot is forgotten instead,
// and its change is reported by the next poll as an UPDATED whose
// previous version is unknown (no changedFields, never suppressed).
func (r *Runner) Baseline(ctx context.Context, t Target) (BaselineStats, error) {
	var st BaselineStats
	o := newObserver(t)
	p, err := r.Store.GetPoll(ctx, t.InstanceID, t.Resource)
	if errors.Is(err, store.ErrNotFound) {
		return st, ErrRemoved
	} else if err != nil {
		return st, err
	}
	cfg := t.Config.Config
	nextWindow := scanStart(cursorOf(p), timingOf(cfg))
	page := map[string][]byte{}
	updated := map[string]time.Time{}
	flush := func() error {
		if len(page) == 0 {
			return nil
		}
		ids := make([]string, 0, len(page))
		for id := range page {
			ids = append(ids, id)
		}
		seen, err := r.Store.SeenFor(ctx, t.InstanceID, t.Resource, ids)
		if err != nil {
			return err
		}
		snaps := map[string][]byte{}
		for id, raw := range page {
			switch {
			case raw == nil || !updated[id].Before(nextWindow):
				if seen[id].Snapshot != nil {
					snaps[id] = nil // changed meanwhile: its last version is unknown
				}
				st.Skipped++
			default:
				if keep := o.keep(seen[id].Snapshot, raw, updated[id]); !bytes.Equal(keep, seen[id].Snapshot) {
					snaps[id] = keep
				}
				st.Observed++
			}
		}
		clear(page)
		clear(updated)
		if len(snaps) == 0 {
			return nil
		}
		err = r.Store.InTx(ctx, func(tx *store.Tx) error { return tx.PutSnapshots(ctx, t.InstanceID, t.Resource, snaps) })
		if errors.Is(err, store.ErrNotFound) {
			return ErrRemoved
		} else if err != nil {
			return err
		}
		// Each page reads the states it is about to write: PostgreSQL needs
		// the table's statistics kept up, as a run's pages do.
		return r.Store.StateWritten(ctx, len(snaps))
	}
	_, err = t.Conn.Scan(ctx, t.Config.Resource, nil, element.ScanOptions{PageSize: 500, MaxPages: r.maxPages(),
		Checkpoint: func(string, time.Time, bool) error { return flush() }}, func(rec *element.Record) error {
		st.Read++
		v, ok := rec.Lookup(cfg.IDField)
		id, ok2 := objectID(v)
		if !ok || !ok2 {
			return nil
		}
		page[id] = rec.Raw
		if o.updated != nil {
			u, err := o.updated(rec.Lookup)
			if err != nil {
				page[id] = nil // no usable date: not observed
			}
			updated[id] = u
		}
		return nil
	})
	if err == nil {
		err = flush()
	}
	return st, err
}
